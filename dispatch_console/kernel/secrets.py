"""The database password: kept in the system keyring, never in plain text, never shown.

A site configures the database URL without a password (``postgresql+psycopg://dispatch_app@db/duty``)
and stores the password once in the operating system's keyring (service ``dispatch-console``, key
``user@host:port/database``). :func:`resolve_db_url` fills it in when the URL has none; without a
keyring (a headless server has no backend) the URL comes back unchanged and the console asks.
Any URL shown to people, logs, window titles or the status bar goes through
``db.engine.redact_url``.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import URL, make_url

from db.engine import redact_url

log = logging.getLogger(__name__)

KEYRING_SERVICE = "dispatch-console"


def keyring_key(url: str | URL) -> str | None:
    """``user@host:port/database`` for a server URL with a user; None for SQLite files."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" or not u.username:
        return None
    port = u.port or (5432 if u.get_backend_name() == "postgresql" else "")
    return f"{u.username}@{u.host or 'localhost'}:{port}/{u.database or ''}"


def needs_password(url: str | URL) -> bool:
    """A server URL with a user but without a password (the console should ask)."""
    u = make_url(url)
    return keyring_key(u) is not None and not u.password


def with_password(url: str | URL, password: str) -> str:
    """The URL with ``password`` filled in (for connecting only: never show or log it)."""
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def _keyring_get(key: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, key)
    except Exception as exc:  # no backend, locked keyring, D-Bus missing: ask instead
        log.info("keyring unavailable (%s); the password will be asked for", type(exc).__name__)
        return None


def resolve_db_url(url: str) -> str:
    """Fill a missing password from the keyring when it has one; else the URL unchanged."""
    key = keyring_key(url)
    if key is None or make_url(url).password:
        return url
    password = _keyring_get(key)
    if not password:
        return url
    log.debug("database password for %s taken from the keyring", redact_url(url))
    return with_password(url, password)


def remember_password(url: str, password: str | None = None) -> bool:
    """Store the URL's (or the given) password in the keyring; False when there is no keyring."""
    key = keyring_key(url)
    secret = password if password is not None else make_url(url).password
    if key is None or not secret:
        return False
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, key, str(secret))
    except Exception as exc:
        log.warning("could not store the database password in the keyring (%s)", type(exc).__name__)
        return False
    return True


def forget_password(url: str) -> bool:
    key = keyring_key(url)
    if key is None:
        return False
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, key)
    except Exception as exc:
        log.info("no keyring entry removed (%s)", type(exc).__name__)
        return False
    return True


def scrub(text: str, url: str | URL) -> str:
    """``text`` (an error message) with the URL's password and the full URL taken out."""
    u = make_url(url)
    if u.password:
        full = u.render_as_string(hide_password=False)
        text = text.replace(full, redact_url(u)).replace(str(u.password), "***")
    return text
