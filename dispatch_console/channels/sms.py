"""SMS through a gateway: Aliyun (阿里云) ``SendSms`` and Tencent Cloud (腾讯云) ``SendSms``.

Both send a template the provider has approved, filled with variables of the message
(``{title}``, ``{body}``, ``{level}``, ``{number}``, ``{time}``), each cut to
``max_param_chars`` (providers refuse longer variables). Recipients are the on-duty phones of
the configured roles at the moment of sending plus any fixed ``phones``; a phone already
answered for this message (sent, or unknown) is never texted again.

Aliyun (RPC style, API 2017-05-25): a form POST of the common parameters (``AccessKeyId``,
``Action=SendSms``, ``Format=JSON``, ``RegionId``, ``SignatureMethod=HMAC-SHA1``,
``SignatureNonce``, ``SignatureVersion=1.0``, ``Timestamp``, ``Version``) and the request's
(``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam`` as JSON, ``OutId``), signed
with ``Signature`` = base64 HMAC-SHA1, keyed ``secret + "&"``, of ``POST&%2F&`` + the
percent-encoded, sorted, canonicalised query. One request per phone, so each answer is one
recipient's. Answer ``{"Code": "OK", "BizId", ...}``; ``isv.BUSINESS_LIMIT_CONTROL`` is too fast.

Tencent Cloud (API 2021-01-11): a JSON POST (``PhoneNumberSet`` in +86 form, ``SmsSdkAppId``,
``SignName``, ``TemplateId``, ``TemplateParamSet``, ``SessionContext``) with the headers
``X-TC-Action``, ``X-TC-Version``, ``X-TC-Timestamp``, ``X-TC-Region`` and ``Authorization:
TC3-HMAC-SHA256 Credential=ID/DATE/sms/tc3_request, SignedHeaders=content-type;host,
Signature=…`` (the TC3 key chain DATE → sms → tc3_request over the hashed canonical request).
Answer ``Response.SendStatusSet`` per phone (``Code: "Ok"``) or ``Response.Error``.

A lost answer (timeout after the request was written, a reset, a 5xx without a verdict) is
``unknown`` for every phone in that request: the provider may have sent it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from dispatch_console.channels import http
from dispatch_console.channels.base import Delivery, SendContext
from dispatch_console.channels.sending import OutboxHooks
from dispatch_console.notifications.senders import OutgoingMessage

TEMPLATE_VARIABLES = ("title", "body", "level", "number", "time")


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun signs it (space %20, * %2A, ~ kept)."""
    return quote(value, safe="~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(*, secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int,
                      content_type: str, service: str = "sms") -> str:
    """The ``Authorization`` header of Tencent Cloud's signature v3 (TC3-HMAC-SHA256)."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical = "\n".join(["POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", signed_headers,
                           _sha256(payload)])
    scope = f"{day}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, _sha256(canonical.encode("utf-8"))])
    key = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), day), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


def render(template: str, variables: Mapping[str, str], max_chars: int) -> str:
    value = template.format_map({k: v.replace("\n", " ") for k, v in variables.items()})
    return value if len(value) <= max_chars else value[:max(max_chars - 1, 0)] + "…"


class _Sms(OutboxHooks, ABC):
    kind = "sms"

    def __init__(self, name: str, *, sign_name: str, template_id: str, template_params: Any,
                 people: tuple[str, ...] = (), phones: tuple[str, ...] = (), max_param_chars: int = 35,
                 rate_per_minute: int | None = None, down_after: int = 3, timeout: float = 10.0,
                 ca_file: str | None = None, nonce: Callable[[], str] | None = None) -> None:
        self.name = name
        self.sign_name = sign_name
        self.template_id = template_id
        self.template_params = template_params
        self.people = people
        self.phones = phones
        self.max_param_chars = max_param_chars
        self.rate_per_minute = rate_per_minute
        self.down_after = down_after
        self.timeout = timeout
        self.ca_file = ca_file
        self.nonce = nonce or (lambda: uuid.uuid4().hex)

    def recipients(self, message: OutgoingMessage, context: SendContext) -> list[str]:
        found: list[str] = []
        fixed = [message.recipient] if message.recipient.lstrip("+").isdigit() else []
        for phone in (*context.audience.phones(self.people), *self.phones, *fixed):
            if phone not in found and phone not in context.done:
                found.append(phone)
        return found

    @abstractmethod
    def _secrets(self) -> tuple[str | None, ...]:
        """Each provider says this its own way."""

    def _lost(self, phones: list[str], code: str, text: str) -> list[Delivery]:
        return [Delivery(p, "unknown", code, http.scrub(text, self._secrets())) for p in phones]

    @abstractmethod
    def _send(self, message: OutgoingMessage, context: SendContext, phones: list[str]) -> list[Delivery]:
        """Each provider says this its own way."""

    def deliver(self, message: OutgoingMessage, context: SendContext) -> list[Delivery]:
        phones = self.recipients(message, context)
        if not phones:
            if context.done:
                return []
            return [Delivery(message.recipient[:200], "error", "no_recipients",
                             "nobody on duty with a phone for the configured roles")]
        return self._send(message, context, phones)


class AliyunSms(_Sms):
    kind = "sms_aliyun"
    TOO_FAST = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"})

    def __init__(self, name: str, *, access_key_id: str, access_key_secret: str,
                 base_url: str = "https://dysmsapi.aliyuncs.com", region: str = "cn-hangzhou",
                 **kw: Any) -> None:
        super().__init__(name, **kw)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.base_url = base_url.rstrip("/")
        self.region = region

    def _secrets(self) -> tuple[str | None, ...]:
        return (self.access_key_secret,)

    def params(self, message: OutgoingMessage, context: SendContext, phone: str) -> dict[str, str]:
        variables = context.variables(message)
        template = {k: render(str(v), variables, self.max_param_chars)
                    for k, v in dict(self.template_params).items()}
        params = {
            "AccessKeyId": self.access_key_id, "Action": "SendSms", "Format": "JSON", "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": self.nonce(), "SignatureVersion": "1.0",
            "Timestamp": context.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
            "PhoneNumbers": phone, "SignName": self.sign_name, "TemplateCode": self.template_id,
            "TemplateParam": json.dumps(template, ensure_ascii=False), "OutId": f"outbox-{message.id}",
        }
        params["Signature"] = aliyun_signature(params, self.access_key_secret)
        return params

    def _send(self, message: OutgoingMessage, context: SendContext, phones: list[str]) -> list[Delivery]:
        out: list[Delivery] = []
        for phone in phones:
            params = self.params(message, context, phone)
            body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items()).encode()
            try:
                answer = http.post(self.base_url + "/", body,
                                   {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                                   timeout=self.timeout, ca_file=self.ca_file)
            except http.NotSent as exc:
                out.append(Delivery(phone, "error", "NotSent", http.scrub(str(exc), self._secrets())))
                continue
            except http.AnswerLost as exc:
                out.extend(self._lost([phone], "AnswerLost", str(exc)))
                continue
            text = http.scrub(answer.text(), self._secrets())
            try:
                code = str(json.loads(answer.body)["Code"])
            except (ValueError, KeyError, TypeError):
                out.extend(self._lost([phone], f"http {answer.status}", text))
                continue
            if code == "OK":
                out.append(Delivery(phone, "sent", code, text))
            elif code in self.TOO_FAST:
                out.append(Delivery(phone, "rate_limited", code, text, retry_after=60.0))
            elif answer.status >= 500:
                out.extend(self._lost([phone], code, text))
            else:
                out.append(Delivery(phone, "error", code, text))
        return out


class TencentSms(_Sms):
    kind = "sms_tencent"
    CONTENT_TYPE = "application/json; charset=utf-8"

    def __init__(self, name: str, *, secret_id: str, secret_key: str, sdk_app_id: str,
                 base_url: str = "https://sms.tencentcloudapi.com", region: str = "ap-guangzhou",
                 sign_host: str | None = None, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.base_url = base_url.rstrip("/")
        self.region = region
        self.sign_host = sign_host or (urlsplit(self.base_url).netloc or "sms.tencentcloudapi.com")

    def _secrets(self) -> tuple[str | None, ...]:
        return (self.secret_key,)

    @staticmethod
    def e164(phone: str) -> str:
        return phone if phone.startswith("+") else f"+86{phone}"

    def request(self, message: OutgoingMessage, context: SendContext,
                phones: list[str]) -> tuple[bytes, dict[str, str]]:
        variables = context.variables(message)
        payload = json.dumps({
            "PhoneNumberSet": [self.e164(p) for p in phones], "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name, "TemplateId": self.template_id,
            "TemplateParamSet": [render(str(v), variables, self.max_param_chars) for v in self.template_params],
            "SessionContext": f"outbox-{message.id}",
        }, ensure_ascii=False).encode("utf-8")
        timestamp = int(context.now.timestamp())
        headers = {
            "Content-Type": self.CONTENT_TYPE, "Host": self.sign_host, "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(timestamp), "X-TC-Region": self.region,
            "Authorization": tc3_authorization(secret_id=self.secret_id, secret_key=self.secret_key,
                                               host=self.sign_host, payload=payload, timestamp=timestamp,
                                               content_type=self.CONTENT_TYPE),
        }
        return payload, headers

    @staticmethod
    def _too_fast(code: str) -> bool:
        return code == "RequestLimitExceeded" or code.startswith("LimitExceeded")

    def _send(self, message: OutgoingMessage, context: SendContext, phones: list[str]) -> list[Delivery]:
        payload, headers = self.request(message, context, phones)
        try:
            answer = http.post(self.base_url + "/", payload, headers, timeout=self.timeout, ca_file=self.ca_file)
        except http.NotSent as exc:
            return [Delivery(p, "error", "NotSent", http.scrub(str(exc), self._secrets())) for p in phones]
        except http.AnswerLost as exc:
            return self._lost(phones, "AnswerLost", str(exc))
        text = http.scrub(answer.text(), self._secrets())
        try:
            response = json.loads(answer.body)["Response"]
        except (ValueError, KeyError, TypeError):
            return self._lost(phones, f"http {answer.status}", text)
        error = response.get("Error")
        if error:
            code = str(error.get("Code", "?"))
            if self._too_fast(code):
                return [Delivery(p, "rate_limited", code, text, retry_after=60.0) for p in phones]
            if code.startswith("InternalError") or answer.status >= 500:
                return self._lost(phones, code, text)
            return [Delivery(p, "error", code, text) for p in phones]
        by_phone = {str(s.get("PhoneNumber")): s for s in response.get("SendStatusSet") or []}
        out: list[Delivery] = []
        for phone in phones:
            status = by_phone.get(self.e164(phone))
            if status is None:
                out.extend(self._lost([phone], "missing", text))
                continue
            code = str(status.get("Code"))
            line = http.scrub(json.dumps(status, ensure_ascii=False), self._secrets())[:2000]
            if code == "Ok":
                out.append(Delivery(phone, "sent", code, line))
            elif self._too_fast(code):
                out.append(Delivery(phone, "rate_limited", code, line, retry_after=60.0))
            else:
                out.append(Delivery(phone, "error", code, line))
        return out
