"""Evaluation: the paper's story-video metrics (metrics.py), their file formats (schema.py), contact sheets and
plots (pictures.py) and the self-contained HTML report (report.py). Nothing here imports torch at module level."""
