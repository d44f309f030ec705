"""Ways a notification leaves the console: a log file (the default) and e-mail over SMTP.

SMTP mail cannot be read or altered on the way: ``tls = "starttls"`` (port 587) upgrades the
connection and ``tls = "ssl"`` (SMTPS, port 465) starts encrypted; either way the server's
certificate and name are verified against the system's CAs (or ``ca_file``, a site's own CA).
A password is only sent over such a connection. ``tls = "none"`` is for a relay on the same host.
The group robots and SMS gateways are in ``dispatch_console.channels``.

A sender has one method, ``send(message)``, which raises on failure; the outbox retries. Senders
are named and configured in ``resources/policies/notify.toml`` (``[senders.NAME]`` with a
``type``); :data:`SENDER_TYPES` is the explicit list of types.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.config import Resources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    notification_id: int | None
    attempt: int


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class LogFileSender:
    """Appends one JSON line per message (a trail a site can read, rotate or ship elsewhere)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        line = json.dumps({
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "id": message.id, "channel": message.channel, "to": message.recipient,
            "subject": message.subject, "body": message.body, "notification_id": message.notification_id,
        }, ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class SmtpSender:
    """E-mail through an SMTP relay: STARTTLS or SMTPS with the certificate verified, login when configured."""

    TLS_MODES = ("starttls", "ssl", "none")

    def __init__(self, host: str, port: int, from_addr: str, starttls: bool = False,
                 username: str | None = None, password: str | None = None, timeout: float = 30.0,
                 tls: str | None = None, ca_file: str | None = None) -> None:
        self.host = host
        self.port = port
        self.from_addr = from_addr
        self.tls = tls or ("starttls" if starttls else "none")
        if self.tls not in self.TLS_MODES:
            raise ValueError(f"unknown SMTP tls mode {self.tls!r}")
        self.starttls = self.tls == "starttls"
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ca_file = ca_file

    def tls_context(self) -> ssl.SSLContext:
        """Verifies the server's certificate chain and host name (the system's CAs, or ``ca_file``)."""
        return ssl.create_default_context(cafile=self.ca_file)

    def build(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.from_addr
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        # A stable id per outbox row lets a mail system spot a re-sent duplicate.
        mail["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}")
        mail["X-Dispatch-Outbox-Id"] = str(message.id)
        mail.set_content(message.body)
        return mail

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, message: OutgoingMessage) -> None:
        with self._connect() as smtp:
            if self.tls == "starttls":
                smtp.starttls(context=self.tls_context())
            if self.username:
                if self.tls == "none":
                    raise PermissionError("SMTP login refused without TLS: the password would travel in clear")
                smtp.login(self.username, self.password or "")
            smtp.send_message(self.build(message))


def _log_file(config: Mapping[str, Any], base_dir: Path) -> Sender:
    path = Path(str(config.get("path") or "notifications.jsonl"))
    return LogFileSender(path if path.is_absolute() else base_dir / path)


def _smtp(config: Mapping[str, Any], base_dir: Path) -> Sender:
    password = config.get("password")
    if config.get("password_env"):
        password = os.environ.get(str(config["password_env"]), password)
    ref = (config.get("secrets") or {}).get("password")
    if ref:
        password = lookup_secret(str(ref)) or password
    tls = config.get("tls")
    return SmtpSender(
        host=str(config["host"]), port=int(config.get("port", 465 if tls == "ssl" else 25)),
        from_addr=str(config["from"]), starttls=bool(config.get("starttls", False)),
        username=config.get("username") or None, password=password, timeout=float(config.get("timeout", 30)),
        tls=str(tls) if tls else None, ca_file=config.get("ca_file") or None,
    )


SENDER_TYPES: dict[str, Callable[[Mapping[str, Any], Path], Sender]] = {
    "log_file": _log_file,
    "smtp": _smtp,
}

REQUIRED_KEYS: dict[str, tuple[str, ...]] = {"log_file": (), "smtp": ("host", "from")}


def build_senders(configs: Mapping[str, Mapping[str, Any]], base_dir: Path) -> dict[str, Sender]:
    """Senders by name from their (validated) configuration; relative paths under ``base_dir``."""
    return {name: SENDER_TYPES[str(cfg["type"])](cfg, base_dir) for name, cfg in configs.items()}


# ---------------------------------------------------------------------------------------------
# Secrets of senders (SMTP passwords, robot keys, gateway keys): keyring, then the config folder.
#
# notify.toml never holds a secret, only its name (``secrets = { key = "wecom-duty" }``). The
# value is looked up in the system keyring (service ``dispatch-console``, key ``channel:NAME``)
# and then in ``secrets.toml`` in the site's config folder (``[channels]`` table, ``NAME =
# "value"``), a file IT keeps readable by the console's account only. Values are never logged.

SECRETS_FILE = "secrets.toml"


def secret_keyring_key(name: str) -> str:
    return f"channel:{name}"


def _secret_from_keyring(name: str) -> str | None:
    try:
        import keyring

        from dispatch_console.kernel.secrets import KEYRING_SERVICE

        return keyring.get_password(KEYRING_SERVICE, secret_keyring_key(name))
    except Exception as exc:  # no backend on a headless server: the config folder is asked next
        log.debug("keyring unavailable for sender secrets (%s)", type(exc).__name__)
        return None


def _secret_from_file(name: str, config_dir: Path | None) -> str | None:
    if config_dir is None:
        return None
    path = config_dir / SECRETS_FILE
    if not path.is_file():
        return None
    try:
        table = bounded_input.load_toml(path, bounded_input.SITE_FILE_LIMITS).get("channels", {})
    except bounded_input.InputError as exc:  # the position only: the reason might quote a secret
        log.warning("%s could not be read (line %s)", path, exc.position.line or "-")
        return None
    value = table.get(name) if isinstance(table, dict) else None
    return str(value) if value else None


def lookup_secret(name: str, resources: Resources | None = None) -> str | None:
    """The secret called ``name``, or None when neither the keyring nor secrets.toml has it."""
    value = _secret_from_keyring(name)
    if value:
        return value
    res = resources or Resources.from_env()
    return _secret_from_file(name, res.config_dir)
