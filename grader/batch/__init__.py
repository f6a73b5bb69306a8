"""Grading many submissions: ``grader batch`` and ``grader aggregate``.

A workflow above grader.pipeline: every submission is graded by ``grade()`` in a worker
process of its own (worker.py), scheduled, resumed and interrupted by runner.py, stored
per candidate by store.py, gathered into a ``BatchResult`` by collect.py (with
similarity.py comparing the candidates' code) and rendered by grader.render.

May import: grader.workflows, grader.pipeline, grader.render and every stage below them.
"""
