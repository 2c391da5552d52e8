"""``python -m circle``: the same as the ``circle`` command."""

from __future__ import annotations

import sys

from circle.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess
    sys.exit(main())
