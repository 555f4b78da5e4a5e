"""The coarse-to-fine model (docs/method.md §3.1): stage-1 classification + correspondence, stage-2 class-aware
alignment.

Stage 1 (`MTask` in the reference): GAP features → bias-free 1×1 class heads (C logits per modality) and an
audio-visual correspondence (AVC) head scoring all N² (audio i, image j) pairs of a batch.
Stage 2 (`Align`): each category's detached class activation map pools the backbone features; bias-free
projectors map them to L2-normalised embeddings that a filtered contrastive loss aligns across modalities (on the
visual side, `visual_embedding: positions` pools the projected positions instead, as localisation scores them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from msl_core.errors import ConfigError
from msl_core.models.backbones import build_audio_backbone, build_vision_backbone, vision_backbone
from msl_core.models.trunks import freeze_stages

VISUAL_EMBEDDINGS = ("pooled", "positions")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    num_classes: int
    vision_backbone: str = "resnet18"  # a name of models.backbones.VISION_BACKBONES
    audio_backbone: str = "resnet18"  # a name of models.backbones.AUDIO_BACKBONES
    embed_dim: int = 128
    hidden_dim: int = 1024
    avc_hidden: int = 128
    freeze_vision_stages: int = 0  # first k stages of the vision backbone receive no gradient
    visual_embedding: str = "pooled"  # stage 2's visual class embedding (`CoarseToFine.embed_visual`)
    categories: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise ConfigError("labels", f"need at least one category, got {self.num_classes}")
        if self.categories and len(self.categories) != self.num_classes:
            raise ConfigError("labels", f"{len(self.categories)} category names for {self.num_classes} classes")
        if self.visual_embedding not in VISUAL_EMBEDDINGS:
            raise ConfigError("model.visual_embedding", f"is {self.visual_embedding!r}: use one of "
                                                        f"{', '.join(VISUAL_EMBEDDINGS)}")

    def to_dict(self) -> dict:
        return {**asdict(self), "categories": list(self.categories)}

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**{**d, "categories": tuple(d.get("categories", ()))})


class Projector(nn.Sequential):
    """Bias-free D → hidden → E projector (the reference's Conv1d k=1 pair; a Linear on the last axis is the same)."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int) -> None:
        super().__init__(
            nn.Linear(in_dim, hidden_dim, bias=False), nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim, bias=False)
        )


