"""Secrets of the channels (robot keys, signing secrets, gateway keys): keyring or config folder.

``notify.toml`` never holds a secret, only its name (``key_secret = "wecom-duty"``). The value is
looked up in the system keyring (service ``dispatch-console``, key ``channel:NAME``) and then in
``secrets.toml`` in the site's config folder (``[channels]`` table, ``NAME = "value"``), a file
IT keeps readable by the console's account only. Values are never logged or shown.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.secrets import KEYRING_SERVICE

log = logging.getLogger(__name__)

SECRETS_FILE = "secrets.toml"


def keyring_key(name: str) -> str:
    return f"channel:{name}"


def _from_keyring(name: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, keyring_key(name))
    except Exception as exc:  # no backend on a headless server: the config folder is asked next
        log.debug("keyring unavailable for channel secrets (%s)", type(exc).__name__)
        return None


def _from_file(name: str, config_dir: Path | None) -> str | None:
    if config_dir is None:
        return None
    path = config_dir / SECRETS_FILE
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh).get("channels", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.warning("%s could not be read (%s)", path, type(exc).__name__)
        return None
    value = table.get(name) if isinstance(table, dict) else None
    return str(value) if value else None


def lookup(name: str, resources: Resources | None = None) -> str | None:
    """The secret called ``name``, or None when neither the keyring nor secrets.toml has it."""
    value = _from_keyring(name)
    if value:
        return value
    res = resources or Resources.from_env()
    return _from_file(name, res.config_dir)
