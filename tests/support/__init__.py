"""What the tests share: a workspace that runs the workflow, real media made by ffmpeg, the stamp tree, the
miniatures of every dataset's raw layout and a tiny trained model. Nothing here writes into the repository."""
