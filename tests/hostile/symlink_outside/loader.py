# ruff: noqa
"""Uses the symlinked host file, so a type checker that reads imports sees its content."""

import secret_link  # a symlink to a host file, created by the test at runtime

# A type error in this (listed) file that quotes the imported value's literal type.
VALUE: int = secret_link.SECRET
