"""Our ImageNet-1000 -> 7 AudioSet top-level categories table (`msl_core/data/imagenet_audioset7.csv`).

How the grouping was made (WordNet-style: by what kind of thing the synset is, then by what it sounds like):
- 0-397 are the ILSVRC synsets under `animal.n.01` -> Animal; so are animal dwellings (apiary, barn, birdhouse),
  honeycomb and the spider web.
- Musical instruments (`musical_instrument.n.01` hyponyms) and their parts (drumstick, plectrum) -> Music.
- People (ballplayer, groom, scuba diver) and what people wear or wear on them (`clothing.n.01`, headdress,
  footwear, jewellery, masks, protective garments) plus infants' beds (a baby is heard, not the crib) -> Human sounds.
- Conveyances (`conveyance.n.03`: vehicles, boats, aircraft, carts), weapons, machines, powered appliances, tools,
  clocks and telephones -> Sounds of things (what AudioSet's "Sounds of things" branch lists: vehicle, engine,
  mechanisms, tools, domestic sounds, alarm).
- Geological formations (alp ... volcano), plants, fungi and hay -> Natural sounds.
- Structures, buildings, shops and rooms (`structure.n.01`, `establishment`), furniture, sound/picture
  electronics (radio, television, loudspeaker, computer) and food and drink (as the reference does, food stands
  for the indoor/eating-place scene) -> Channel, environment and background.
- Everything else (containers, small household objects, balls, stationery) -> Source-ambiguous sounds, the
  AudioSet branch of sounds named by their acoustic quality (bang, clatter, rattle) rather than their source.

Each class gets exactly one category, like the reference's cluster_v3.npy.

The scene classes' table (`msl_core/data/imagenet_scene_classes.csv`) is narrower: an ImageNet class belongs to a
scene class only when it names that kind of object (dog breeds, wolves and foxes -> dogs; ox, water buffalo, bison ->
cattle; violin, cello, bassoon and the other orchestral instruments -> orchestra ...); every other class belongs to
none, so a crop of background scores nothing. ImageNet has no turkey, scissors or kettle: those stamps are left to
the nearest classes (grouse and fowl, the cutting tools and nails, jugs, beakers and coffeepots).

Regenerate both with `python -m msl_core.teachers.imagenet_groups ../shared/assets/weights/imagenet_labels.txt`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from msl_core.errors import BadInput
from msl_core.teachers.categories import AUDIOSET7, DATA_DIR

TABLE_PATH = DATA_DIR / "imagenet_audioset7.csv"
SCENE_TABLE_PATH = DATA_DIR / "imagenet_scene_classes.csv"

ANIMAL = [*range(398), 410, 425, 448, 599, 815]
MUSIC = [401, 402, 420, 432, 486, 494, 513, 541, 542, 546, 558, 566, 577, 579, 593, 594, 641, 642, 683, 684, 687,
         699, 714, 776, 822, 875, 881, 889]
HUMAN = [399, 400, 411, 414, 431, 433, 439, 443, 445, 451, 452, 457, 459, 461, 465, 474, 490, 496, 501, 502, 514, 515,
         516, 518, 520, 523, 524, 529, 531, 552, 560, 568, 570, 578, 584, 601, 608, 610, 614, 615, 617, 630, 638, 639,
         643, 652, 655, 658, 667, 678, 679, 689, 691, 697, 715, 735, 770, 774, 775, 793, 796, 806, 808, 824, 830, 834,
         836, 837, 841, 842, 869, 887, 903, 906, 981, 982, 983]
THINGS = [403, 404, 405, 407, 408, 409, 413, 426, 428, 436, 442, 444, 450, 456, 462, 466, 468, 471, 472, 475, 477, 479,
          480, 484, 487, 491, 508, 510, 511, 517, 528, 530, 534, 535, 537, 545, 547, 550, 554, 555, 561, 565, 569, 571,
          573, 575, 576, 581, 583, 586, 587, 589, 595, 596, 603, 604, 606, 609, 612, 621, 625, 626, 627, 628, 634, 651,
          654, 656, 657, 660, 661, 665, 670, 671, 674, 675, 685, 686, 690, 694, 704, 705, 707, 710, 713, 717, 724, 726,
          730, 731, 732, 734, 739, 740, 742, 744, 751, 753, 757, 759, 760, 763, 764, 766, 778, 779, 780, 784, 785, 786,
          792, 800, 802, 803, 810, 811, 812, 814, 817, 820, 826, 827, 829, 833, 835, 840, 844, 847, 856, 859, 864, 866,
          867, 870, 871, 874, 877, 878, 880, 882, 886, 891, 892, 895, 897, 902, 913, 914]
NATURAL = [*range(970, 981), *range(984, 999), 958]
CHANNEL = [406, 415, 421, 423, 424, 437, 449, 453, 454, 460, 467, 476, 481, 482, 483, 485, 489, 492, 493, 495, 497, 498,
           500, 509, 525, 526, 527, 532, 536, 538, 540, 548, 553, 557, 559, 562, 564, 580, 582, 590, 598, 605, 613, 620,
           624, 632, 640, 646, 648, 649, 650, 662, 663, 664, 668, 672, 681, 682, 688, 698, 703, 706, 716, 718, 727, 733,
           736, 743, 745, 754, 755, 761, 762, 765, 782, 788, 819, 821, 825, 831, 832, 839, 848, 851, 853, 854, 857, 858,
           860, 861, 863, 865, 873, 884, 888, 894, 900, 904, 905, 912, 915, 916, 919, 920, *range(922, 958),
           *range(959, 970)]
GROUPS = {
    "Human sounds": HUMAN,
    "Animal": ANIMAL,
    "Sounds of things": THINGS,
    "Music": MUSIC,
    "Natural sounds": NATURAL,
    "Channel, environment and background": CHANNEL,
}
DEFAULT = "Source-ambiguous sounds"

SCENE_GROUPS = {  # torchvision indices
    "dogs": [*range(151, 276), *range(277, 281)],
    "cattle": [345, 346, 347],
    "sheep_goats": [348, 349, 350],
    "equines": [339, 340],
    "pigs": [341, 342, 343],
    "poultry": [7, 8, *range(80, 87), 97, 99],
    "wild_birds": [*range(10, 25), *range(87, 97), 98, *range(127, 147)],
    "insects": [*range(300, 327)],
    "orchestra": [432, 486, 513, 558, 566, 594, 683, 875, 889],
    "percussion": [494, 541, 577, 641, 642, 822],
    "tools": [491, 499, 587, 596, 623, 677, 726, 740, 784, 792],
    "household": [438, 441, 505, 550, 572, 647, 732, 759, 849, 861, 896, 898, 899, 901, 968, 999],
}


def _assign(groups: dict[str, list[int]], default: str) -> list[str]:
    """Group of each of the 1000 ImageNet classes (`default` where none); a class listed twice is a bug."""
    chosen: dict[int, str] = {}
    for name, members in groups.items():
        for index in members:
            if index in chosen:
                raise AssertionError(f"ImageNet class {index} listed under {chosen[index]} and {name}")
            chosen[index] = name
    return [chosen.get(i, default) for i in range(1000)]


def assignments() -> list[str]:
    """AudioSet top-level category of each ImageNet class (a hard partition)."""
    out = _assign(GROUPS, DEFAULT)
    assert set(out) == set(AUDIOSET7)
    return out


def scene_assignments() -> list[str]:
    """Scene class of each ImageNet class ('' for none)."""
    return _assign(SCENE_GROUPS, "")


def imagenet_names(labels_path: str | Path) -> list[str]:
    """The 1000 class names of the 1001-line label file (background first) of the MobileNetV2 release."""
    path = Path(labels_path)
    if not path.is_file():
        raise BadInput(path, "ImageNet label file not found")
    names = path.read_text().splitlines()
    if len(names) != 1001 or names[0] != "background":
        raise BadInput(path, f"expected 1001 lines starting with 'background', got {len(names)}")
    return names[1:]


def build_table(labels_path: str | Path, categories: list[str] | None = None) -> pd.DataFrame:
    """`index, name, categories`: the AudioSet top-level table, or another assignment (e.g. the scene classes')."""
    categories = categories or assignments()
    return pd.DataFrame({"index": range(1000), "name": imagenet_names(labels_path), "categories": categories})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the ImageNet -> AudioSet top-level and scene-class tables")
    parser.add_argument("labels")
    args = parser.parse_args(argv)
    build_table(args.labels).to_csv(TABLE_PATH, index=False)
    build_table(args.labels, scene_assignments()).to_csv(SCENE_TABLE_PATH, index=False)


if __name__ == "__main__":
    main()
