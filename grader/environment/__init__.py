"""Stage 2, environment: what the candidate's tests need installed, and installing it.

Owns reading the declarations (requirements, lock files and their export with the
packaging tool itself: lock_export), resolving them against grader's runners
(resolution), interpreters, uv, pure-Python source builds in the sandbox (sdists), the
cache of built environments (cache), installing the project itself (project_install),
the candidate's pytest settings (pytest_settings) and the whole test environment a tool
asks for (test_environment, with context: what it needs from the grade).

May import: grader.core, grader.acquire, grader.sandbox.
"""
