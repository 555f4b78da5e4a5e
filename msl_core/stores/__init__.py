"""The storage layer: every contract file of docs/architecture.md has one writer and one lazy reader here.

- `atomic`: the one way a file is written (`<file>.partial` under its lock, renamed into place);
- `hdf5`: what all HDF5 stores share (index table, strings, row reads, the `Store` reader);
- `append`: stores grown clip by clip with resume, shards joined as virtual datasets;
- `frames` (frames.h5, audio.h5), `logmel` (logmel.h5, logmel_test.h5), `labels`, `proposals`, `maps`.
"""
