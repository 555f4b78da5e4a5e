"""`msl locate`: where each sound of your own video (or photo + sound) comes from, with a trained stage-2 model."""

from __future__ import annotations

import click

from msl_core.config import default
from msl_core.device import resolve_device
from msl_core.runlog import setup_logging


@click.command("locate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--model", "model", required=True, type=click.Path(dir_okay=False),
              help="A stage-2 model file (results/<dataset>/stage2/model.pt); it carries everything needed.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--fps", default=1.0, show_default=True,
              help="Windows per second: 1 = the method's 1-s windows; higher slides them for smoother maps.")
@click.option("--categories", default="", help="Comma-separated categories to report (default: all).")
@click.option("--threshold", default=default("evaluate.class_threshold"), show_default=True,
              help="A category is heard when its probability exceeds this (as evaluate.class_threshold).")
@click.option("--gate", type=click.Choice(["none", "cam"]), default=default("evaluate.gate"), show_default=True,
              help="As evaluate.gate: `cam` keeps each category's map only where its own visual CAM sees it.")
@click.option("--contrast-heard", "contrast_heard", type=click.FloatRange(min=0),
              default=default("evaluate.contrast_heard"), show_default=True,
              help="As evaluate.contrast_heard: each heard category drawn from what tells it from the others (0: off).")
@click.option("--no-video", is_flag=True, help="Write the JSON and CSV only (no overlay).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def locate_cmd(inputs: tuple[str, ...], model: str, out_dir: str, fps: float, categories: str, threshold: float,
               gate: str, contrast_heard: float, no_video: bool, device: str, quiet: bool) -> None:
    """Locate the sounds of VIDEO, or of IMAGE + AUDIO, in its picture.

    Writes OUT/<name>.json and .csv (per window: every heard category, its probability, peak, box, scores and
    whether its source is on screen) and OUT/<name>.mp4 (video) or OUT/<name>.png (image) with the maps drawn.
    """
    from msl_core.locate.run import LocateOptions, locate

    setup_logging()
    opts = LocateOptions(fps=fps, categories=tuple(c.strip() for c in categories.split(",") if c.strip()),
                         threshold=threshold, gate=gate, contrast_heard=contrast_heard,
                         video=not no_video, progress=not quiet)
    done = locate(list(inputs), model, out_dir, opts, resolve_device(device))
    for path in (done.picture, done.json, done.csv):
        if path:
            click.echo(path)


def register(group: click.Group) -> None:
    group.add_command(locate_cmd)
