"""notify.toml for channels: checked with file and key, secrets from the keyring or the config folder; the schema."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db.engine import Database
from db.migrate import alembic_config, upgrade
from db.models import Base
from dispatch_console.channels import config as channel_config
from dispatch_console.channels import secrets
from dispatch_console.channels.robots import DingTalkRobot, WeComRobot
from dispatch_console.channels.sms import AliyunSms, TencentSms
from dispatch_console.kernel.config import Resources, resources_root
from dispatch_console.kernel.policies import PolicyError
from dispatch_console.notifications.outbox import parse_settings

WECOM = {"type": "wecom", "secrets": {"key": "wecom-duty"}, "people": ["shift_leader"]}


def test_the_shipped_examples_parse_when_uncommented() -> None:
    text = (resources_root() / "policies" / "notify.toml").read_text(encoding="utf-8")
    example = re.compile(r"^# (\[senders\.[a-z_]+\]\s*$|(?!recipients)[a-z_]+ = )")
    examples = "\n".join(line[2:] for line in text.splitlines() if example.match(line))
    data = tomllib.loads(examples)
    assert set(data["senders"]) == {"mail", "wecom_duty", "dingtalk_duty", "sms_leaders", "sms_tencent"}
    role = {"recipients": [{"sender": "wecom_duty", "to": "值班群", "fallback": ["dingtalk_duty", "sms_leaders"]}]}
    settings = parse_settings({"senders": data["senders"], "roles": {"shift_leader": role}}, "notify.toml")
    (recipient,) = settings.recipients["shift_leader"]
    assert recipient.fallback == ("dingtalk_duty", "sms_leaders")
    found = {name: channel_config.build(name, cfg, lookup=lambda ref: f"value-of-{ref}")
             for name, cfg in settings.senders.items() if cfg["type"] in channel_config.CHANNEL_TYPES}
    assert isinstance(found["wecom_duty"], WeComRobot) and found["wecom_duty"].rate_per_minute == 20
    ding = found["dingtalk_duty"]
    assert isinstance(ding, DingTalkRobot) and ding.secret == "value-of-dingtalk-duty-sign"
    assert isinstance(found["sms_leaders"], AliyunSms) and isinstance(found["sms_tencent"], TencentSms)


@pytest.mark.parametrize(("sender", "key"), [
    ({**WECOM, "key": "abc"}, "senders.w.key"),  # a secret written in the file
    ({"type": "wecom", "people": ["shift_leader"]}, "senders.w.secrets.key"),
    ({**WECOM, "people": ["everyone"]}, "senders.w.people"),
    ({**WECOM, "rate_per_minute": 0}, "senders.w.rate_per_minute"),
    ({**WECOM, "format": "html"}, "senders.w.format"),
    ({"type": "sms_aliyun", "access_key_id": "id", "sign_name": "s", "template_code": "t",
      "template_params": {"x": "{nope}"}, "secrets": {"access_key_secret": "a"}}, "senders.w.template_params"),
    ({"type": "sms_tencent", "secret_id": "id", "sdk_app_id": "1", "sign_name": "s", "template_id": "t",
      "template_params": {"x": "{title}"}, "secrets": {"secret_key": "a"}}, "senders.w.template_params"),
    ({"type": "smtp", "host": "h", "from": "f", "tls": "maybe"}, "senders.w.tls"),
])
def test_mistakes_name_the_file_and_the_key(sender: dict[str, Any], key: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_settings({"senders": {"w": sender}}, "notify.toml")
    assert "notify.toml" in str(err.value) and key in str(err.value)


def test_a_fallback_must_name_another_sender() -> None:
    role = {"recipients": [{"sender": "w", "to": "群", "fallback": ["sms"]}]}
    with pytest.raises(PolicyError) as err:
        parse_settings({"senders": {"w": WECOM}, "roles": {"director": role}}, "notify.toml")
    assert "roles.director.recipients[0].fallback" in str(err.value)


def test_secrets_come_from_the_keyring_then_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    stored = {("dispatch-console", "channel:wecom-duty"): "from-keyring"}
    monkeypatch.setattr(keyring, "get_password", lambda service, key: stored.get((service, key)))
    (tmp_path / "secrets.toml").write_text('[channels]\nwecom-duty = "from-file"\nding = "ding-from-file"\n',
                                           encoding="utf-8")
    res = Resources(tmp_path)
    assert secrets.lookup("wecom-duty", res) == "from-keyring"
    assert secrets.lookup("ding", res) == "ding-from-file"
    assert secrets.lookup("absent", res) is None
    with pytest.raises(channel_config.ChannelConfigError) as err:
        channel_config.build("w", {**WECOM, "secrets": {"key": "absent"}}, res)
    assert "absent" in str(err.value) and "secrets.toml" in str(err.value)

    def broken(service: str, key: str) -> str:
        raise RuntimeError("no keyring backend")

    monkeypatch.setattr(keyring, "get_password", broken)
    assert secrets.lookup("wecom-duty", res) == "from-file"  # a headless server without a keyring


def test_migration_0007_matches_the_models_and_goes_down_and_up(db: Database) -> None:
    channel_tables = {"channel_attempt", "channel_state"}
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(t in repr(d) for t in (*channel_tables, "fallback_of"))]
    assert ours == []
    from alembic import command

    command.downgrade(alembic_config(db), "0004")
    assert not channel_tables & set(sa.inspect(db.engine).get_table_names())
    assert "fallback_of" not in {c["name"] for c in sa.inspect(db.engine).get_columns("outbox")}
    upgrade(db)
    assert channel_tables <= set(sa.inspect(db.engine).get_table_names())
