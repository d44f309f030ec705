"""``policies/transfers.toml``: who we are, whom we exchange with, where, and how long a receipt may take.

A peer room is reached through the shared folder (``exchange``) or, when its table names
``exchange_url``, through a PostgreSQL database both rooms can reach (``exchange.py``); the
password of that URL is a secret named by ``exchange_password``, never in the file.

The shared keys are never in the policy: ``key`` names a secret that is looked up in the keyring
and then in the config folder's ``secrets.toml`` (the outbox's lookup, shared with the channels).
A key is never logged nor shown; only whether it is set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.policies import PolicyError, policy_duration
from dispatch_console.notifications.senders import lookup_secret
from dispatch_console.transfers.exchange import Exchange, FolderExchange, PostgresExchange, check_url

POLICY_FILE = "policies/transfers.toml"
ROOM_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class Room:
    code: str
    name: str
    key_name: str
    exchange_url: str | None = None       # postgresql://user@host:port/database (no password)
    exchange_password: str | None = None  # the secret's name


@dataclass(frozen=True)
class TransferConfig:
    room: str
    room_name: str
    exchange: Path | None
    receipt_deadline: timedelta
    poll_every: timedelta
    notify_role: str
    rooms: dict[str, Room]
    resources: Resources

    def peer(self, code: str) -> Room:
        room = self.rooms.get(code)
        if room is None:
            known = "、".join(sorted(self.rooms)) or "-"
            raise ValidationError(_("No duty room {room} in policies/transfers.toml (known: {known}).").format(
                room=code, known=known), "room")
        return room

    def key(self, code: str) -> bytes:
        """The key shared with room ``code`` (ValidationError when it is not set or too short)."""
        room = self.peer(code)
        value = lookup_secret(room.key_name, self.resources)
        if not value or len(value.encode("utf-8")) < MIN_KEY_BYTES:
            raise ValidationError(_("The key shared with {room} ({name}) is not set, or shorter than {n} bytes: "
                                    "put it in the keyring or in secrets.toml of the config folder.").format(
                room=code, name=room.key_name, n=MIN_KEY_BYTES), "key")
        return value.encode("utf-8")

    def exchange_for(self, code: str) -> Exchange:
        """How packages reach room ``code``: its PostgreSQL exchange, else the shared folder."""
        room = self.peer(code)
        if room.exchange_url:
            password = lookup_secret(room.exchange_password, self.resources) if room.exchange_password else None
            return PostgresExchange(room.exchange_url, password)
        if self.exchange is None:
            raise ValidationError(_("No exchange folder is set (policies/transfers.toml, exchange)."), "exchange")
        return FolderExchange(self.exchange)

    def exchanges(self) -> list[Exchange]:
        """Every exchange this room reads its packages from (each once)."""
        found: dict[str, Exchange] = {}
        if self.exchange is not None:
            found[f"folder:{self.exchange}"] = FolderExchange(self.exchange)
        for code, room in sorted(self.rooms.items()):
            if room.exchange_url and f"pg:{room.exchange_url}" not in found:
                found[f"pg:{room.exchange_url}"] = self.exchange_for(code)
        return list(found.values())

    def inbox(self, code: str | None = None) -> Path:
        return self._folder(code or self.room, "inbox")

    def outbox(self, code: str | None = None) -> Path:
        return self._folder(code or self.room, "outbox")

    def _folder(self, code: str, name: str) -> Path:
        if self.exchange is None:
            raise ValidationError(_("No exchange folder is set (policies/transfers.toml, exchange)."), "exchange")
        return self.exchange / code / name


def _text(table: dict[str, Any], key: str, default: str, source: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or len(value) > 500:
        raise PolicyError(_("{file}: {key}: {problem}").format(file=source, key=key, problem=_("not a text")))
    return value


def load(resources: Resources | None = None) -> TransferConfig:
    """The policy of the config folder (or the shipped one); PolicyError names the file and key."""
    res = resources or Resources.from_env()
    data = res.toml(POLICY_FILE)
    source = str(res.path(POLICY_FILE))
    room = _text(data, "room", "", source)
    if not ROOM_CODE.match(room):
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key="room", problem=_("a room code is lower-case letters, digits, - and _")))
    rooms: dict[str, Room] = {}
    table = data.get("rooms", {})
    if not isinstance(table, dict):
        raise PolicyError(_("{file}: {key}: {problem}").format(file=source, key="rooms", problem=_("not a table")))
    for code, entry in table.items():
        where = f"rooms.{code}"
        if not ROOM_CODE.match(code) or code == room or not isinstance(entry, dict):
            raise PolicyError(_("{file}: {key}: {problem}").format(
                file=source, key=where, problem=_("a room code is lower-case letters, digits, - and _")))
        url = _text(entry, "exchange_url", "", source).strip()
        rooms[code] = Room(code, _text(entry, "name", code, source), _text(entry, "key", f"transfer-{code}", source),
                           exchange_url=check_url(url, source, f"{where}.exchange_url") if url else None,
                           exchange_password=_text(entry, "exchange_password", "", source).strip() or None)
    exchange = _text(data, "exchange", "", source).strip()
    return TransferConfig(
        room=room, room_name=_text(data, "room_name", room, source),
        exchange=Path(exchange).expanduser() if exchange else None,
        receipt_deadline=policy_duration(data.get("receipt_deadline", "30m"), source, "receipt_deadline"),
        poll_every=max(policy_duration(data.get("poll_every", "10s"), source, "poll_every"), timedelta(seconds=1)),
        notify_role=_text(data, "notify", "shift_leader", source), rooms=rooms, resources=res)
