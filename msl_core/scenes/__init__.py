"""The built-in `scenes` dataset: Tux Paint stamps (photo cut-outs + real recordings) composed into MP4 scenes.

`stamps` obtains the package and the catalogue, `compose` places objects and schedules who sounds, `audio` mixes the
soundtrack, `render` writes MP4s, `groundtruth` writes COCO and tags, `build` ties them together, `contact_sheet`
draws sample frames with their boxes.
"""

from msl_core.scenes.build import build_dataset
from msl_core.scenes.config import PRESETS, ScenesConfig, from_config
from msl_core.scenes.stamps import (
           build_catalogue,
           class_names,
           class_table,
           obtain_stamps,
)

__all__ = ["PRESETS", "ScenesConfig", "build_catalogue", "build_dataset", "class_names", "class_table",
           "from_config", "obtain_stamps"]
