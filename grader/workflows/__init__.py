"""Workflows around one grade: above the pipeline, below the command line.

Owns the results cache (results_cache: reuse a report graded with the same inputs),
preview (a candidate's work tree as it is now) and ``grader calibrate`` (calibrate: grade
an assignment's starter and reference).

May import: grader.pipeline, grader.render and every stage below them.
"""
