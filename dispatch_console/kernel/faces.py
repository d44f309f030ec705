"""A room's face that names a heavy module's functions without importing it with the room.

A face (``dispatch_console/<room>/__init__.py``) re-exports what the views and the command line
use; a function whose module needs a heavy library (openpyxl for a spreadsheet, APScheduler or
numpy for the live queue and the map) is named there and imported at its first use instead, by
the face's module ``__getattr__`` (PEP 562) that :func:`loaded_at_first_use` makes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


def loaded_at_first_use(namespace: dict[str, Any],
                        homes: Mapping[str, Callable[[], ModuleType]]) -> Callable[[str], Any]:
    """The ``__getattr__`` of the face whose ``globals()`` is ``namespace``: each name of
    ``homes`` (name → a function importing the module that defines it, with a real import that
    import-linter and the installer's analysis see) is imported when first asked for and kept in
    the face, so it is imported once."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(home(), name)
        namespace[name] = value
        return value

    return __getattr__
