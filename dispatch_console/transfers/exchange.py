"""Where the packages travel between two duty rooms: a shared folder, or a PostgreSQL database both can reach.

One small interface (:class:`Exchange`): ``put`` a signed package for a peer room, ``take`` the
packages waiting for this room, each handed to a function that stores it in this room's database.
The signing, the schema and the HMAC check are the service's and the same for both kinds; an
exchange only carries bytes.

- :class:`FolderExchange`: ``<folder>/<room>/inbox`` (tmp + rename, so a reader never sees half
  a file) and a copy in ``<folder>/<sender>/outbox``; a handled file is moved to ``taken`` or
  ``refused``.
- :class:`PostgresExchange`: the table ``dc_transfer_exchange`` of another database. A package is
  one row (unique per sending room and package identifier, so a delivery repeated after a lost
  answer is one row). Taking is one transaction on the exchange per row: ``SELECT … FOR UPDATE
  SKIP LOCKED`` on the oldest untaken row for this room, store it here, mark it taken — so however
  many workstations of the room poll, each row is held by one of them; should the mark be lost
  after our commit, the row comes again and this room's own unique key finds it taken already.
  The body is read only when it is within the package limit (``octet_length`` first). The URL is in
  ``policies/transfers.toml`` without a password; the password is a secret (keyring, then
  ``secrets.toml``) and is never logged: errors name the host and database only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from dispatch_console.kernel.i18n import _
from dispatch_console.transfers import package as pkg
from dispatch_console.transfers.package import PackageRefused

if TYPE_CHECKING:
    import psycopg  # loaded by the PostgreSQL exchange's methods only: a folder exchange never needs it

log = logging.getLogger(__name__)

MAX_PER_POLL = 500
TABLE = "dc_transfer_exchange"
CONNECT_TIMEOUT_S = 5

# (raw bytes, a name for messages, why it could not be read or None) -> the outcome ("taken", "duplicate",
# "refused"); raising leaves the package where it is for the next poll
Handler = Callable[[bytes, str, PackageRefused | None], str]

CREATE_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    package_id varchar(64) NOT NULL,
    sending_room varchar(64) NOT NULL,
    receiving_room varchar(64) NOT NULL,
    body bytea NOT NULL,
    put_at timestamptz NOT NULL DEFAULT now(),
    taken_at timestamptz,
    taken_by varchar(100),
    outcome varchar(16),
    UNIQUE (sending_room, package_id)
);
CREATE INDEX IF NOT EXISTS {TABLE}_waiting ON {TABLE} (receiving_room, id) WHERE taken_at IS NULL
"""


class ExchangeUnavailable(Exception):
    """The exchange cannot be reached now (one line, never a password): the packages wait."""


class Exchange(Protocol):
    def describe(self) -> str:
        """Where it is, for people (no password)."""

    def put(self, sender: str, peer: str, ident: str, data: bytes) -> None:
        """Leave a signed package for ``peer`` (ExchangeUnavailable when it cannot be reached)."""

    def take(self, room: str, station: str, handle: Handler) -> int:
        """Hand every package waiting for ``room`` to ``handle``, each once; returns how many."""


@dataclass(frozen=True)
class FolderExchange:
    root: Path

    def describe(self) -> str:
        return str(self.root)

    def put(self, sender: str, peer: str, ident: str, data: bytes) -> None:
        try:
            pkg.write_atomic(self.root / peer / "inbox", f"{ident}.json", data)
            pkg.write_atomic(self.root / sender / "outbox", f"{ident}.json", data)
        except OSError as exc:
            raise ExchangeUnavailable(str(exc.strerror or exc)) from None

    def _waiting(self, room: str) -> list[Path]:
        folder = self.root / room / "inbox"
        if not folder.is_dir():
            return []
        found = [p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith(".") and p.is_file()]
        found.sort(key=lambda p: (p.stat().st_mtime, p.name))
        return found[:MAX_PER_POLL]

    @staticmethod
    def _file_away(path: Path, sub: str) -> None:
        """Move a handled file out of the way; another workstation may have done it."""
        try:
            (path.parent / sub).mkdir(exist_ok=True)
            path.replace(path.parent / sub / path.name)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("transfer file %s could not be moved to %s: %s", path, sub, exc.strerror or exc)

    def take(self, room: str, station: str, handle: Handler) -> int:
        done = 0
        for path in self._waiting(room):
            try:
                raw, name = pkg.read(path)
                problem = None
            except PackageRefused as exc:
                if not path.exists():
                    continue  # another workstation filed it away meanwhile
                raw, name, problem = exc.reason.encode("utf-8") + path.name.encode("utf-8"), path.name, exc
            outcome = handle(raw, name, problem)
            self._file_away(path, "refused" if outcome == "refused" else "taken")
            done += 1
        return done


