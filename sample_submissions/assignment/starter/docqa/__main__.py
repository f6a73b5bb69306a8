"""Entry point for ``python -m docqa``; the CLI described in the brief starts here."""

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line; replace this with your implementation."""
    del argv
    sys.stderr.write("docqa: not implemented yet\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
