"""The ``dispatch-console`` entry point: install the composition root, then run one command.

Nothing here imports Qt until a GUI command runs, so ``agent``, ``intake`` and friends start fast
on a server without a display.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from dispatch_console.cli import main as cli_main
    from station import composition

    # the rooms are installed when a command runs, not for --help or a usage error
    return cli_main(argv, composition.COMMANDS, default_command="run", prepare=composition.install)


if __name__ == "__main__":
    sys.exit(main())
