"""Training of the two stages: data loading from the HDF5 contract files, the loop, checkpoints, localisation runs."""
