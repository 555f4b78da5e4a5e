"""`msl convert-annotations` and `msl evaluate`: the same functions as the `convert_annotations`/`evaluate` rules."""

from __future__ import annotations

import json
from pathlib import Path

import click

from msl_core import annotations as ann
from msl_core import evaluation as ev
from msl_core import protocols
from msl_core.coco import write_coco
from msl_core.config import default

_PATH = click.Path(path_type=Path)
_EXISTING = click.Path(exists=True, path_type=Path)


@click.command("convert-annotations")
@click.option("--format", "fmt", type=click.Choice(ann.FORMATS), required=True, help="Source annotation format.")
@click.option("--gtdata", type=_EXISTING,
              help="flickr-gtdata: the reference gtdata.pkl; slavc-extended: the vggss.json-style box file.")
@click.option("--source", type=_EXISTING,
              help="vggss: vggss.json; slavc-extended: *_test_plus_silent.csv; is3 / avsbench-box: the box list JSON.")
@click.option("--split", type=_EXISTING,
              help="Split file (gtest.txt; ids before the first dot); required for flickr-gtdata, optional otherwise.")
@click.option("--xml-dir", type=_EXISTING, help="flickr-xml: folder of <id>.xml files.")
@click.option("--normav", type=_EXISTING, help="audioset-instrument: the reference normav.json.")
@click.option("--tags", type=_EXISTING, help="audioset-instrument: {video_id: tags} pickle (clip order).")
@click.option("--out", type=_PATH, required=True, help="COCO JSON to write.")
def convert_annotations(fmt, gtdata, source, split, xml_dir, normav, tags, out) -> None:
    """Convert distributed test annotations to COCO; prints the items written and the split ids not found."""
    conversion = ann.convert(fmt, gtdata=gtdata, split=split, xml_dir=xml_dir, normav=normav, tags=tags, source=source)
    write_coco(conversion, out)
    click.echo(f"{out}: {conversion.summary()}")


@click.command("evaluate")
@click.option("--annotations", type=_EXISTING, required=True, help="COCO test annotations.")
@click.option("--protocol", type=click.Choice([*ev.PROTOCOLS, *protocols.PROTOCOLS]), required=True,
              help="Reference protocols (flickr, audioset-instrument, multi-source) or the field's (README: Protocols).")
@click.option("--maps", type=_EXISTING, help="maps.h5 from `localize` (scores stage2 and cam).")
@click.option("--baseline", "baselines", type=click.Choice(ev.BASELINES), multiple=True,
              help="Map-free baseline(s) to score; repeatable.")
@click.option("--out", type=_PATH, required=True, help="metrics.json to write.")
@click.option("--threshold", type=float, default=None,
              help="Binarise maps at this fraction of their maximum (default: the protocol's reference value).")
@click.option("--success-ciou", type=float, default=default("evaluate.success_ciou"), show_default=True, help="cIoU counted as a success.")
@click.option("--centre-sigma", type=float, default=default("evaluate.centre_sigma"), show_default=True, help="Centre prior sigma (image side).")
@click.option("--allow-missing-maps", is_flag=True, help="Exclude (and report) annotated items without a map.")
@click.option("--heatmaps", type=_PATH, help="Also draw the best/median/worst heatmap grid here (PNG).")
@click.option("--per-class", type=_PATH, help="Also draw the per-class bar chart here (PNG).")
@click.option("--frames", type=_EXISTING, help="frames.h5 to draw the heatmaps on (optional).")
def evaluate(annotations, protocol, maps, baselines, out, threshold, success_ciou, centre_sigma, allow_missing_maps,
             heatmaps, per_class, frames) -> None:
    """Score maps and/or baselines on COCO annotations; writes metrics.json and prints the headline numbers."""
    if maps is None and not baselines:
        raise click.UsageError("give --maps or at least one --baseline")
    if protocol in protocols.PROTOCOLS:
        if threshold is not None:
            raise click.UsageError(f"--threshold: the {protocol} protocol fixes its thresholds (README: Protocols)")
        numbers = protocols.evaluate_protocol(protocol, annotations, maps, baselines, allow_missing_maps)
        protocols.write_protocol_metrics(numbers, out)
        skip = ("methods", "definition", "excluded", "missing")
        click.echo(json.dumps({k: v for k, v in numbers.items() if k not in skip}, indent=1))
        return
    settings = ev.EvalSettings(protocol, threshold, success_ciou, centre_sigma, allow_missing_maps)
    numbers = ev.run_evaluation(annotations, settings, out, maps=maps, baselines=baselines,
                                heatmaps=heatmaps, per_class=per_class, frames=frames)
    headline = {k: numbers[k] for k in ("n_items", "n_missing", "threshold", "primary")}
    for key in ("success_rate", "auc", "mean_ciou", "class_agnostic", "class_specific"):
        if key in numbers:
            headline[key] = numbers[key] if not isinstance(numbers[key], dict) else {
                k: v for k, v in numbers[key].items() if k != "per_class"}
    click.echo(json.dumps(headline, indent=1))


def register(group: click.Group) -> None:
    group.add_command(convert_annotations)
    group.add_command(evaluate)
