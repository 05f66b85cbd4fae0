"""Published standards files the tests judge our output by (see README.md here)."""

from pathlib import Path

STANDARDS = Path(__file__).parent
CONTEXTS = STANDARDS / "contexts"
SCHEMAS = STANDARDS / "schemas"
VECTORS = STANDARDS / "test-vectors"
DATA = STANDARDS.parent / "data"
