"""Channels against local WeCom, DingTalk, Aliyun and Tencent stand-ins, on both backends.

The clock is the test's: the database clock plus an offset the test moves, given to the outbox
(``drain(clock=…)``) and to the stand-ins, so a minute of rate limit passes without waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from channel_mocks import (
    ALIYUN_ID,
    ALIYUN_SECRET,
    ALL_SECRETS,
    DING_SECRET,
    DING_TOKEN,
    TENCENT_ID,
    TENCENT_KEY,
    WECOM_KEY,
    Provider,
    ProviderServer,
)
from duty_staff import DIRECTOR, LEADER, OFFICER, staff_on_duty
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import (
    ChannelAttempt,
    ChannelState,
    Leave,
    OutboxMessage,
    Person,
)
from dispatch_console.channels import config as channel_config
from dispatch_console.channels import state as channel_state
from dispatch_console.channels.base import cut_utf8, shorten
from dispatch_console.channels.robots import dingtalk_sign
from dispatch_console.notifications import outbox
from dispatch_console.notifications import service as notifications
from dispatch_console.notifications.outbox import NotifySettings, parse_settings

SECRET_VALUES = {"wecom-duty": WECOM_KEY, "ding-token": DING_TOKEN, "ding-sign": DING_SECRET,
                 "aliyun": ALIYUN_SECRET, "tencent": TENCENT_KEY}



class Clock:
    """The database clock moved on by ``offset`` (for the outbox) and the same for the stand-ins."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def db(self, session: Session) -> datetime:
        return db_now(session) + self.offset

    def wall(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


@dataclass
class Rig:
    db: Database
    clock: Clock
    provider: Provider
    server: ProviderServer
    senders: dict[str, Any]
    settings: NotifySettings

    def notify(self, role: str = "shift_leader", title: str = "TY-20261203-0007 厂房冒烟", body: str = "请立即处置",
               level: str = "warning") -> int:
        with self.db.write() as s:
            return notifications.notify(s, kind="escalation", title=title, body=body, level=level,
                                        target_role=role).id

    def drain(self) -> dict[str, int]:
        return outbox.drain(self.db, self.senders, "agent-1", clock=self.clock.db)

    def rows(self) -> list[OutboxMessage]:
        with self.db.read() as s:
            return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())

    def attempts(self) -> list[ChannelAttempt]:
        with self.db.read() as s:
            return list(s.execute(select(ChannelAttempt).order_by(ChannelAttempt.id)).scalars())


def notify_config(url: str, **extra: Any) -> dict[str, Any]:
    senders: dict[str, Any] = {
        "wecom": {"type": "wecom", "base_url": url, "people": ["shift_leader", "duty_officer"],
                  "secrets": {"key": "wecom-duty"}, "down_after": 3},
        "ding": {"type": "dingtalk", "base_url": url, "people": ["shift_leader", "director"],
                 "secrets": {"access_token": "ding-token", "sign": "ding-sign"}},
        "sms": {"type": "sms_aliyun", "base_url": url, "access_key_id": ALIYUN_ID, "sign_name": "桃源街道",
                "template_code": "SMS_1000", "template_params": {"number": "{number}", "title": "{title}"},
                "people": ["shift_leader", "director"], "secrets": {"access_key_secret": "aliyun"}, "timeout": 0.5},
        "sms_tc": {"type": "sms_tencent", "base_url": url, "secret_id": TENCENT_ID, "sdk_app_id": "1400000001",
                   "sign_name": "桃源街道", "template_id": "2000", "template_params": ["{title}", "{time}"],
                   "people": ["shift_leader", "director"], "secrets": {"secret_key": "tencent"}, "timeout": 0.5},
    }
    for name, changes in extra.pop("senders", {}).items():
        senders[name] = {**senders[name], **changes}
    return {"outbox": {"max_attempts": 5, "retry_base": "30s", "retry_max": "5m", "lease": "5m"},
            "senders": senders, "roles": extra.pop("roles", {})}


@pytest.fixture
def rig_factory(db: Database) -> Iterator[Any]:
    made: list[ProviderServer] = []

    def make(roles: dict[str, Any], **extra: Any) -> Rig:
        clock = Clock()
        provider = Provider(clock=clock.wall)
        server = ProviderServer(provider)
        made.append(server)
        current = parse_settings(notify_config(server.url, roles=roles, **extra), "notify.toml")
        outbox.configure(settings=current)
        senders = {name: channel_config.build(name, cfg, lookup=SECRET_VALUES.get)
                   for name, cfg in current.senders.items()}
        staff_on_duty(db)
        return Rig(db, clock, provider, server, senders, current)

    yield make
    outbox.configure()
    for server in made:
        server.stop()


