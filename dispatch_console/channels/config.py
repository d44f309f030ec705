"""Channel senders from ``[senders.NAME]`` of ``notify.toml``: check the keys, fetch the secrets, build.

Secrets are named in a ``secrets`` table (``secrets = { key = "wecom-duty" }``) and looked up
by :mod:`dispatch_console.channels.secrets`; a value in the file itself is refused. ``people``
lists the roles whose on-duty phones are @-mentioned or texted (``shift_leader``,
``duty_officer``, ``director``). ``base_url`` may point at an intranet proxy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dispatch_console.channels import secrets
from dispatch_console.channels.base import PEOPLE_ROLES, ChannelSender
from dispatch_console.channels.robots import DingTalkRobot, WeComRobot
from dispatch_console.channels.sms import TEMPLATE_VARIABLES, AliyunSms, TencentSms
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _

CHANNEL_TYPES = ("wecom", "dingtalk", "sms_aliyun", "sms_tencent")

# type → (required plain keys, required secrets, optional secrets)
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "wecom": ((), ("key",), ()),
    "dingtalk": ((), ("access_token",), ("sign",)),
    "sms_aliyun": (("access_key_id", "sign_name", "template_code", "template_params"), ("access_key_secret",), ()),
    "sms_tencent": (("secret_id", "sdk_app_id", "sign_name", "template_id", "template_params"), ("secret_key",), ()),
}


class ChannelConfigError(DispatchError):
    pass


def problems(kind: str, cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, problem) for every mistake in one channel's configuration."""
    found: list[tuple[str, str]] = []
    plain, needed, optional = KEYS[kind]
    for key in plain:
        if cfg.get(key) in (None, "", [], {}):
            found.append((key, _("required")))
    table = cfg.get("secrets", {})
    if not isinstance(table, dict):
        found.append(("secrets", _("a table naming each secret")))
        table = {}
    for key in needed:
        if not str(table.get(key) or "").strip():
            found.append((f"secrets.{key}", _("required (the name of a secret in the keyring or secrets.toml)")))
    for key in (*needed, *optional):
        if key in cfg:
            found.append((key, _("a secret never goes in notify.toml: name it under secrets instead")))
    people = cfg.get("people", [])
    if not isinstance(people, list) or any(p not in PEOPLE_ROLES for p in people):
        found.append(("people", _("a list of {choices}").format(choices=", ".join(PEOPLE_ROLES))))
    if cfg.get("format", "text") not in ("text", "markdown"):
        found.append(("format", _("one of {choices}").format(choices="text, markdown")))
    for key in ("rate_per_minute", "down_after", "max_bytes", "max_param_chars"):
        value = cfg.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            found.append((key, _("a whole number of at least 1")))
    params = cfg.get("template_params")
    if kind.startswith("sms_") and params not in (None, "", [], {}):
        values = list(params.values()) if isinstance(params, dict) else params
        if kind == "sms_aliyun" and not isinstance(params, dict):
            found.append(("template_params", _("a table of template variables")))
        elif kind == "sms_tencent" and not isinstance(params, list):
            found.append(("template_params", _("a list of template values in order")))
        else:
            for value in values:
                try:
                    str(value).format_map({v: "" for v in TEMPLATE_VARIABLES})
                except (KeyError, ValueError, IndexError):
                    found.append(("template_params", _("only {names} may be used").format(
                        names=", ".join("{" + v + "}" for v in TEMPLATE_VARIABLES))))
                    break
    return found


def _common(cfg: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"people": tuple(cfg.get("people", ())), "down_after": int(cfg.get("down_after", 3)),
                           "timeout": float(cfg.get("timeout", 10)), "ca_file": cfg.get("ca_file") or None}
    if cfg.get("base_url"):
        out["base_url"] = str(cfg["base_url"])
    return out


def build(name: str, cfg: Mapping[str, Any], resources: Resources | None = None,
          lookup: Callable[[str], str | None] | None = None) -> ChannelSender:
    """The sender of one (validated) channel, its secrets fetched now."""
    find = lookup or (lambda secret: secrets.lookup(secret, resources))
    kind = str(cfg["type"])
    table = cfg.get("secrets", {})

    def secret(key: str, required: bool = True) -> str | None:
        ref = table.get(key)
        if not ref:
            return None
        value = find(str(ref))
        if value is None and required:
            raise ChannelConfigError(_("senders.{name}: the secret {ref} is in neither the keyring nor {file}.")
                                     .format(name=name, ref=ref, file=secrets.SECRETS_FILE))
        return value

    common = _common(cfg)
    if kind == "wecom":
        return WeComRobot(name, key=secret("key") or "", fmt=str(cfg.get("format", "text")),
                          rate_per_minute=int(cfg.get("rate_per_minute", 20)), max_bytes=cfg.get("max_bytes"),
                          **common)
    if kind == "dingtalk":
        return DingTalkRobot(name, access_token=secret("access_token") or "", secret=secret("sign"),
                             fmt=str(cfg.get("format", "text")), rate_per_minute=int(cfg.get("rate_per_minute", 20)),
                             max_bytes=cfg.get("max_bytes"), **common)
    sms = {"sign_name": str(cfg["sign_name"]), "template_params": cfg["template_params"],
           "phones": tuple(str(p) for p in cfg.get("phones", ())),
           "max_param_chars": int(cfg.get("max_param_chars", 35)), "rate_per_minute": cfg.get("rate_per_minute"),
           "region": str(cfg["region"]) if cfg.get("region") else None}
    if sms["region"] is None:
        del sms["region"]
    if kind == "sms_aliyun":
        return AliyunSms(name, access_key_id=str(cfg["access_key_id"]),
                         access_key_secret=secret("access_key_secret") or "",
                         template_id=str(cfg["template_code"]), **sms, **common)
    if kind == "sms_tencent":
        return TencentSms(name, secret_id=str(cfg["secret_id"]), secret_key=secret("secret_key") or "",
                          sdk_app_id=str(cfg["sdk_app_id"]), template_id=str(cfg["template_id"]), **sms, **common)
    raise ChannelConfigError(_("senders.{name}: unknown channel type {kind}.").format(name=name, kind=kind))


def install() -> None:
    """Let notify.toml name the channel kinds (wecom, dingtalk, sms_aliyun, sms_tencent)."""
    from functools import partial

    from dispatch_console.notifications import outbox

    for kind in CHANNEL_TYPES:
        outbox.register_kind(kind, problems=partial(problems, kind), build=build)
