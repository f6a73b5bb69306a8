"""Running untrusted code: everything a submission contains runs through here.

Owns bubblewrap isolation and resource limits (bubblewrap), the disk-limited scratch area
a test run writes to (scratch), control groups that count and end every process a run
starts (cgroups, with launch: the small entry point that joins them inside the sandbox),
and the throwaway PostgreSQL and Redis servers a test run starts inside its own sandbox
(services, with service_launcher: the script that starts them there before the tests).

May import: grader.core, grader.acquire (the workspace's file walk).
"""
