"""The log file: rotating, in the platform's log folder, named in the About dialog and the README.

Every command (the console, the agent, the command line) writes its warnings and errors there, and
uncaught exceptions with their traceback (``ui/shell/crash.py``), so IT finds what happened after
the duty officer has closed the dialog. Where: ``platformdirs.user_log_dir("dispatch-console")``
(Linux ``~/.local/state/dispatch-console/log``, Windows ``%LOCALAPPDATA%\\dispatch-console\\Logs``);
``DISPATCH_LOG_DIR`` names another folder. Five files of 1 MB at most.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

import platformdirs

from dispatch_console.kernel.config import APP_NAME

LOG_FILE = "dispatch-console.log"
MAX_BYTES = 1_000_000
BACKUPS = 4
FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"

_handler: RotatingFileHandler | None = None


def log_dir() -> Path:
    configured = os.environ.get("DISPATCH_LOG_DIR")
    return Path(configured) if configured else Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def log_path() -> Path:
    """The file this process writes to (or would: :func:`install` has not run)."""
    if _handler is not None:
        return Path(_handler.baseFilename)
    return log_dir() / LOG_FILE


def install(level: int = logging.INFO) -> Path | None:
    """Send this process's log records to the rotating file as well (once; a folder that cannot be
    written leaves the log on the console only, and returns None)."""
    global _handler
    path = log_dir() / LOG_FILE
    if _handler is not None and Path(_handler.baseFilename) == path.absolute():
        _handler.setLevel(level)
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
    except OSError:
        logging.getLogger(__name__).warning("cannot write the log file %s", path, exc_info=True)
        return None
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    root.addHandler(handler)
    if root.level > level:
        root.setLevel(level)
    _handler = handler
    return path
