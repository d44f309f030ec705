"""Secrets of the channels (robot keys, signing secrets, gateway keys): keyring or config folder.

``notify.toml`` never holds a secret, only its name (``secrets = { key = "wecom-duty" }``). The value is
looked up in the system keyring (service ``dispatch-console``, key ``channel:NAME``) and then in
``secrets.toml`` in the site's config folder (``[channels]`` table, ``NAME = "value"``). The
lookup is the outbox's (``notifications.senders.lookup_secret``), shared with SMTP passwords.
"""

from __future__ import annotations

from dispatch_console.kernel.config import Resources
from dispatch_console.notifications.senders import SECRETS_FILE, lookup_secret, secret_keyring_key

__all__ = ["SECRETS_FILE", "keyring_key", "lookup"]


def keyring_key(name: str) -> str:
    return secret_keyring_key(name)


def lookup(name: str, resources: Resources | None = None) -> str | None:
    """The secret called ``name``, or None when neither the keyring nor secrets.toml has it."""
    return lookup_secret(name, resources)
