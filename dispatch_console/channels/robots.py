"""Group robots: the WeCom (企业微信) webhook robot and the DingTalk (钉钉) custom robot.

WeCom: ``POST {base_url}/cgi-bin/webhook/send?key=KEY`` with ``{"msgtype": "text", "text":
{"content", "mentioned_mobile_list"}}`` (content at most 2048 bytes) or ``markdown`` (4096
bytes, mentions written as ``<@phone>`` are not supported by WeCom markdown, so they go in a
text line); the answer is ``{"errcode", "errmsg"}``, 0 when sent, 45009 when too fast.

DingTalk: ``POST {base_url}/robot/send?access_token=TOKEN[&timestamp=T&sign=S]`` where, in the
signed mode, T is the time in milliseconds and S the URL-encoded base64 HMAC-SHA256 of
``"{T}\\n{secret}"`` keyed with the secret; ``{"msgtype": "text", "text": {"content"}, "at":
{"atMobiles": [...]}}`` or ``markdown`` (``title`` + ``text``); a mention shows only when the
text contains ``@phone``. Answer ``{"errcode", "errmsg"}``: 0 sent, 130101/410100 too fast,
310000 signature, keyword or IP refused.

Both allow 20 messages a minute per robot: the outbox keeps that (``rate_per_minute``) by
holding the rest back, and a provider's own "too fast" answer is queued again, never dropped.
A robot's lost answer is tried again: a doubled group message is better than a missing alarm.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from datetime import datetime
from urllib.parse import quote_plus

from dispatch_console.channels import http
from dispatch_console.channels.base import Delivery, SendContext, shorten
from dispatch_console.channels.sending import OutboxHooks
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.notifications.senders import OutgoingMessage

LEVEL_MARKS = {"info": N_("Notice"), "warning": N_("Warning"), "critical": N_("Urgent")}


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's signed mode: URL-encoded base64 HMAC-SHA256 of ``"{timestamp}\\n{secret}"``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def _millis(now: datetime) -> int:
    return int(now.timestamp() * 1000)


class _Robot(OutboxHooks, ABC):
    kind = "robot"
    too_fast: frozenset[int] = frozenset()

    def __init__(self, name: str, *, base_url: str, people: tuple[str, ...], fmt: str = "text",
                 rate_per_minute: int | None = 20, down_after: int = 3, timeout: float = 10.0,
                 max_bytes: int | None = None, ca_file: str | None = None) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.people = people
        self.fmt = fmt
        self.rate_per_minute = rate_per_minute
        self.down_after = down_after
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ca_file = ca_file

    # subclasses
    @abstractmethod
    def _url(self, now: datetime) -> str:
        """Each provider says this its own way."""

    @abstractmethod
    def _payload(self, head: str, message: OutgoingMessage, mobiles: tuple[str, ...]) -> dict[str, object]:
        """Each provider says this its own way."""

    @abstractmethod
    def _secrets(self) -> tuple[str | None, ...]:
        """Each provider says this its own way."""

    def head(self, message: OutgoingMessage, context: SendContext) -> str:
        mark = _(LEVEL_MARKS[context.level]) if context.level in LEVEL_MARKS else context.level
        return f"【{mark}】{message.subject}"

    def deliver(self, message: OutgoingMessage, context: SendContext) -> list[Delivery]:
        mobiles = context.audience.phones(self.people)
        who = message.recipient + (" @" + ",".join(mobiles) if mobiles else "")
        payload = self._payload(self.head(message, context), message, mobiles)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            answer = http.post(self._url(context.now), body, {"Content-Type": "application/json; charset=utf-8"},
                               timeout=self.timeout, ca_file=self.ca_file)
        except (http.NotSent, http.AnswerLost) as exc:
            return [Delivery(who[:200], "error", type(exc).__name__, http.scrub(str(exc), self._secrets()))]
        text = http.scrub(answer.text(), self._secrets())
        try:
            data = json.loads(answer.body)
            code = int(data.get("errcode"))
        except (ValueError, TypeError, AttributeError):
            return [Delivery(who[:200], "error", f"http {answer.status}", text)]
        if code == 0 and answer.status == 200:
            return [Delivery(who[:200], "sent", "0", text)]
        if code in self.too_fast or answer.status == 429:
            return [Delivery(who[:200], "rate_limited", str(code), text, retry_after=60.0)]
        return [Delivery(who[:200], "error", str(code), text)]


class WeComRobot(_Robot):
    kind = "wecom"
    too_fast = frozenset({45009})
    TEXT_BYTES = 2048
    MARKDOWN_BYTES = 4096

    def __init__(self, name: str, *, key: str, base_url: str = "https://qyapi.weixin.qq.com", **kw: object) -> None:
        super().__init__(name, base_url=base_url, **kw)  # type: ignore[arg-type]
        self.key = key

    def _secrets(self) -> tuple[str | None, ...]:
        return (self.key,)

    def _url(self, now: datetime) -> str:
        return f"{self.base_url}/cgi-bin/webhook/send?key={quote_plus(self.key)}"

    def _payload(self, head: str, message: OutgoingMessage, mobiles: tuple[str, ...]) -> dict[str, object]:
        if self.fmt == "markdown":
            tail = ("\n" + _("On duty: {phones}").format(phones=" ".join(mobiles))) if mobiles else ""
            content = shorten(f"**{head}**", message.body, self.max_bytes or self.MARKDOWN_BYTES, tail)
            return {"msgtype": "markdown", "markdown": {"content": content}}
        content = shorten(head, message.body, self.max_bytes or self.TEXT_BYTES)
        return {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": list(mobiles)}}


class DingTalkRobot(_Robot):
    kind = "dingtalk"
    too_fast = frozenset({130101, 410100})
    TEXT_BYTES = 20000

    def __init__(self, name: str, *, access_token: str, secret: str | None = None,
                 base_url: str = "https://oapi.dingtalk.com", **kw: object) -> None:
        super().__init__(name, base_url=base_url, **kw)  # type: ignore[arg-type]
        self.access_token = access_token
        self.secret = secret

    def _secrets(self) -> tuple[str | None, ...]:
        return (self.access_token, self.secret)

    def _url(self, now: datetime) -> str:
        url = f"{self.base_url}/robot/send?access_token={quote_plus(self.access_token)}"
        if self.secret:
            ts = _millis(now)
            url += f"&timestamp={ts}&sign={dingtalk_sign(ts, self.secret)}"
        return url

    def _payload(self, head: str, message: OutgoingMessage, mobiles: tuple[str, ...]) -> dict[str, object]:
        tail = ("\n" + " ".join(f"@{m}" for m in mobiles)) if mobiles else ""
        at = {"atMobiles": list(mobiles), "isAtAll": False}
        limit = self.max_bytes or self.TEXT_BYTES
        if self.fmt == "markdown":
            text = shorten(f"### {head}", message.body, limit, tail)
            return {"msgtype": "markdown", "markdown": {"title": message.subject[:64], "text": text}, "at": at}
        return {"msgtype": "text", "text": {"content": shorten(head, message.body, limit, tail)}, "at": at}
