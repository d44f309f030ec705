""""Test connection" for the settings dialog: reach the database, say what its schema is.

The password is passed separately and never becomes part of a URL that is shown or stored; the
caller keeps it in the system keyring (``secrets.remember_password``) once the test succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url

from db.engine import Database, normalise_url
from db.migrate import schema_status
from dispatch_console.kernel import secrets, transient
from dispatch_console.kernel.i18n import _


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    text: str           # one line for the dialog (never the password)
    url: str            # the URL without its password: what the settings store
    password: str | None = None  # the password that worked (for the keyring), if one was typed or in the URL


def test_connection(url: str, password: str | None = None) -> ConnectionResult:
    """Connect once (with ``password``, else the keyring's), and report the schema's state."""
    try:
        normal = normalise_url(url.strip())
        given = make_url(normal) if isinstance(normal, str) else normal  # (str() of a URL hides its password)
        password = password or given.password  # a password typed into the URL goes to the keyring too
        plain = given._replace(password=None).render_as_string(hide_password=False)  # set(password=None) keeps it
        target = secrets.with_password(plain, str(password)) if password else secrets.resolve_db_url(plain)
        db = Database(target)
    except Exception as exc:  # a URL that is not one
        return ConnectionResult(False, _("Not a database URL: {error}").format(error=type(exc).__name__), "")
    try:
        db.probe()
        status = schema_status(db)
    except Exception as exc:
        return ConnectionResult(False, secrets.scrub(transient.describe(exc, db.url), db.url), plain)
    finally:
        db.dispose()
    if status.ok:
        text = _("Connected: schema {revision}, up to date.").format(revision=status.current)
    elif status.state == "empty":
        text = _("Connected, but the database has no schema yet: run db upgrade.")
    else:
        text = _("Connected, but the schema is {current} and this version needs {head}.").format(
            current=status.current, head=status.head)
    return ConnectionResult(status.ok, text, plain, str(password) if password else None)
