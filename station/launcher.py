"""The ``dispatch-console`` entry point: install the composition root, then run one command.

Nothing here imports Qt until a GUI command runs, so ``agent``, ``intake`` and friends start fast
on a server without a display.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from typing import NoReturn


def main(argv: Sequence[str] | None = None) -> int:
    """One command, in this process as it is (tests and scripts call it in-process)."""
    from dispatch_console.cli import main as cli_main
    from station import composition

    # the rooms are installed when a command runs, not for --help or a usage error
    return cli_main(argv, composition.COMMANDS, default_command="run", prepare=composition.install)


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """The program's own process (the console script, ``python -m``, the installed program).

    Garbage collection is arranged for a process that starts, runs one command and exits:

    - off while the modules load: loading makes almost no garbage, but each automatic collection
      walks the whole growing heap;
    - once the rooms are installed, what is alive (modules, classes, the catalogues) is frozen
      (``gc.freeze``) and collection is on again, so a long-running command (``agent``) collects
      only what it makes;
    - frozen again at exit, so the interpreter's last collection does not walk the heap.

    A one-line ``intake`` spent ~0.3 s of its ~1.2 s in those collections, most of it after the
    command was done. (The console window takes collection over on the GUI thread once it is up:
    ``ui.shell.garbage_collection``.)
    """
    from dispatch_console.cli import main as cli_main
    from station import composition

    gc.disable()

    def prepare() -> None:
        composition.install()
        gc.freeze()
        gc.enable()

    code = cli_main(argv, composition.COMMANDS, default_command="run", prepare=prepare)
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
