"""The typed configuration of the `scenes` dataset, built once from the resolved workflow config."""

from __future__ import annotations

from dataclasses import dataclass

from msl_core.config import default
from msl_core.config.settings import scenes_settings
from msl_core.errors import ConfigError

PRESETS = ("tiny", "default", "large")


@dataclass(frozen=True)
class ScenesConfig:
    """Everything that changes the generated videos; two equal configs give identical datasets."""

    n_clips: int = 60
    duration_s: int = 10
    seed: int = 0
    width: int = default("scenes.width")
    height: int = default("scenes.height")
    fps: int = 10                       # of the MP4; the picture is static per clip, so this only sets file size
    sample_rate: int = 22050
    snr_db: float = default("scenes.snr_db")  # sources' power over the background noise's, per clip
    holdout_stamps: bool = default("scenes.holdout_stamps")  # test clips use stamps that train/val never show
    objects_per_clip: tuple[int, int] = tuple(default("scenes.objects_per_clip"))
    sounding_per_second: tuple[int, int] = tuple(default("scenes.sounding_per_second"))
    change_prob: float = default("scenes.change_prob")  # chance that the sounding set is redrawn at a second boundary
    scale_range: tuple[float, float] = tuple(default("scenes.scale_range"))  # longer stamp side / frame height
    max_occlusion: float = default("scenes.max_occlusion")  # largest covered fraction of an object's in-frame mask
    max_outside: float = default("scenes.max_outside")  # largest fraction of an object's mask cut off by the edge
    gain_db: tuple[float, float] = tuple(default("scenes.gain_db"))
    val_fraction: float = default("scenes.val_fraction")
    test_fraction: float = default("scenes.test_fraction")
    backgrounds: str = default("scenes.backgrounds")
    probe_scenes: int = default("scenes.probe_scenes")  # test scenes that also get probe clips (probes.py)
    probe_duration_s: int = default("scenes.probe_duration_s")

    def __post_init__(self) -> None:
        _check(self.n_clips >= 1, "scenes.presets.*.n_clips", f"must be >= 1, got {self.n_clips}")
        _check(self.duration_s >= 1, "scenes.presets.*.duration_s", f"must be >= 1, got {self.duration_s}")
        lo, hi = self.objects_per_clip
        _check(2 <= lo <= hi <= 6, "scenes.objects_per_clip", f"needs 2 <= min <= max <= 6, got {lo, hi}")
        lo_s, hi_s = self.sounding_per_second
        _check(1 <= lo_s <= hi_s and lo_s < lo, "scenes.sounding_per_second",
               f"needs 1 <= min <= max and min < objects_per_clip min ({lo}) so an object stays silent, "
               f"got {lo_s, hi_s}")
        _check(0 < self.scale_range[0] <= self.scale_range[1] <= 1.0, "scenes.scale_range",
               f"needs 0 < min <= max <= 1, got {self.scale_range}")
        _check(0 <= self.max_occlusion < 1, "scenes.max_occlusion", f"must be in [0, 1), got {self.max_occlusion}")
        _check(0 <= self.max_outside < 1, "scenes.max_outside", f"must be in [0, 1), got {self.max_outside}")
        _check(0 < self.val_fraction + self.test_fraction < 1, "scenes.val_fraction/test_fraction",
               "must sum to a value in (0, 1)")
        _check(self.backgrounds == "skimage", "scenes.backgrounds", f"only 'skimage' is known, got {self.backgrounds!r}")
        _check(self.probe_scenes >= 0 and self.probe_duration_s >= 1, "scenes.probe_scenes/probe_duration_s",
               f"need probe_scenes >= 0 and probe_duration_s >= 1, got {self.probe_scenes}, {self.probe_duration_s}")
        _check(self.width % 2 == 0 and self.height % 2 == 0, "scenes.width/height",
               f"must be even for yuv420p H.264, got {self.width}x{self.height}")


def _check(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise ConfigError(key, problem)


def from_config(config: dict) -> ScenesConfig:
    """Build from a resolved workflow config (msl_core.config.load_config: `scenes:` with the preset's sizes)."""
    return ScenesConfig(**scenes_settings(config))
