"""The ``dispatch-console`` entry point: the core command line plus the GUI commands.

It lives in the top layer because only the top layer may know both the core and the views.
Nothing here imports Qt until a GUI command runs, so ``agent``, ``intake`` and friends start fast
on a server without a display.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

GUI_MODULES = ["ui.shell.commands", "ui.handover.commands"]


def main(argv: Sequence[str] | None = None) -> int:
    from dispatch_console.cli import main as cli_main

    return cli_main(argv, extra_modules=GUI_MODULES, default_command="run")


if __name__ == "__main__":
    sys.exit(main())
