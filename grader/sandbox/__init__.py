"""Running untrusted code: everything a submission contains runs through here.

Owns bubblewrap isolation and resource limits (bubblewrap), the disk-limited scratch area
a test run writes to (scratch), control groups that count and end every process a run
starts (cgroups, with launch: the small entry point that joins them inside the sandbox).

May import: grader.core, grader.acquire (the workspace's file walk).
"""
