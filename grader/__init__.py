"""grader: automated, explainable review of Python take-home assignments."""

__version__ = "0.1.0"
