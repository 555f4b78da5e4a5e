"""`msl tag | proposals | convert-mobilenet`: the teachers outside Snakemake."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from msl_core.cli.params import COUNT, OUT_FILE, POSITIVE_SECONDS, workflow_config
from msl_core.config import default
from msl_core.runlog import setup_logging


def _section(config_path: str | None, name: str) -> dict:
    """A section of the resolved config (--config, else ./config.yaml, else the schema's defaults)."""
    return workflow_config(config_path)[name]


@click.command("tag")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--weights", type=click.Path(dir_okay=False), help="EfficientAT state dict (default: labels.tagger_weights).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.yaml to read paths from.")
@click.option("--top", type=COUNT, default=5, show_default=True, help="AudioSet classes to show per file.")
@click.option("--window", "window_s", type=POSITIVE_SECONDS, default=10.0, show_default=True,
              help="Files are tagged in windows of this length; a class's score is its maximum over windows.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@click.option("--device", default="auto", show_default=True)
def tag_cmd(files: tuple[str, ...], weights: str | None, config_path: str | None, top: int, window_s: float,
            as_json: bool, device: str) -> None:
    """Print the top AudioSet classes and top-level categories of audio or video FILES."""
    from msl_core.device import resolve_device
    from msl_core.teachers.categories import AUDIOSET7
    from msl_core.teachers.efficientat import AudioTagger, tag_file
    from msl_core.teachers.ontology import read_class_labels, top_level_matrix

    setup_logging()
    settings = _section(config_path, "labels")
    tagger = AudioTagger(weights or settings["tagger_weights"], resolve_device(device))
    names = read_class_labels(settings["audioset_labels"])["display_name"].tolist()
    membership = top_level_matrix()
    for path in files:
        probs = tag_file(tagger, path, window_s=window_s)
        classes = [{"name": names[i], "score": round(float(probs[i]), 4)} for i in np.argsort(-probs)[:top]]
        scores = (membership * probs[None]).max(axis=1)
        categories = [{"name": AUDIOSET7[c], "score": round(float(scores[c]), 4)} for c in np.argsort(-scores)]
        if as_json:
            click.echo(json.dumps({"file": path, "classes": classes, "categories": categories}))
            continue
        click.echo(f"{path}")
        for entry in classes:
            click.echo(f"  {entry['score']:.3f}  {entry['name']}")
        click.echo("  categories: " + ", ".join(f"{c['name']} {c['score']:.2f}" for c in categories[:3]))


@click.command("proposals")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--backend", type=click.Choice(["yolo-fastest", "faster-rcnn"]), default=default("proposals.backend"),
              show_default=True)
@click.option("--weights", type=click.Path(dir_okay=False), help="Detector weights (default: from the config).")
@click.option("--arch", type=click.Choice(["resnet50_fpn", "mobilenet_v3_large_fpn"]), default=default("proposals.faster_rcnn_arch"),
              show_default=True, help="Faster R-CNN variant of --weights.")
@click.option("--top-k", type=COUNT, default=default("proposals.top_k"), show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.yaml to read paths from.")
@click.option("--out", type=OUT_FILE, required=True, help="JSON file of boxes per image.")
@click.option("--draw", type=OUT_FILE, help="PNG with the boxes drawn (first image; IMAGE-n for more).")
def proposals_cmd(images: tuple[str, ...], backend: str, weights: str | None, arch: str, top_k: int,
                  config_path: str | None, out: str, draw: str | None) -> None:
    """Class-agnostic box proposals of IMAGES, as normalised [x1, y1, x2, y2] in the 256x256 frame."""
    from msl_core.media import read_image
    from msl_core.teachers.choices import make_proposer
    from msl_core.teachers.proposals import ProposalConfig, propose

    setup_logging()
    settings = _section(config_path, "proposals")
    key = "yolo_weights" if backend == "yolo-fastest" else "faster_rcnn_weights"
    overrides = {"backend": backend, "top_k": top_k, "faster_rcnn_arch": arch, **({key: weights} if weights else {})}
    cfg = ProposalConfig.from_config(settings, **overrides)
    proposer = make_proposer(cfg)
    results = []
    for n, path in enumerate(images):
        frame = read_image(path, default("frames.size"))
        boxes, scores = propose(proposer, frame, cfg)
        kept = scores > 0
        results.append({"image": path, "boxes": [[round(float(v), 4) for v in box] for box in boxes[kept]],
                        "scores": [round(float(v), 4) for v in scores[kept]]})
        if draw:
            target = Path(draw) if n == 0 else Path(draw).with_name(f"{Path(draw).stem}-{n}{Path(draw).suffix}")
            _draw(frame, boxes[kept], scores[kept], target)
    Path(out).write_text(json.dumps(results, indent=1))
    click.echo(f"{sum(len(r['boxes']) for r in results)} boxes for {len(results)} image(s) -> {out}")


def _draw(frame: np.ndarray, boxes: np.ndarray, scores: np.ndarray, path: Path) -> None:
    import cv2

    canvas = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    size = np.array(canvas.shape[1::-1] * 2, np.float32)
    for box, score in zip(boxes * size, scores):
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (0, 255, 255), 2)
        cv2.putText(canvas, f"{score:.2f}", (x1 + 2, max(y1 + 12, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
    cv2.imwrite(str(path), canvas)


@click.command("convert-mobilenet")
@click.argument("tflite", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=OUT_FILE, required=True, help="State dict (.pt) to write.")
def convert_mobilenet_cmd(tflite: str, out: str) -> None:
    """Convert the MobileNetV2 tflite release into a torchvision state dict."""
    import torch

    from msl_core.models.mobilenet_v2 import convert_tflite

    setup_logging()
    state = convert_tflite(tflite)
    torch.save(state, out)
    click.echo(f"{len(state)} tensors -> {out}")


def register(group: click.Group) -> None:
    group.add_command(tag_cmd)
    group.add_command(proposals_cmd)
    group.add_command(convert_mobilenet_cmd)