def one(role: str, sender: str, to: str = "值班群", **kw: Any) -> dict[str, Any]:
    return {role: {"recipients": [{"sender": sender, "to": to, **kw}]}}


def test_signed_dingtalk_request_verifies_and_mentions_who_is_on_duty(rig_factory: Any) -> None:
    rig = rig_factory(one("shift_leader", "ding"))
    rig.notify()
    assert rig.drain()["sent"] == 1
    (got,) = rig.provider.delivered("dingtalk")
    assert got.payload["at"]["atMobiles"] == [LEADER, DIRECTOR]  # the officer on leave and last shift's leader are not
    assert f"@{LEADER}" in got.payload["text"]["content"] and "厂房冒烟" in got.payload["text"]["content"]
    assert abs(got.payload["_timestamp"] / 1000 - rig.clock.wall().timestamp()) < 60  # signed with the send time
    (attempt,) = rig.attempts()
    assert (attempt.outcome, attempt.code, attempt.kind) == ("sent", "0", "dingtalk")
    # a robot with another signing secret is refused by the provider, and that answer is kept
    rig.senders["ding"].secret = "SEC-wrong"
    rig.notify(title="第二条")
    assert rig.drain()["retry"] == 1
    last = rig.attempts()[-1]
    assert (last.outcome, last.code) == ("error", "310000") and "sign not match" in (last.answer or "")


def test_dingtalk_sign_is_base64_hmac_sha256_of_timestamp_and_secret() -> None:
    # worked by hand: HMAC-SHA256(key="secret", "1700000000000\nsecret"), base64, URL-encoded
    import base64
    import hashlib
    import hmac
    from urllib.parse import unquote_plus

    raw = hmac.new(b"secret", b"1700000000000\nsecret", hashlib.sha256).digest()
    assert unquote_plus(dingtalk_sign(1700000000000, "secret")) == base64.b64encode(raw).decode()


def test_25_notifications_in_a_minute_to_one_robot_all_arrive_none_faster_than_20_a_minute(rig_factory: Any) -> None:
    rig = rig_factory(one("shift_leader", "ding"))
    for i in range(25):
        rig.notify(title=f"事件 {i:02d}")
    first = rig.drain()
    assert first["sent"] == 20 and first["retry"] == 0
    held = [r for r in rig.rows() if r.status == "pending"]
    assert len(held) == 5 and all(r.attempts == 0 for r in held)  # waiting is not a failed attempt
    rig.clock.advance(seconds=30)
    assert rig.drain()["sent"] == 0  # the minute is not over
    rig.clock.advance(seconds=31)
    assert rig.drain()["sent"] == 5
    got = rig.provider.delivered("dingtalk")
    assert sorted(r.payload["text"]["content"].split("\n")[0] for r in got) == sorted(
        f"【Warning】事件 {i:02d}" for i in range(25))
    assert not [r for r in rig.provider.received if r.answered == "too_fast"]
    times = sorted(r.at for r in got)
    assert all(sum(1 for t in times if start <= t < start + timedelta(minutes=1)) <= 20 for start in times)
    assert {r.status for r in rig.rows()} == {"sent"}


def test_errors_then_recovery_lose_nothing_and_send_nothing_twice(rig_factory: Any) -> None:
    rig = rig_factory(one("shift_leader", "wecom"))
    for i in range(5):
        rig.notify(title=f"告警 {i}")
    rig.provider.script.extend(["error", "broken", "error", "error", "error"])
    assert rig.drain()["retry"] == 5
    (down,) = channel_state.down_channels(rig.db)
    assert down.channel == "wecom" and down.consecutive_failures == 5
    assert rig.drain()["sent"] == 0  # backing off, nothing resent early
    rig.clock.advance(seconds=31)
    assert rig.drain()["sent"] == 5
    titles = [r.payload["text"]["content"].split("\n")[0] for r in rig.provider.delivered("wecom")]
    assert sorted(titles) == sorted(f"【Warning】告警 {i}" for i in range(5))  # each once
    assert {r.status for r in rig.rows()} == {"sent"}
    assert channel_state.down_channels(rig.db) == []
    outcomes = [a.outcome for a in rig.attempts()]
    assert outcomes.count("error") == 5 and outcomes.count("sent") == 5
    rig.clock.advance(minutes=30)
    assert rig.drain() == {"sent": 0, "retry": 0, "failed": 0, "unknown": 0, "fallback": 0}
    assert len(rig.provider.delivered("wecom")) == 5


def test_provider_too_fast_answer_queues_again_without_counting_an_attempt(rig_factory: Any) -> None:
    rig = rig_factory(one("shift_leader", "wecom"))
    rig.notify()
    rig.provider.script.append("rate")
    assert rig.drain()["retry"] == 1
    (row,) = rig.rows()
    assert row.status == "pending" and row.attempts == 0
    rig.clock.advance(seconds=61)
    assert rig.drain()["sent"] == 1
    assert [a.outcome for a in rig.attempts()] == ["rate_limited", "sent"]