@dataclass(frozen=True)
class PostgresExchange:
    url: str  # postgresql://user@host:port/database, no password
    password: str | None

    def describe(self) -> str:
        return where(self.url)

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        try:
            return psycopg.connect(self.url, password=self.password, connect_timeout=CONNECT_TIMEOUT_S,
                                   application_name="dispatch-console transfers")
        except psycopg.Error as exc:
            raise ExchangeUnavailable(_("the transfer exchange {where} cannot be reached: {problem}").format(
                where=self.describe(), problem=_first_line(exc))) from None

    def setup(self) -> None:
        """Create the exchange's table if it is not there (``transfer exchange-setup``)."""
        import psycopg

        conn = self._connect()
        with conn:
            try:
                for statement in CREATE_SQL.split(";"):
                    conn.execute(statement.encode("utf-8"))
            except psycopg.Error as exc:
                raise ExchangeUnavailable(_first_line(exc)) from None

    def put(self, sender: str, peer: str, ident: str, data: bytes) -> None:
        import psycopg

        conn = self._connect()
        with conn:
            try:
                conn.execute(f"INSERT INTO {TABLE} (package_id, sending_room, receiving_room, body) "
                             "VALUES (%s, %s, %s, %s) ON CONFLICT (sending_room, package_id) DO NOTHING",
                             (ident, sender, peer, data))
            except psycopg.Error as exc:
                raise ExchangeUnavailable(_first_line(exc)) from None

    def take(self, room: str, station: str, handle: Handler) -> int:
        import psycopg

        conn = self._connect()
        done = 0
        with conn:
            try:
                for _i in range(MAX_PER_POLL):
                    with conn.transaction():
                        row = conn.execute(
                            f"SELECT id, package_id, CASE WHEN octet_length(body) <= %s THEN body END, "
                            f"octet_length(body) FROM {TABLE} WHERE receiving_room = %s AND taken_at IS NULL "
                            "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED", (pkg.MAX_BYTES, room)).fetchone()
                        if row is None:
                            break
                        row_id, ident, body, size = row
                        name = f"{ident}.json"
                        if body is None:
                            problem: PackageRefused | None = PackageRefused(_(
                                "the package is {size} bytes, more than the limit of {limit}").format(
                                size=size, limit=pkg.MAX_BYTES))
                            raw = f"{room}:{ident}:{size}".encode()
                        else:
                            problem, raw = None, bytes(body)
                        outcome = handle(raw, name, problem)
                        conn.execute(f"UPDATE {TABLE} SET taken_at = now(), taken_by = %s, outcome = %s "
                                     "WHERE id = %s", (station[:100], outcome[:16], row_id))
                    done += 1
            except psycopg.Error as exc:
                raise ExchangeUnavailable(_first_line(exc)) from None
        return done


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def where(url: str) -> str:
    """host:port/database of a PostgreSQL URL, for messages (never a user's password)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


def check_url(url: str, source: str, key: str) -> str:
    """The exchange URL as written in the policy: postgresql://, and no password in it."""
    from dispatch_console.kernel.policies import PolicyError

    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key=key, problem=_("an exchange is postgresql://user@host:port/database")))
    if parts.password:
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key=key, problem=_("no password in the URL: name a secret with exchange_password")))
    return url

