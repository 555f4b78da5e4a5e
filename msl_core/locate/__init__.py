"""`msl locate`: a trained stage-2 model on anyone's video, or photo + sound (docs/method.md §3.1 `Location`).

`inputs` turns the media into the model's inputs (sliding windows of the sound, the frame at each window's
start), `sources` turns the maps into per-window sources (category, probability, peak, box, on-screen flag),
`overlay` draws them over the frames, `run` streams a video through all three in one decode and one encode.
"""