@pytest.mark.parametrize("sender", ["sms", "sms_tc"])
def test_an_sms_whose_answer_timed_out_is_unknown_and_never_resent(rig_factory: Any, sender: str) -> None:
    rig = rig_factory(one("shift_leader", sender, to="带班领导"))
    rig.notify()
    rig.provider.script.extend(["hang", "ok"])
    counts = rig.drain()
    (row,) = rig.rows()
    assert row.status == "unknown" and counts["unknown"] == 1
    kind = "aliyun" if sender == "sms" else "tencent"
    requests = len([r for r in rig.provider.received if r.kind == kind])
    for _ in range(3):
        rig.clock.advance(minutes=40)
        assert rig.drain()["sent"] == 0
    assert len([r for r in rig.provider.received if r.kind == kind]) == requests
    outcomes = {a.recipient: a.outcome for a in rig.attempts()}
    if sender == "sms":  # one request per phone: the second phone's answer came back
        assert outcomes == {LEADER: "unknown", DIRECTOR: "sent"} and requests == 2
    else:  # one request for both phones, its answer lost
        assert outcomes == {LEADER: "unknown", DIRECTOR: "unknown"} and requests == 1


def test_sms_signatures_verify_templates_fill_and_a_failed_phone_alone_is_retried(rig_factory: Any) -> None:
    rig = rig_factory({"shift_leader": {"recipients": [{"sender": "sms", "to": "带班领导"},
                                                       {"sender": "sms_tc", "to": "带班领导"}]}})
    rig.notify(title="TY-20261203-0007 厂房冒烟" + "很长" * 30)
    rig.provider.script.extend(["ok", "error", "ok"])
    counts = rig.drain()
    assert counts["sent"] == 1 and counts["retry"] == 1
    assert not [r for r in rig.provider.received if r.answered == "bad_sign"]
    aliyun = [r for r in rig.provider.received if r.kind == "aliyun"]
    assert [r.payload["PhoneNumbers"] for r in aliyun] == [LEADER, DIRECTOR]
    params = json.loads(aliyun[0].payload["TemplateParam"])
    assert params["title"].startswith("TY-20261203-0007") and len(params["title"]) == 35
    assert aliyun[0].payload["SignatureMethod"] == "HMAC-SHA1" and aliyun[0].payload["Action"] == "SendSms"
    (tencent,) = [r for r in rig.provider.received if r.kind == "tencent"]
    assert tencent.payload["PhoneNumberSet"] == [f"+86{LEADER}", f"+86{DIRECTOR}"]
    rig.clock.advance(seconds=31)
    assert rig.drain()["sent"] == 1
    aliyun = [r for r in rig.provider.received if r.kind == "aliyun"]
    assert [r.payload["PhoneNumbers"] for r in aliyun] == [LEADER, DIRECTOR, DIRECTOR]  # the leader not twice
    assert {r.status for r in rig.rows()} == {"sent"}


def test_a_channel_that_keeps_failing_is_down_and_its_messages_move_to_the_next_channel(rig_factory: Any) -> None:
    rig = rig_factory(one("shift_leader", "wecom", fallback=["sms"]), senders={"wecom": {"down_after": 2}})
    rig.provider.script.extend(["error", "error"])
    rig.notify()
    assert rig.drain()["retry"] == 1
    assert channel_state.down_channels(rig.db) == []
    rig.clock.advance(seconds=31)
    counts = rig.drain()
    assert counts["fallback"] == 1 and counts["sent"] == 1
    (down,) = channel_state.down_channels(rig.db)
    assert down.channel == "wecom" and down.down_since is not None
    first, moved = rig.rows()
    assert (first.channel, first.status) == ("wecom", "fallback")
    assert (moved.channel, moved.status, moved.fallback_of) == ("sms", "sent", first.id)
    assert [r.payload["PhoneNumbers"] for r in rig.provider.delivered("aliyun")] == [LEADER, DIRECTOR]
    assert rig.provider.delivered("wecom") == []
    # the robot answers again: the next message goes by it and it is up again
    rig.notify(title="恢复后")
    assert rig.drain()["sent"] == 1
    assert channel_state.down_channels(rig.db) == []