class CorrespondenceHead(nn.Module):
    """AVC head on all N² pairs: concat[a_i, v_j] → Linear → ReLU → Linear(→2); target 1 iff i = j.

    The first Linear on a concatenation equals the sum of two Linears on the parts, so the N² pairs
    cost N² additions instead of N² matrix products.
    """

    def __init__(self, audio_dim: int, visual_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.fc_audio = nn.Linear(audio_dim, hidden)
        self.fc_visual = nn.Linear(visual_dim, hidden, bias=False)
        self.out = nn.Linear(hidden, 2)

    def forward(self, a: Tensor, v: Tensor) -> Tensor:
        """a (N, Da), v (N, Dv) → logits (N, N, 2), [i, j] = (audio of clip i, image of clip j)."""
        h = self.fc_audio(a)[:, None, :] + self.fc_visual(v)[None, :, :]  # (N, N, hidden)
        return self.out(F.relu(h))


def class_aware_pool(features: Tensor, cam: Tensor) -> Tensor:
    """Pool features with each category's activation map (docs/method.md §3.1, stage 2).

    features (N, D, H, W), cam (N, C, H, W) ≥ 0 → (N, C, D) = Σ_p A_c(p)·F(p) / (Σ_p A_c(p) + 1e-10).
    The reference's extra 1/P factor is dropped: the projector is bias-free and ReLU is positively
    homogeneous, so a scale vanishes after the L2 normalisation.
    """
    f = features.flatten(2)  # (N, D, P)
    a = cam.flatten(2)  # (N, C, P)
    pooled = torch.einsum("ncp,ndp->ncd", a, f)
    return pooled / (a.sum(-1, keepdim=True) + 1e-10)


class CoarseToFine(nn.Module):
    """Two backbones, class heads, the AVC head and (stage 2) the two projectors.

    Inputs: frames (N, 3, H, W) already normalised (see `prepare_frames`); logmel (N, T, n_mels) (any band count:
    the audio heads pool over time and frequency).
    `forward(frames, logmel, stage)` returns a dict:
      audio_logits, visual_logits (N, C); avc_logits (N, N, 2);
      stage 2 also audio_embed, visual_embed (N, C, E), unit length (zero where a category map is empty);
      with `positions`, visual_positions (N, E, h, w) and the detached visual_cam (N, C, h, w).
    Train/eval: only batch-norm differs; the converted MobileNetV2 and frozen stages keep theirs in eval mode.
    """

    def __init__(self, cfg: ModelConfig, vision: nn.Module, audio: nn.Module) -> None:
        super().__init__()
        self.cfg = cfg
        self.vision, self.audio = vision, audio
        dv, da, c = vision.out_channels, audio.out_channels, cfg.num_classes
        self.audio_head = nn.Conv2d(da, c, kernel_size=1, bias=False)
        self.visual_head = nn.Conv2d(dv, c, kernel_size=1, bias=False)
        self.avc = CorrespondenceHead(da, dv, cfg.avc_hidden)
        self.audio_proj = Projector(da, cfg.hidden_dim, cfg.embed_dim)
        self.visual_proj = Projector(dv, cfg.hidden_dim, cfg.embed_dim)
        spec = vision_backbone(cfg.vision_backbone)
        self.register_buffer("pixel_mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)
        freeze_stages(vision, cfg.freeze_vision_stages)

    def train(self, mode: bool = True) -> CoarseToFine:
        super().train(mode)
        for stage in self.vision.stages[: self.cfg.freeze_vision_stages]:
            stage.eval()  # frozen weights with moving BN statistics would still drift
        return self

    def stage_parameters(self, stage: int) -> list[nn.Parameter]:
        """Trainable parameters of a stage (stage 1 leaves the projectors out: they get no gradient)."""
        skip = () if stage == 2 else ("audio_proj.", "visual_proj.")
        return [p for n, p in self.named_parameters() if p.requires_grad and not n.startswith(skip)]

    def parameter_groups(self, stage: int, lr: float) -> list[dict]:
        """Optimiser groups of a stage: a backbone with an `lr_scale` (a pretrained trunk) learns at lr × scale."""
        scaled = {id(p): m.lr_scale for m in (self.vision, self.audio) if hasattr(m, "lr_scale")
                  for p in m.parameters()}
        groups: dict[float, list[nn.Parameter]] = {}
        for p in self.stage_parameters(stage):
            groups.setdefault(scaled.get(id(p), 1.0), []).append(p)
        return [{"params": params, "lr": lr * scale} for scale, params in groups.items()]

    def prepare_frames(self, frames: Tensor) -> Tensor:
        """uint8 (N, H, W, 3) RGB on any device → normalised float (N, 3, H, W), channels-last memory."""
        x = frames.permute(0, 3, 1, 2).float().div_(255.0)
        x = (x - self.pixel_mean) / self.pixel_std
        return x.contiguous(memory_format=torch.channels_last)

    def backbone_features(self, frames: Tensor, logmel: Tensor) -> tuple[Tensor, Tensor]:
        """frames (N, 3, H, W), logmel (N, T, F) → F^v (N, Dv, H/16, W/16), F^a (N, Da, ⌈T/16⌉, F/16)."""
        return self.vision(frames), self.audio_features(logmel)

    def audio_features(self, logmel: Tensor) -> Tensor:
        if logmel.dim() != 3:
            raise ValueError(f"logmel must be (N, T, n_mels), got {tuple(logmel.shape)}")
        return self.audio(logmel.unsqueeze(1))

    def class_maps(self, fv: Tensor, fa: Tensor) -> tuple[Tensor, Tensor]:
        """Raw class score maps W·F: visual (N, C, h, w), audio (N, C, t, f). GAP of these = the logits."""
        return self.visual_head(fv), self.audio_head(fa)

    def embed_audio(self, fa: Tensor, audio_map: Tensor) -> Tensor:
        """Class-aware audio embeddings (N, C, E) from F^a and its raw class map (CAM detached, as the reference)."""
        pooled = class_aware_pool(fa, F.relu(audio_map).detach())  # (N, C, Da)
        return F.normalize(self.audio_proj(pooled), dim=-1)

    def embed_visual(self, fv: Tensor, visual_map: Tensor, positions: Tensor | None = None) -> Tensor:
        """Class-aware visual embeddings (N, C, E). `pooled` (the reference): the CAM pools F^v, then the projector
        maps it. `positions`: the CAM pools the unit per-position embeddings (`embed_positions`, or `positions`
        when already computed), which is what localisation scores: the projector is not linear, so an object's
        pooled feature, projected, need not resemble the projections of its own positions."""
        cam = F.relu(visual_map).detach()
        if self.cfg.visual_embedding == "positions":
            positions = self.embed_positions(fv) if positions is None else positions
            return F.normalize(class_aware_pool(positions, cam), dim=-1)
        return F.normalize(self.visual_proj(class_aware_pool(fv, cam)), dim=-1)  # (N, C, E)

    def embed_positions(self, fv: Tensor) -> Tensor:
        """Per-position visual embeddings (N, E, h, w), unit length (localisation, no CAM pooling)."""
        n, _, h, w = fv.shape
        e = F.normalize(self.visual_proj(fv.flatten(2).transpose(1, 2)), dim=-1)  # (N, h·w, E)
        return e.transpose(1, 2).reshape(n, -1, h, w)

    def forward(self, frames: Tensor, logmel: Tensor, stage: int = 1, positions: bool = False,
                from_trunk: bool = False) -> dict[str, Tensor]:
        """`from_trunk`: `frames` are the frozen trunk's output (trunk.h5), not frames (`forward_from_trunk`); one
        entry point, so that a DistributedDataParallel wrapper sees every training step."""
        if from_trunk:
            return self.forward_from_trunk(frames, logmel, stage, positions)
        fv, fa = self.backbone_features(frames, logmel)
        return self.heads(fv, fa, stage, positions)

    def frozen_trunk(self, frames: Tensor) -> Tensor:
        """The frozen leading vision stages' output for normalised frames: what trunk.h5 caches per frame."""
        return self.vision.forward_to(frames, self.cfg.freeze_vision_stages)

    def forward_from_trunk(self, trunk: Tensor, logmel: Tensor, stage: int = 1,
                           positions: bool = False) -> dict[str, Tensor]:
        """`forward` from the frozen trunk's output (`frozen_trunk`, e.g. read from trunk.h5): the same numbers,
        without recomputing what never trains. The features are laid out channels-last, as the frames' would be."""
        return self.heads(self.visual_features(trunk, from_trunk=True), self.audio_features(logmel), stage, positions)

    def visual_features(self, visual: Tensor, from_trunk: bool = False) -> Tensor:
        """F^v of prepared frames, or with `from_trunk` of the frozen trunk's output (laid out channels-last, as the
        frames' features would be)."""
        if not from_trunk:
            return self.vision(visual)
        return self.vision.forward_from(visual.contiguous(memory_format=torch.channels_last), self.cfg.freeze_vision_stages)

    def heads(self, fv: Tensor, fa: Tensor, stage: int, positions: bool) -> dict[str, Tensor]:
        """Everything after the backbones (see the class docstring for the outputs)."""
        vmap, amap = self.class_maps(fv, fa)
        out = {
            "audio_logits": amap.mean((2, 3)),  # (N, C) = W_a · GAP(F^a)
            "visual_logits": vmap.mean((2, 3)),  # (N, C)
            "avc_logits": self.avc(fa.mean((2, 3)), fv.mean((2, 3))),  # (N, N, 2)
        }
        if stage == 2:
            out["audio_embed"] = self.embed_audio(fa, amap)  # (N, C, E)
            ev = self.embed_positions(fv) if positions else None  # embed_visual computes them itself when it needs them
            out["visual_embed"] = self.embed_visual(fv, vmap, ev)  # (N, C, E)
            if positions:  # what localisation scores, for the background term
                out["visual_positions"] = ev  # (N, E, h, w)
                out["visual_cam"] = F.relu(vmap).detach()  # (N, C, h, w)
        return out


def build_model(cfg: ModelConfig, vision_weights: str | None = None, *, warn_random: bool = True,
                audio_weights: str | None = None) -> CoarseToFine:
    """Build the model; `vision_weights` = the ImageNet checkpoint of the chosen vision backbone (None: random),
    `audio_weights` = the AudioSet tagger release of a pretrained audio backbone."""
    vision = build_vision_backbone(cfg.vision_backbone, vision_weights, warn_random=warn_random)
    return CoarseToFine(cfg, vision, build_audio_backbone(cfg.audio_backbone, audio_weights))
