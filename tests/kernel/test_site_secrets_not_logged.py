"""No SMTP or channel secret in a log line or a message: commands run with -v on a config folder
whose notify.toml names secrets kept in secrets.toml, senders built and tried against servers that
refuse, broken site files read — and everything captured is grepped for the secrets."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from db.engine import Database
from dispatch_console.channels.base import Audience, SendContext
from dispatch_console.kernel.config import Resources
from dispatch_console.notifications import outbox
from dispatch_console.notifications.senders import OutgoingMessage, lookup_secret
from station.launcher import main as cli_main

ADMIN_PASSWORD = "Adm1n-s1te-Ω"
SMTP_PASSWORD = "smtp-s3cret-Ж42"
WECOM_KEY = "wecom-k3y-7f3a9"
DING_TOKEN = "d1ng-t0ken-c0ffee"
DING_SIGN = "SECd1ngS1gn0000"
ALIYUN_SECRET = "al1yun-s3cret-Ψ"
SECRETS = (ADMIN_PASSWORD, SMTP_PASSWORD, WECOM_KEY, DING_TOKEN, DING_SIGN, ALIYUN_SECRET)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Path:
    port = _closed_port()
    folder = tmp_path / "site"
    (folder / "policies").mkdir(parents=True)
    (folder / "policies" / "notify.toml").write_text(f"""
[senders.log]
type = "log_file"
path = "{tmp_path / 'notifications.jsonl'}"

[senders.mail]
type = "smtp"
host = "127.0.0.1"
port = {port}
from = "zhiban@example.org"
tls = "none"
username = "zhiban"
secrets = {{ password = "smtp-duty" }}

[senders.wecom_duty]
type = "wecom"
base_url = "http://127.0.0.1:{port}"
secrets = {{ key = "wecom-duty" }}

[senders.dingtalk_duty]
type = "dingtalk"
base_url = "http://127.0.0.1:{port}"
secrets = {{ access_token = "dingtalk-token", sign = "dingtalk-sign" }}

[senders.sms_leaders]
type = "sms_aliyun"
base_url = "http://127.0.0.1:{port}"
access_key_id = "LTAI0000"
sign_name = "桃源街道"
template_code = "SMS_000000"
template_params = {{ number = "{{number}}", title = "{{title}}" }}
people = ["shift_leader"]
secrets = {{ access_key_secret = "aliyun-sms" }}

[roles.shift_leader]
recipients = [{{ sender = "mail", to = "leader@example.org" }}, {{ sender = "wecom_duty", to = "值班群" }}]
""", encoding="utf-8")
    (folder / "secrets.toml").write_text(f"""[channels]
smtp-duty = "{SMTP_PASSWORD}"
wecom-duty = "{WECOM_KEY}"
dingtalk-token = "{DING_TOKEN}"
dingtalk-sign = "{DING_SIGN}"
aliyun-sms = "{ALIYUN_SECRET}"
""", encoding="utf-8")
    return folder


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog
    logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)


def _captured(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], *more: str) -> str:
    out = capsys.readouterr()
    lines = [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    lines += [r.exc_text or "" for r in caplog.records]
    return "\n".join([*lines, out.out, out.err, *more])


def test_commands_and_senders_keep_smtp_and_channel_secrets_out_of_logs(
        db: Database, site: Path, everything_logged: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = db.url.render_as_string(hide_password=False)
    base = ["-v", "--db", url, "--config-dir", str(site)]
    monkeypatch.setattr("sys.stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    assert cli_main([*base, "users", "add", "root", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    admin = [*base, "--user", "root", "--password", ADMIN_PASSWORD]
    lines = tmp_path / "in.jsonl"
    lines.write_text(json.dumps({"category": "fire", "severity": 1, "source": "walk_in",
                                 "description": "仓库起火"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert cli_main([*admin, "intake", str(lines)]) == 0
    assert cli_main([*admin, "incidents", "list"]) == 0
    assert cli_main([*admin, "checklists", "validate"]) in (0, 1)

    # the senders as the agent builds them (every secret fetched), each tried against a closed port
    outbox.configure(Resources(site))
    try:
        senders = outbox.senders_from_settings()
        assert {"mail", "wecom_duty", "dingtalk_duty", "sms_leaders"} <= set(senders)
        message = OutgoingMessage(1, "x", "leader@example.org", "火警", "仓库起火", None, 1)
        context = SendContext(now=datetime(2026, 12, 3, tzinfo=UTC), audience=Audience(datetime(2026, 12, 3,
                                                                                                 tzinfo=UTC)))
        answers: list[str] = []
        for sender in senders.values():
            try:
                if hasattr(sender, "deliver"):
                    answers += [repr(d) for d in sender.deliver(message, context)]
                else:
                    sender.send(message)
            except Exception as exc:  # what the outbox would log and keep as the attempt's error
                logging.getLogger("test.outbox").warning("send failed: %s", exc, exc_info=True)
                answers.append(repr(exc))
    finally:
        outbox.configure()
    assert answers  # every sender was tried and answered

    # broken site files: the secret sits on the broken line, the error names the line only
    (site / "secrets.toml").write_text(f'[channels]\nsmtp-duty = "{SMTP_PASSWORD}\n', encoding="utf-8")
    assert lookup_secret("smtp-duty", Resources(site)) is None
    (site / "policies" / "notify.toml").write_text(f'[senders.mail]\npassword = {SMTP_PASSWORD}\n',
                                                   encoding="utf-8")
    broken = Resources(site)
    broken.toml("policies/notify.toml")  # disabled, the shipped file is used
    assert broken.problems

    texts = _captured(everything_logged, capsys, *answers, *(str(p) for p in broken.problems))
    assert any(r.name.startswith("sqlalchemy.engine") for r in everything_logged.records)
    for secret in SECRETS:
        assert secret not in texts, f"a secret reached the logs or a message: {secret[:6]}…"