def test_secrets_are_never_logged_nor_stored(rig_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rig = rig_factory({"shift_leader": {"recipients": [{"sender": "wecom", "to": "值班群"},
                                                       {"sender": "ding", "to": "值班群"}]}},
                      senders={"sms": {"base_url": "http://127.0.0.1:9"}})
    rig.senders["wecom"].key = WECOM_KEY + "x"  # refused: the stand-in echoes the address, key and all
    rig.provider.script.extend(["error", "error"])
    rig.notify()
    rig.drain()
    broken = channel_config.build("sms", rig.settings.senders["sms"], lookup=SECRET_VALUES.get)
    outbox.drain(rig.db, {"wecom": broken}, "agent-2", clock=rig.clock.db)
    with rig.db.read() as s:
        stored = [json.dumps([a.answer, a.recipient, a.code], ensure_ascii=False)
                  for a in s.execute(select(ChannelAttempt)).scalars()]
        stored += [m.last_error or "" for m in s.execute(select(OutboxMessage)).scalars()]
        stored += [c.last_error or "" for c in s.execute(select(ChannelState)).scalars()]
    assert any("hint" in x for x in stored)  # the echoed address was kept, scrubbed
    text = caplog.text + "\n".join(stored)
    assert "failed" in caplog.text
    for secret in (*ALL_SECRETS, WECOM_KEY + "x"):
        assert secret not in text


def test_long_texts_are_shortened_by_rule_within_the_providers_limit(rig_factory: Any) -> None:
    rig = rig_factory(one("shift_leader", "wecom"))
    rig.notify(body="现场浓烟较大，" * 300)
    assert rig.drain()["sent"] == 1
    (got,) = rig.provider.delivered("wecom")
    content = got.payload["text"]["content"]
    assert len(content.encode()) <= 2048 and content.startswith("【Warning】TY-20261203-0007 厂房冒烟\n现场浓烟")
    assert content.endswith("… (full text on the duty console)")
    assert got.payload["text"]["mentioned_mobile_list"] == [LEADER, OFFICER]


def test_shorten_keeps_head_and_tail_and_never_cuts_a_character() -> None:
    assert cut_utf8("值班室", 7) == "值班"
    text = shorten("【紧急】标题", "正文" * 100, 60, "\n@13800000001")
    assert len(text.encode()) <= 60 and text.startswith("【紧急】标题\n") and text.endswith("@13800000001")
    assert shorten("标题", "短", 100) == "标题\n短"


def test_two_agents_draining_together_keep_the_robots_limit(rig_factory: Any) -> None:
    import threading

    rig = rig_factory(one("shift_leader", "ding"))
    for i in range(25):
        rig.notify(title=f"并发 {i:02d}")
    totals: list[dict[str, int]] = []
    workers = [threading.Thread(target=lambda n=n: totals.append(
        outbox.drain(rig.db, rig.senders, f"agent-{n}", clock=rig.clock.db))) for n in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert sum(t["sent"] for t in totals) == 20
    assert len(rig.provider.delivered("dingtalk")) == 20
    assert not [r for r in rig.provider.received if r.answered == "too_fast"]


def test_recipients_are_who_is_on_duty_when_it_is_sent_not_when_it_was_queued(rig_factory: Any) -> None:
    rig = rig_factory(one("shift_leader", "ding"))
    rig.notify()
    with rig.db.write() as s:  # the leader goes on leave after the message was queued
        leader = s.execute(select(Person).where(Person.phone == LEADER)).scalar_one()
        now = db_now(s)
        s.add(Leave(person_id=leader.id, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=8)))
    assert rig.drain()["sent"] == 1
    (got,) = rig.provider.delivered("dingtalk")
    assert got.payload["at"]["atMobiles"] == [DIRECTOR]


def test_the_agent_builds_its_channels_from_the_config_folder(rig_factory: Any, tmp_path: Any) -> None:
    rig = rig_factory(one("director", "ding", to="主任群"))
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "notify.toml").write_text(f"""
[senders.ding]
type = "dingtalk"
base_url = "{rig.server.url}"
people = ["director"]
secrets = {{ access_token = "ding-token", sign = "ding-sign" }}

[roles.director]
recipients = [{{ sender = "ding", to = "主任群", min_level = "warning" }}]
""", encoding="utf-8")
    (tmp_path / "secrets.toml").write_text(
        f'[channels]\n"ding-token" = "{DING_TOKEN}"\n"ding-sign" = "{DING_SECRET}"\n', encoding="utf-8")
    from dispatch_console.kernel.config import Resources

    outbox.configure(Resources(tmp_path))
    senders = outbox.senders_from_settings()
    rig.notify(role="director", level="info", title="不发")  # below the recipient's level
    rig.notify(role="director", level="critical", title="紧急事件")
    assert outbox.drain(rig.db, senders, "agent-1")["sent"] == 1
    (got,) = rig.provider.delivered("dingtalk")
    assert got.payload["text"]["content"].startswith("【Urgent】紧急事件")
    assert got.payload["at"]["atMobiles"] == [DIRECTOR]
