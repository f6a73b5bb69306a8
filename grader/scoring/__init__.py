"""Stage 4, score: metrics and findings against a rubric, pure and table-tested.

Owns derived metrics (normalize), the rubric file and its validation (rubric), scoring
itself (score), the evidence shown beside each lost point (evidence: snippets with
credentials redacted), finding fingerprints (fingerprints) and what would gain the most
points (gains).

May import: grader.core, grader.acquire (the workspace, for snippets), grader.tools
(metric declarations and finding weights).
"""
