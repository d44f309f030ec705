"""The migrations' revisions, known without importing Alembic.

Opening a database checks that its ``alembic_version`` row is :data:`HEAD`; Alembic itself (a
quarter of a second to import) loads only to upgrade. A test (``tests/kernel/test_schema_check.py``)
compares these with the scripts in ``db/migrations/versions/``: a new migration adds its revision
at the end here, in the same commit.
"""

from __future__ import annotations

# oldest first; the last is the head
KNOWN: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0006", "0007", "0008", "0009", "0010", "0011", "0013",
                          "0014", "0016", "0021", "0019", "0015", "0020", "0022", "0024", "0023")
HEAD: str = KNOWN[-1]
