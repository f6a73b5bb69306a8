"""Allow ``python -m docqa`` as an alternative to the ``docqa`` console script."""

import sys

from docqa.cli import main

if __name__ == "__main__":
    sys.exit(main())
