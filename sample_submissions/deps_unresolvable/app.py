"""Uses a package that does not exist."""

import grader_sample_no_such_package


def answer() -> int:
    """The answer."""
    return grader_sample_no_such_package.ANSWER
