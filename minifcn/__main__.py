"""``python -m minifcn``: the same as the ``minifcn`` command."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
