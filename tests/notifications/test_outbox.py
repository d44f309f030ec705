"""The outbox: delivered by SMTP and to a log file, retried with backoff, never sent twice."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from support.timer_workers import wait_until

from db.engine import Database
from db.models import OutboxMessage
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import ConcurrentChange, PermissionDenied, ValidationError
from dispatch_console.kernel.policies import PolicyError
from dispatch_console.notifications import outbox
from dispatch_console.notifications import service as notifications
from dispatch_console.notifications.outbox import NotifySettings, Recipient, parse_settings
from dispatch_console.notifications.senders import LogFileSender, OutgoingMessage, SmtpSender, build_senders


def _settings(**overrides: Any) -> NotifySettings:
    values: dict[str, Any] = {
        "max_attempts": 5, "retry_base": timedelta(seconds=0.3), "retry_max": timedelta(seconds=2),
        "senders": {"mail": {"type": "smtp", "host": "127.0.0.1", "from": "zhiban@example.org"},
                    "log": {"type": "log_file"}},
        "recipients": {"shift_leader": (Recipient("mail", "leader@example.org"),),
                       "director": (Recipient("log", "主任"), Recipient("mail", "director@example.org",
                                                                       min_level="critical"))},
    }
    return NotifySettings(**{**values, **overrides})


@pytest.fixture
def settings() -> Iterator[NotifySettings]:
    current = _settings()
    outbox.configure(settings=current)
    yield current
    outbox.configure()


def _notify(db: Database, role: str = "shift_leader", level: str = "warning", is_drill: bool = False,
            title: str = "TY-20261127-0001 超时未受理") -> int:
    with db.write() as s:
        return notifications.notify(s, kind="escalation", title=title, body="厂房冒烟，请立即处置",
                                    level=level, target_role=role, is_drill=is_drill).id


def _messages(db: Database) -> list[OutboxMessage]:
    with db.read() as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def counts(sent: int = 0, retry: int = 0, failed: int = 0, unknown: int = 0, fallback: int = 0) -> dict[str, int]:
    return {"sent": sent, "retry": retry, "failed": failed, "unknown": unknown, "fallback": fallback}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"


def _smtp_server(port: int, inbox: Inbox) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def test_roles_get_their_recipients_and_drills_none(db: Database, settings: NotifySettings) -> None:
    _notify(db, "shift_leader")
    _notify(db, "director", level="warning")
    _notify(db, "director", level="critical")
    _notify(db, "shift_leader", is_drill=True)
    _notify(db, "duty_officer")
    assert [(m.channel, m.recipient) for m in _messages(db)] == [
        ("mail", "leader@example.org"), ("log", "主任"), ("log", "主任"), ("mail", "director@example.org")]


def test_smtp_delivers_and_log_file_writes_lines(db: Database, settings: NotifySettings, tmp_path: Path) -> None:
    port, inbox = _free_port(), Inbox()
    server = _smtp_server(port, inbox)
    try:
        _notify(db, "shift_leader")
        _notify(db, "director")
        senders = {"mail": SmtpSender("127.0.0.1", port, "zhiban@example.org"),
                   "log": LogFileSender(tmp_path / "logs" / "out.jsonl")}
        assert outbox.drain(db, senders, "agent-1") == counts(sent=2, retry=0)
    finally:
        server.stop()
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "leader@example.org"
    assert str(make_header(decode_header(mail["Subject"]))) == "TY-20261127-0001 超时未受理"
    assert "厂房冒烟" in mail.get_payload(decode=True).decode("utf-8")
    lines = [json.loads(x) for x in (tmp_path / "logs" / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(x["to"], x["subject"]) for x in lines] == [("主任", "TY-20261127-0001 超时未受理")]
    assert {m.status for m in _messages(db)} == {"sent"}
    assert outbox.drain(db, senders, "agent-2") == counts(sent=0, retry=0)


def test_server_down_is_retried_with_backoff_then_delivered_once(db: Database, settings: NotifySettings) -> None:
    port, inbox = _free_port(), Inbox()
    senders = {"mail": SmtpSender("127.0.0.1", port, "zhiban@example.org", timeout=5)}
    _notify(db, "shift_leader")
    assert outbox.drain(db, senders, "agent-1") == counts(sent=0, retry=1)
    (msg,) = _messages(db)
    assert msg.status == "pending" and msg.attempts == 1 and msg.last_error
    assert msg.next_attempt_at > msg.created_at
    assert outbox.drain(db, senders, "agent-1") == counts(sent=0, retry=0)  # still backing off
    server = _smtp_server(port, inbox)
    try:
        assert wait_until(lambda: outbox.drain(db, senders, "agent-1")["sent"] == 1, 20)
    finally:
        server.stop()
    (msg,) = _messages(db)
    assert msg.status == "sent" and msg.attempts == 2 and len(inbox.messages) == 1


def test_backoff_doubles_up_to_the_cap() -> None:
    s = _settings(retry_base=timedelta(seconds=30), retry_max=timedelta(minutes=2))
    assert [outbox.backoff(n, s).total_seconds() for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 120, 120]


class Flaky:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: OutgoingMessage) -> None:
        self.calls += 1
        raise ConnectionRefusedError("relay down")


def test_after_max_attempts_the_message_is_failed_but_kept(db: Database) -> None:
    outbox.configure(settings=_settings(max_attempts=3, retry_base=timedelta(0), retry_max=timedelta(0)))
    try:
        _notify(db, "shift_leader")
        flaky = Flaky()
        totals = [outbox.drain(db, {"mail": flaky}, "agent-1") for _ in range(4)]
    finally:
        outbox.configure()
    assert [t["retry"] for t in totals] == [1, 1, 0, 0] and totals[2]["failed"] == 1
    assert flaky.calls == 3
    (row,) = outbox.list_messages(db, status="failed")
    assert row.attempts == 3 and "relay down" in (row.last_error or "")


class Recording:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        time.sleep(0.01)
        with self.lock:
            self.sent.append(message.id)


def test_two_agents_draining_together_send_each_message_once(db: Database, settings: NotifySettings) -> None:
    for i in range(20):
        _notify(db, "shift_leader", title=f"消息 {i}")
    sender = Recording()
    counts: list[dict[str, int]] = []
    workers = [threading.Thread(target=lambda n=n: counts.append(
        outbox.drain(db, {"mail": sender}, f"agent-{n}"))) for n in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert sorted(sender.sent) == sorted(m.id for m in _messages(db))
    assert sum(c["sent"] for c in counts) == 20


def test_notify_toml_is_validated_with_file_and_key() -> None:
    good = parse_settings({"senders": {"log": {"type": "log_file"}},
                           "roles": {"director": {"recipients": [{"sender": "log", "to": "主任"}]}}}, "notify.toml")
    assert good.recipients["director"] == (Recipient("log", "主任"),)
    for data, key in [
        ({"senders": {"x": {"type": "pigeon"}}}, "senders.x.type"),
        ({"senders": {"m": {"type": "smtp", "from": "a@b"}}}, "senders.m.host"),
        ({"roles": {"director": {"recipients": [{"sender": "nope", "to": "x"}]}}},
         "roles.director.recipients[0].sender"),
        ({"outbox": {"retry_base": "soon"}}, "outbox.retry_base"),
    ]:
        with pytest.raises(PolicyError) as err:
            parse_settings(data, "notify.toml")
        assert "notify.toml" in str(err.value) and key in str(err.value)


def test_acknowledge_a_notification_once(db: Database, settings: NotifySettings,
                                         make_actor: Callable[..., Actor]) -> None:
    officer, other, observer = make_actor("duty_officer"), make_actor("shift_leader"), make_actor("observer")
    note_id = _notify(db, "shift_leader")
    (row,) = notifications.list_notifications(db, unacknowledged_only=True)
    with pytest.raises(PermissionDenied):
        notifications.acknowledge(db, observer, note_id, row.version)
    done = notifications.acknowledge(db, officer, note_id, row.version)
    assert done.acknowledged_at is not None and done.acknowledged_by == officer.display_name
    with pytest.raises(ValidationError):
        notifications.acknowledge(db, other, note_id, done.version)
    with pytest.raises((ConcurrentChange, ValidationError)):
        notifications.acknowledge(db, other, note_id, row.version)
    assert notifications.list_notifications(db, unacknowledged_only=True) == []


# --- Mail that cannot be intercepted: STARTTLS and SMTPS with the server's certificate verified ---


def _make_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA made here, and a certificate it signs for 127.0.0.1 (PEM files)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test duty-room CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


class TlsInbox(Inbox):
    def __init__(self) -> None:
        super().__init__()
        self.logins: list[tuple[str, bool]] = []

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.logins.append((auth_data.login.decode(), encrypted))
        return AuthResult(success=auth_data.password == b"s3cret-mail")


@pytest.fixture
def certificates(tmp_path: Path) -> tuple[Path, Path, Path]:
    return _make_ca_and_server_cert(tmp_path)


def _tls_server(inbox: TlsInbox, cert: Path, key: Path, *, implicit: bool) -> tuple[Controller, int]:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = _free_port()
    kwargs: dict[str, Any] = {"authenticator": inbox.authenticate, "auth_require_tls": True}
    if implicit:  # the whole connection is TLS (aiosmtpd cannot tell, so it must not ask for STARTTLS)
        kwargs.update(ssl_context=context, auth_require_tls=False)
    else:
        kwargs.update(tls_context=context, require_starttls=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


def _mail(n: int = 1) -> OutgoingMessage:
    return OutgoingMessage(n, "mail", "leader@example.org", "TY-20261203-0001 超时未受理", "请立即处置", None, 1)


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls-587", "smtps-465"])
def test_smtp_verifies_the_servers_certificate(certificates: tuple[Path, Path, Path], implicit: bool) -> None:
    import ssl

    ca_file, cert, key = certificates
    inbox = TlsInbox()
    server, port = _tls_server(inbox, cert, key, implicit=implicit)
    tls = "ssl" if implicit else "starttls"
    try:
        trusted = SmtpSender("127.0.0.1", port, "zhiban@example.org", tls=tls, ca_file=str(ca_file),
                             username="zhiban", password="s3cret-mail", timeout=10)
        trusted.send(_mail())
        # the same server, but the sender does not know its CA: refused before any word of the mail
        stranger = SmtpSender("127.0.0.1", port, "zhiban@example.org", tls=tls,
                              username="zhiban", password="s3cret-mail", timeout=10)
        with pytest.raises(ssl.SSLCertVerificationError):
            stranger.send(_mail(2))
    finally:
        server.stop()
    assert len(inbox.messages) == 1 and inbox.messages[0]["X-Dispatch-Outbox-Id"] == "1"
    assert inbox.logins == [("zhiban", True)]  # the one login was over TLS


def test_smtp_settings_choose_smtps_and_the_ca(certificates: tuple[Path, Path, Path], tmp_path: Path) -> None:
    ca_file, _cert, _key = certificates
    cfg = {"type": "smtp", "host": "mail.example.org", "from": "zhiban@example.org", "tls": "ssl",
           "ca_file": str(ca_file), "username": "zhiban", "password_env": "NO_SUCH_VARIABLE_SET"}
    sender = build_senders({"mail": cfg}, tmp_path)["mail"]
    assert isinstance(sender, SmtpSender)
    assert (sender.tls, sender.port) == ("ssl", 465)
    context = sender.tls_context()
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname
    legacy = build_senders({"mail": {"type": "smtp", "host": "h", "from": "f", "starttls": True}}, tmp_path)
    assert legacy["mail"].tls == "starttls"  # type: ignore[attr-defined]


def test_smtp_never_logs_in_without_tls() -> None:
    sender = SmtpSender("127.0.0.1", _free_port(), "zhiban@example.org", username="zhiban", password="pw")
    port, inbox = sender.port, Inbox()
    server = _smtp_server(port, inbox)
    try:
        with pytest.raises(PermissionError):
            sender.send(_mail())
    finally:
        server.stop()
    assert inbox.messages == []
