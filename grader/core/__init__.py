"""The vocabulary every stage shares, and nothing else.

Owns the frozen data model passed between stages (models), the one exception hierarchy
and exit codes (errors), the one subprocess wrapper (proc), progress events (progress),
file locks shared by concurrent graders (locks) and the cores a grade's test run and
analysers share (cores). Pure or close to it: no stage logic.

May import: the standard library only; nothing else of grader's.
"""
