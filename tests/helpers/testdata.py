"""Where the test data lives: ``tests/data/``, found relative to this file (``tests/helpers/``).

The data is part of the repository (see ``tests/data/README.md`` for what each file is
and where it came from), so the suite runs from any clone on any path.
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
VECTORS_PATH = DATA / "vectors.json"
TRANSCRIPTS = DATA / "transcripts"


def load_vectors() -> dict:
    """The protocol test vectors (``tests/data/vectors.json``) as a fresh dict."""
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
