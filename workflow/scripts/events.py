"""Rule `events`: a dataset without boxes (AVE) scored on its annotated events → events.json, events.txt, events.png."""
from msl_core.events import score_events, write_events
from msl_core.manifest import read_index
from msl_core.runlog import from_snakemake
from msl_core.teachers.categories import category_set

log = from_snakemake(snakemake)
index = read_index(snakemake.input.index)
numbers = score_events(snakemake.input.maps, index, category_set(snakemake.params.categories, index))
numbers["warnings"] = list(snakemake.params.warnings)
for warning in numbers["warnings"]:
    print(f"msl: warning: {warning}", flush=True)
write_events(numbers, snakemake.output.json, snakemake.output.txt, snakemake.output.figure)
log.info("events of %d test clips: audio-visual accuracy %.3f on %d event seconds (audio %.3f, visual %.3f), "
         "temporal AUC %s", numbers["n_clips"], numbers["audio_visual_accuracy"], numbers["n_event_seconds"],
         numbers["audio_accuracy"], numbers["visual_accuracy"], numbers["temporal_auc"])
