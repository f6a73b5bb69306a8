"""Stage 1, acquire: a submission from a git URL, folder or archive into a private copy.

Owns getting the submission (source: the entry point; clone at a ref or deadline; archive:
unpacking safely; work_tree: a work tree as it is now, for preview; git: the locked-down
git runner; limits), the inventory of what it holds (workspace: which files are code,
tests, configuration, migrations, which cannot be parsed; notebooks: Jupyter notebooks
read and turned into scripts the analysers read, with each line's cell) and its git
history (history; versions: the version its tags give a build that reads it there).

May import: grader.core.
"""
