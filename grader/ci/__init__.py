"""Continuous-integration front ends: workflows above the pipeline that run grader in CI.

Owns the GitHub Action's steps (github: read the inputs, check the sandbox, grade through
the command line, write the outputs and annotations).

May import: grader.cli and every package below it.
"""
