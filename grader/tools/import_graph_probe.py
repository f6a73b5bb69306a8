"""Run by grader.tools.import_graph as ``python -I <this file> <request>``, in a process of
its own: grimp's import graph of the submission's packages, as JSON on stdout.

grimp parses the files; nothing of the submission is imported or run. The submission's
folders go on the end of ``sys.path`` only after every module this script needs is
imported, so a file named like the standard library can never be loaded in its place
(``-I`` already keeps the script's own folder off the path).
"""

from __future__ import annotations

import json
import sys

import grimp


def main() -> None:
    """Read ``{"roots": [...], "packages": [...]}`` from argv; print the imports."""
    request = json.loads(sys.argv[1])
    sys.path.extend(request["roots"])
    graph = grimp.build_graph(*request["packages"], cache_dir=None)
    imports = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            for detail in graph.get_import_details(importer=importer, imported=imported):
                imports.append([importer, imported, detail["line_number"]])
    sys.stdout.write(json.dumps({"modules": sorted(graph.modules), "imports": imports}))


if __name__ == "__main__":
    main()
