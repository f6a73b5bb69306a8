"""Train and evaluate an iris species classifier; the notebook only calls this package."""
