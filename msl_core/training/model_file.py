"""The trained model file (`stage<k>/model.pt`) and its `model_card.md`.

A model file is self-contained: besides the weights it carries the category names, the network config, the
log-mel parameters and window length, the frame size and pixel normalisation, the dataset it was trained on,
its final training losses, a hash of its configuration and (stage 2) the on-screen threshold. `msl locate`
therefore needs no config.yaml. Every field holds only tensors and plain Python values, so the file loads with
`torch.load(weights_only=True)`: a model file from the internet cannot run code. A file that lacks a field
(an older msl wrote it) is refused with one line naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from msl_core.errors import BadInput
from msl_core.models.coarse_to_fine import CoarseToFine, ModelConfig, build_model
from msl_core.spectrogram import EfficientATParams, LogMelParams, front_end_name
from msl_core.stores.frames import FramesStore
from msl_core.stores.logmel import LogmelStore
from msl_core.training.checkpoint import assert_finite, atomic_save

FORMAT = "msl-model"
VERSION = 2  # 1: weights + model config only (msl before `locate`)
REQUIRED = ("model_config", "state_dict", "stage", "config_hash", "epochs", "inference", "dataset", "metrics",
            "on_screen")


@dataclass(frozen=True)
class InferenceSpec:
    """What turns a user's media into the network's inputs exactly as in training."""

    logmel: LogMelParams | EfficientATParams  # the audio backbone's front end
    window_s: float
    frame_size: tuple[int, int]  # (H, W) of the frames the model saw
    pixel_mean: tuple[float, float, float]
    pixel_std: tuple[float, float, float]

    def to_dict(self) -> dict:
        return {"logmel": asdict(self.logmel), "front_end": front_end_name(self.logmel), "window_s": self.window_s,
                "frame_size": list(self.frame_size), "pixel_mean": list(self.pixel_mean),
                "pixel_std": list(self.pixel_std)}

    @classmethod
    def from_dict(cls, d: dict) -> InferenceSpec:
        kind = EfficientATParams if d.get("front_end") == "efficientat" else LogMelParams
        return cls(kind(**d["logmel"]), float(d["window_s"]), tuple(d["frame_size"]),
                   tuple(d["pixel_mean"]), tuple(d["pixel_std"]))


@dataclass(frozen=True)
class OnScreen:
    """Raw peak score above which a heard category counts as visible (see `training.on_screen`)."""

    threshold: float
    split: str
    negatives: int
    quantile: float


@dataclass(frozen=True)
class ModelFile:
    """A read model file: the rebuilt network (eval mode) and everything stored beside its weights."""

    model: CoarseToFine
    stage: int
    inference: InferenceSpec
    dataset: str
    metrics: dict
    config_hash: str
    epochs: int
    on_screen: OnScreen | None = None
    path: Path = field(default_factory=Path)

    @property
    def categories(self) -> tuple[str, ...]:
        return self.model.cfg.categories


def inference_spec(frames: str | Path, logmel: str | Path, model_cfg: ModelConfig) -> InferenceSpec:
    """The spec of a training run, read from the attributes and shapes of its frames.h5 / logmel.h5."""
    sounds = LogmelStore(logmel)
    probe = build_model(model_cfg, None, warn_random=False)  # the normalisation the backbone was built with
    return InferenceSpec(sounds.params(), sounds.window_s, FramesStore(frames).size,
                         tuple(probe.pixel_mean.flatten().tolist()), tuple(probe.pixel_std.flatten().tolist()))


def save_model(path: str | Path, model: CoarseToFine, stage: int, chash: str, epochs: int, spec: InferenceSpec,
               dataset: str, metrics: dict, on_screen: OnScreen | None = None) -> None:
    """Write the rule's output (refuses non-finite weights)."""
    assert_finite(model, "final model")
    atomic_save({"format": FORMAT, "version": VERSION, "model_config": model.cfg.to_dict(),
                 "state_dict": model.state_dict(), "stage": stage, "config_hash": chash, "epochs": epochs,
                 "inference": spec.to_dict(), "dataset": dataset,
                 "metrics": {k: float(v) for k, v in metrics.items()},
                 "on_screen": asdict(on_screen) if on_screen else None}, path)


