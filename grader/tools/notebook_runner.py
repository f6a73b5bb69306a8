"""Run one notebook top to bottom in a fresh kernel; runs INSIDE the sandbox.

Started by grader.tools.notebook_run with the submission's own interpreter and grader's
notebook runners (nbclient, ipykernel) on its path; imports nothing of grader's. Writes
one JSON line per cell it starts, then the outcome, to the results file:
``{"outcome": "ran" | "failed" | "timeout", "cell": N, "error": "..."}`` (cells counted
1-based among all cells, as Jupyter and ruff count them).

usage: python notebook_runner.py NOTEBOOK WORKING_FOLDER RESULTS_FILE CELL_TIMEOUT_S
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any


def _write(results: str, record: dict[str, Any]) -> None:
    with Path(results).open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


def main(argv: list[str]) -> int:
    """Execute the notebook; the outcome goes to the results file, never an exception."""
    notebook_path, folder, results, cell_timeout = argv
    # Imported by name: they exist only in the sandbox's environment, untyped.
    nbformat = importlib.import_module("nbformat")
    nbclient = importlib.import_module("nbclient")
    errors = importlib.import_module("nbclient.exceptions")

    notebook = nbformat.read(notebook_path, as_version=4)
    started = {"cell": 0}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        started["cell"] = cell_index + 1
        _write(results, {"started": cell_index + 1})

    client = nbclient.NotebookClient(
        notebook,
        timeout=float(cell_timeout),
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": folder}},
        on_cell_start=on_cell_start,
    )
    try:
        client.execute()
    except errors.CellTimeoutError as exc:
        _write(results, {"outcome": "timeout", "cell": started["cell"], "error": str(exc)[:300]})
    except errors.CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"[:300]
        _write(results, {"outcome": "failed", "cell": started["cell"], "error": error})
    except Exception as exc:  # a kernel that died or never started
        error = f"{type(exc).__name__}: {exc}"[:300]
        _write(results, {"outcome": "failed", "cell": started["cell"], "error": error})
    else:
        _write(results, {"outcome": "ran", "cell": started["cell"], "error": ""})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
