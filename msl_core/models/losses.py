"""Losses of the two stages (docs/method.md §3.1): soft-label BCE, balanced AVC, filtered contrastive distance."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from msl_core.models.localization import max_normalise

# Alignment negatives. `instance` (reference): every pair but the positive, so the same category in another clip is
# pushed away too. `category`: only pairs of different categories; a category's sound is never pushed from its own
# object in another clip, which contradicts the category-level correspondence of stage 1 wherever objects recur.
PAIRS = ("instance", "category")


def classification_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """BCE(σ(z), y) averaged over N×C; `targets` are soft pseudo labels in [0, 1]."""
    return F.binary_cross_entropy_with_logits(logits.float(), targets.float())


def correspondence_loss(avc_logits: Tensor) -> Tensor:
    """Balanced AVC loss: ½·mean CE over the N matching pairs + ½·mean CE over the N²−N others.

    avc_logits (N, N, 2), [i, j] = audio i with image j; class 1 = "corresponds" iff i = j.
    With N = 1 there is no negative pair and the negative half is 0.
    """
    n = avc_logits.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=avc_logits.device)
    ce = F.cross_entropy(avc_logits.reshape(n * n, 2).float(), eye.reshape(-1).long(), reduction="none").view(n, n)
    pos = ce[eye].mean()
    neg = ce[~eye].mean() if n > 1 else ce.new_zeros(())
    return 0.5 * pos + 0.5 * neg


def distance_loss(
    audio_embed: Tensor,
    visual_embed: Tensor,
    audio_prob: Tensor,
    visual_prob: Tensor,
    margin: float,
    prob_filter: float,
    pairs: str,
) -> Tensor:
    """Filtered contrastive loss on class-aware embeddings (stage 2).

    audio_embed, visual_embed (N, C, E) unit vectors; audio_prob, visual_prob (N, C) = σ(logits), no gradient.
    Rows are flattened to M = N·C (row n·C + c). D_ij = 2 − 2⟨e^a_i, e^v_j⟩ (squared distance, clamped ≥ 0).
    Only pairs whose audio and visual probabilities both exceed `prob_filter` count. Positives: the diagonal
    (same clip and category), mean D; negatives: every other pair (`pairs` instance) or every pair of different
    categories (`pairs` category), mean max(0, margin − √D)².
    """
    ea = audio_embed.float().flatten(0, 1)  # (M, E)
    ev = visual_embed.float().flatten(0, 1)  # (M, E)
    m = ea.shape[0]
    d = (2.0 - 2.0 * ea @ ev.T).clamp_min(0.0)  # (M, M)
    keep = ((audio_prob.detach().flatten() > prob_filter)[:, None] & (visual_prob.detach().flatten() > prob_filter)[None, :]).float()
    eye = torch.eye(m, device=d.device)
    negative = 1 - eye
    if pairs == "category":
        category = torch.arange(m, device=d.device) % audio_embed.shape[1]
        negative = (category[:, None] != category[None, :]).float()
    # The reference adds 1e-10 per element of the M×M mask to each denominator.
    pos = (d * keep * eye).sum() / ((keep * eye).sum() + 1e-10 * m * m)
    # clamp before √: its gradient at 0 is infinite (0·∞ = NaN where a pair is filtered out).
    hinge = F.relu(margin - d.clamp_min(1e-12).sqrt()).pow(2)
    neg = (hinge * keep * negative).sum() / ((keep * negative).sum() + 1e-10 * m * m)
    return pos + neg


def background_weights(visual_cam: Tensor, visual_prob: Tensor, prob_filter: float) -> Tensor:
    """How surely each position is background: 1 − the strongest max-normalised CAM of the categories seen.

    visual_cam (N, C, h, w) ≥ 0 (detached), visual_prob (N, C) → (N, h, w) in [0, 1]; a clip where no
    category passes the filter is all background.
    """
    seen = (visual_prob.detach() > prob_filter).float()[:, :, None, None]
    return 1.0 - (max_normalise(visual_cam) * seen).amax(1)


def background_loss(audio_embed: Tensor, visual_positions: Tensor, audio_prob: Tensor, background: Tensor,
                    margin: float, prob_filter: float) -> Tensor:
    """Background positions as negatives of every heard category (an msl extension of §3.1).

    The alignment loss only sees CAM-pooled object features, yet localisation scores every position; without
    this term background positions keep whatever similarity the projector gives them and the maps stay diffuse.
    (The reference's unfinished `cam_pool` returns a (foreground, background) pair, hinting at the same idea.)
    audio_embed (N, C, E) unit; visual_positions (N, E, h, w) unit; audio_prob (N, C); background (N, h, w).
    Loss = Σ B_n(p)·max(0, margin − ‖e^a_i − e^v_n(p)‖)² / Σ B over audio rows i with prob > filter and all n, p.
    """
    heard = audio_prob.detach().flatten() > prob_filter
    ea = audio_embed.float().flatten(0, 1)[heard]  # (K, E)
    if ea.shape[0] == 0:
        return audio_embed.new_zeros(()).float()
    ev = visual_positions.float().flatten(2)  # (N, E, P)
    d = (2.0 - 2.0 * torch.einsum("ke,nep->knp", ea, ev)).clamp_min(1e-12)
    hinge = F.relu(margin - d.sqrt()).pow(2)
    w = background.float().flatten(1)  # (N, P)
    return (hinge * w).sum() / (w.sum() * ea.shape[0] + 1e-10)


def stage_losses(out: dict[str, Tensor], audio_labels: Tensor, visual_labels: Tensor, stage: int,
                 margin: float, prob_filter: float, background_weight: float, pairs: str) -> dict[str, Tensor]:
    """The loss terms of a stage and their sum `loss` (L₁, L₂ of §3.1 with weights 1, as the reference).

    `background_weight` > 0 adds `background_loss` to stage 2 (needs `visual_positions`, `visual_cam` in `out`).
    """
    terms = {
        "cls_audio": classification_loss(out["audio_logits"], audio_labels),
        "cls_visual": classification_loss(out["visual_logits"], visual_labels),
        "avc": correspondence_loss(out["avc_logits"]),
    }
    if stage == 2:
        audio_prob, visual_prob = torch.sigmoid(out["audio_logits"].float()), torch.sigmoid(out["visual_logits"].float())
        terms["align"] = distance_loss(out["audio_embed"], out["visual_embed"], audio_prob, visual_prob,
                                       margin=margin, prob_filter=prob_filter, pairs=pairs)
        if background_weight > 0:
            background = background_weights(out["visual_cam"], visual_prob, prob_filter)
            terms["background"] = background_weight * background_loss(
                out["audio_embed"], out["visual_positions"], audio_prob, background, margin=margin, prob_filter=prob_filter
            )
    terms["loss"] = sum(terms.values())
    return terms