def read_model_file(path: str | Path) -> dict:
    """The raw dict of a model file, loaded weights-only and checked for every field."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "model file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)  # tensors read as used
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(path, f"not a readable msl model file ({first[:160]})") from exc
    if not isinstance(state, dict) or "state_dict" not in state:
        raise BadInput(path, "not an msl model file (no 'state_dict')")
    missing = [k for k in REQUIRED if k not in state]
    if state.get("format") != FORMAT or state.get("version") != VERSION or missing:
        raise BadInput(path, f"was written by an older msl (format version {state.get('version', 1)}, missing "
                             f"{', '.join(missing) or 'nothing'}; this msl reads version {VERSION}): retrain it "
                             "with `snakemake results/<dataset>/stage2/model.pt`")
    return state


def load_model_file(path: str | Path, device: torch.device | str = "cpu") -> ModelFile:
    """Rebuild the network of a model file with its stored pixel normalisation, in eval mode on `device`.

    The network is built on the meta device (shapes only: no random initialisation to throw away) and takes the
    file's tensors as its own (`assign`), so loading costs little more than reading the file."""
    state = read_model_file(path)
    with torch.device("meta"), initialisers_skipped():
        model = build_model(ModelConfig.from_dict(state["model_config"]), None, warn_random=False)
    try:
        model.load_state_dict(state["state_dict"], assign=True)
    except RuntimeError as exc:
        raise BadInput(path, f"weights do not fit the stored model config ({str(exc).splitlines()[0]})") from exc
    spec = InferenceSpec.from_dict(state["inference"])
    model.pixel_mean = torch.tensor(spec.pixel_mean).view(1, 3, 1, 1)  # non-persistent buffers: not in the file
    model.pixel_std = torch.tensor(spec.pixel_std).view(1, 3, 1, 1)
    unfilled = [name for name, t in itertools.chain(model.named_parameters(), model.named_buffers()) if t.is_meta]
    if unfilled:  # a buffer computed at construction (not saved) that this loader does not rebuild
        raise BadInput(path, f"holds no values for {', '.join(unfilled[:3])}: this msl cannot rebuild them")
    on_screen = OnScreen(**state["on_screen"]) if state["on_screen"] else None
    return ModelFile(model.to(device).eval(), int(state["stage"]), spec, str(state["dataset"]), dict(state["metrics"]),
                     str(state["config_hash"]), int(state["epochs"]), on_screen, Path(path))


@contextlib.contextmanager
def initialisers_skipped() -> Iterator[None]:
    """`torch.nn.init`'s initialisers as no-ops while a network whose weights are about to be replaced is built: on
    the meta device each still runs a traced call, two thirds of the build's time. Not thread-safe: no other thread
    may build a network meanwhile (`msl locate` builds one model per process)."""
    names = [n for n in dir(nn.init) if n.endswith("_") and not n.startswith("_")]
    saved = {name: getattr(nn.init, name) for name in names}
    for name in names:
        setattr(nn.init, name, _unchanged)
    try:
        yield
    finally:
        for name, initialiser in saved.items():
            setattr(nn.init, name, initialiser)


def _unchanged(tensor: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return tensor


def load_model(path: str | Path, device: torch.device | str = "cpu") -> CoarseToFine:
    """The network alone (localisation over a dataset)."""
    return load_model_file(path, device).model


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_model_card(model_path: str | Path, out: str | Path) -> None:
    """`model_card.md`: what the model was trained on, for how long, its final losses and the file's sha256."""
    mf = load_model_file(model_path)
    spec, cfg, mel = mf.inference, mf.model.cfg, mf.inference.logmel
    mean, std = ([round(v, 3) for v in values] for values in (spec.pixel_mean, spec.pixel_std))
    network = (f"{cfg.vision_backbone} vision backbone, {cfg.audio_backbone} audio backbone, embedding "
               f"{cfg.embed_dim}, {cfg.num_classes} categories: {', '.join(mf.categories)}")
    frames = f"{spec.frame_size[0]}×{spec.frame_size[1]} RGB frames (mean {mean}, std {std})"
    sound = (f"{spec.window_s:g}-s windows of {mel.sample_rate} Hz mono, {mel.n_mels}-band log-mel of the "
             f"{front_end_name(mel)} front end (hop {mel.hop_length})")
    lines = [
        f"# msl model card: {mf.dataset}, stage {mf.stage}",
        "",
        f"- file: `{Path(model_path).name}`, sha256 `{sha256(model_path)}`",
        f"- trained on: dataset `{mf.dataset}`, {mf.epochs} epochs (config hash `{mf.config_hash}`)",
        f"- network: {network}",
        f"- input: {frames}; {sound}",
        "- losses of the kept epoch (val_*: on the val split): "
        + ", ".join(f"{k} {v:.4g}" for k, v in mf.metrics.items()),
    ]
    if mf.on_screen:
        o = mf.on_screen
        lines.append(f"- on-screen threshold {o.threshold:.4f}: the {o.quantile:.0%} quantile of the raw peak score "
                     f"over {o.negatives} {o.split}-split (frame, category) pairs whose object is not in the frame")
    scope = ("It knows only the categories above: any other sound is either ignored or mistaken for the closest of "
             "them. Localisation scores on the test split are in `../metrics.json`.")
    lines += ["", scope]
    Path(out).write_text("\n".join(lines) + "\n")
