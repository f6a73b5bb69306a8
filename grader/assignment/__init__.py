"""What a hiring team set, and its part of a grade.

Owns the assignment file (spec), the one entry point the pipeline calls (stage:
starter comparison, hidden tests, the candidate's own lines, history, the report's
assignment section), authorship against the starter (authorship), the hidden tests
(hidden_tests), what a candidate may see (audience), calibration between the starter and
the reference (calibration) and interview points (interview).

May import: grader.core, grader.acquire, grader.sandbox, grader.environment,
grader.tools, grader.scoring.
"""
