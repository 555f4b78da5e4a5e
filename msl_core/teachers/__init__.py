"""Pseudo-label teachers (AudioSet tagger, ImageNet classifier, dataset tags), category maps and box proposals."""
