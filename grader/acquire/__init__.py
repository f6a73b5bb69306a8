"""Stage 1, acquire: a submission from a git URL, folder or archive into a private copy.

Owns getting the submission (source: clone at a ref or deadline, unpack an archive
safely, copy a work tree), the inventory of what it holds (workspace: which files are
code, tests, configuration, which cannot be parsed) and its git history (history).

May import: grader.core.
"""
