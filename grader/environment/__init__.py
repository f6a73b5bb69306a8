"""Stage 2, environment: what the candidate's tests need installed, and installing it.

Owns reading the declarations (requirements: the entry point and the order of formats;
requirement_files, lock_files, packaging_declarations, poetry_declarations, with
requirement_entries shared by them; lock_export runs the packaging tool itself),
resolving them against grader's runners (resolution), interpreters, uv, pure-Python
source builds in the sandbox (sdists), the cache of built environments (cache),
installing the project itself (project_install), the candidate's pytest settings
(pytest_settings), which modules the code imports (imports), what a built environment
holds (installed: its distributions' metadata; providers: which of them provides an
(pytest_settings), which modules the code imports (imports), what a built environment
holds (installed: its distributions' metadata; providers: which of them provides an
import; installed_notes and origins: what the report says was installed, from which
declaration, and what was not), the whole test environment a tool asks for
(test_environment, prepared once per grade by per_grade, with context: what it needs
from a grade), and the settings and servers the tests run with (run_settings: the order
of precedence; dotenv_files, compose_files, workflow_files read them, with
settings_declarations shared and container_paths mapping a compose service's paths to
the repository's folders; service_needs decides which servers), and grader's notebook
runners kept beside the environments (notebook_runners).

May import: grader.core, grader.acquire, grader.sandbox.
"""
