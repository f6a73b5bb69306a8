"""Continuous-integration front ends: workflows above the pipeline that run grader in CI."""
