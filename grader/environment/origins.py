"""Which of the submission's packaging files declared each requirement, for the report's
list of what was installed and why.

``Requirements`` records the sources it used, not which entry came from which; each used
source is read again alone (the workspace without the other packaging files, so its
role and the code it serves are what they were), and the first to declare a name, in
the order of preference, is its origin.
"""

from __future__ import annotations

import dataclasses

from grader.acquire.workspace import Workspace
from grader.environment import requirements


def origins(
    ws: Workspace,
    declared: requirements.Requirements,
    exported: tuple[requirements.Exported, ...] = (),
) -> dict[str, str]:
    """Canonical name -> the packaging file declaring it, for every name in ``declared``."""
    used = [source.path for source in declared.sources if source.used]
    if len(used) == 1:
        return dict.fromkeys(declared.names, used[0])
    packaging_files = {source.path for source in declared.sources}
    found: dict[str, str] = {}
    for path in used:
        alone = dataclasses.replace(
            ws, files=tuple(f for f in ws.files if f == path or f not in packaging_files)
        )
        for name in requirements.read(alone, exported).names & declared.names:
            found.setdefault(name, path)
    return found
