"""Local stand-ins for the providers: WeCom and DingTalk robots, Aliyun and Tencent SMS gateways.

One threaded ``http.server`` on 127.0.0.1 speaks all four (by path and headers). Each checks the
request the way the provider does — the robot key or token, DingTalk's signature and timestamp,
Aliyun's RPC signature, Tencent's TC3 authorisation — with its own code (not the sender's), and
answers in the provider's shape. ``script`` queues answers for the next requests ("ok", "error",
"rate", "hang" = take the request, answer too late, "broken" = 500 without a body), and each
robot keeps its 20-a-minute limit against ``clock`` (the test's clock), answering "too fast".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

WECOM_KEY = "wk-7f3a9c-SECRET-wecom"
DING_TOKEN = "dt-4b21e0-SECRET-token"
DING_SECRET = "SECd81f-SECRET-sign"
ALIYUN_ID = "LTAI-test-id"
ALIYUN_SECRET = "aly-SECRET-5e6f7a"
TENCENT_ID = "AKID-test-id"
TENCENT_KEY = "tc-SECRET-9a8b7c"
ALL_SECRETS = (WECOM_KEY, DING_TOKEN, DING_SECRET, ALIYUN_SECRET, TENCENT_KEY)


@dataclass
class Received:
    kind: str
    at: datetime
    payload: dict[str, Any]
    answered: str


@dataclass
class Provider:
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    per_minute: int = 20
    hang_seconds: float = 1.5
    script: deque[str] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    robot_times: dict[str, list[datetime]] = field(default_factory=dict)

    def next_action(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else "ok"

    def too_fast(self, robot: str, now: datetime) -> bool:
        with self.lock:
            times = [t for t in self.robot_times.get(robot, []) if t > now - timedelta(minutes=1)]
            if len(times) >= self.per_minute:
                self.robot_times[robot] = times
                return True
            times.append(now)
            self.robot_times[robot] = times
            return False

    def delivered(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.kind == kind and r.answered in ("ok", "hang")]


def _pe(value: str) -> str:
    return quote(value, safe="~")


def aliyun_expected(params: dict[str, str], secret: str) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(_pe(k) + "=" + _pe(v) for k, v in pairs)
    text = "POST&" + _pe("/") + "&" + _pe(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), text.encode(), hashlib.sha1).digest()).decode()


def tencent_expected(headers: dict[str, str], body: bytes, secret_key: str) -> str:
    ts = int(headers["x-tc-timestamp"])
    day = datetime.fromtimestamp(ts, UTC).date().isoformat()
    canonical = "POST\n/\n\n" + f"content-type:{headers['content-type']}\nhost:{headers['host']}\n" + "\n" \
        + "content-type;host\n" + hashlib.sha256(body).hexdigest()
    scope = f"{day}/sms/tc3_request"
    text = f"TC3-HMAC-SHA256\n{ts}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    k = hmac.new(("TC3" + secret_key).encode(), day.encode(), hashlib.sha256).digest()
    k = hmac.new(k, b"sms", hashlib.sha256).digest()
    k = hmac.new(k, b"tc3_request", hashlib.sha256).digest()
    sig = hmac.new(k, text.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={TENCENT_ID}/{scope}, SignedHeaders=content-type;host, Signature={sig}"


class Handler(BaseHTTPRequestHandler):
    server: ProviderServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, data: dict[str, Any] | None) -> None:
        raw = json.dumps(data, ensure_ascii=False).encode() if data is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        p = self.server.provider
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        now = p.clock()
        if url.path == "/cgi-bin/webhook/send":
            self._wecom(p, query, body, now)
        elif url.path == "/robot/send":
            self._dingtalk(p, query, body, now)
        elif self.headers.get("X-TC-Action") == "SendSms":
            self._tencent(p, body, now)
        else:
            self._aliyun(p, body, now)

    def _scripted(self, p: Provider, kind: str, payload: dict[str, Any], now: datetime,
                  error: tuple[int, dict[str, Any]], rate: tuple[int, dict[str, Any]],
                  ok: tuple[int, dict[str, Any]]) -> None:
        action = p.next_action()
        with p.lock:
            p.received.append(Received(kind, now, payload, action))
        if action == "hang":
            time.sleep(p.hang_seconds)  # the provider acted; its answer comes after the client gave up
            try:
                self._answer(*ok)
            except OSError:
                pass
            return
        if action == "broken":
            self._answer(502, None)
            return
        self._answer(*{"error": error, "rate": rate}.get(action, ok))

    def _wecom(self, p: Provider, query: dict[str, str], body: bytes, now: datetime) -> None:
        if query.get("key") != WECOM_KEY:
            self._answer(200, {"errcode": 93000, "errmsg": f"invalid webhook url, hint: {self.path}"})
            return
        payload = json.loads(body)
        content = payload.get(payload["msgtype"], {}).get("content", "")
        limit = 2048 if payload["msgtype"] == "text" else 4096
        if len(content.encode()) > limit:
            self._answer(200, {"errcode": 40058, "errmsg": "content exceed max length"})
            return
        if p.too_fast("wecom", now):
            self._answer(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
            with p.lock:
                p.received.append(Received("wecom", now, payload, "too_fast"))
            return
        self._scripted(p, "wecom", payload, now, (200, {"errcode": -1, "errmsg": "system busy"}),
                       (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
                       (200, {"errcode": 0, "errmsg": "ok"}))

    def _dingtalk(self, p: Provider, query: dict[str, str], body: bytes, now: datetime) -> None:
        if query.get("access_token") != DING_TOKEN:
            self._answer(200, {"errcode": 300001, "errmsg": "token is not exist"})
            return
        ts = query.get("timestamp", "")
        expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                             hashlib.sha256).digest()).decode()
        fresh = ts.isdigit() and abs(int(ts) / 1000 - now.timestamp()) < 3600
        if not fresh or unquote_plus(self.path.split("sign=", 1)[-1].split("&")[0]) != expected:
            self._answer(200, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc...]"})
            with p.lock:
                p.received.append(Received("dingtalk", now, json.loads(body), "bad_sign"))
            return
        payload = json.loads(body)
        if p.too_fast("dingtalk", now):
            self._answer(200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
            with p.lock:
                p.received.append(Received("dingtalk", now, payload, "too_fast"))
            return
        payload["_timestamp"] = int(ts)
        self._scripted(p, "dingtalk", payload, now, (200, {"errcode": 400013, "errmsg": "群已被解散"}),
                       (200, {"errcode": 130101, "errmsg": "send too fast"}), (200, {"errcode": 0, "errmsg": "ok"}))

    def _aliyun(self, p: Provider, body: bytes, now: datetime) -> None:
        params = dict(parse_qsl(body.decode()))
        if params.get("Signature") != aliyun_expected(params, ALIYUN_SECRET) or params.get("AccessKeyId") != ALIYUN_ID:
            self._answer(400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"})
            with p.lock:
                p.received.append(Received("aliyun", now, params, "bad_sign"))
            return
        self._scripted(p, "aliyun", params, now, (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "illegal"}),
                       (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}),
                       (200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r1"}))

    def _tencent(self, p: Provider, body: bytes, now: datetime) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if headers.get("authorization") != tencent_expected(headers, body, TENCENT_KEY):
            self._answer(200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                                      "Message": "signature mismatch"}, "RequestId": "x"}})
            with p.lock:
                p.received.append(Received("tencent", now, json.loads(body), "bad_sign"))
            return
        payload = json.loads(body)
        ok = {"Response": {"SendStatusSet": [
            {"SerialNo": f"sn-{i}", "PhoneNumber": n, "Fee": 1, "SessionContext": payload.get("SessionContext"),
             "Code": "Ok", "Message": "send success", "IsoCode": "CN"}
            for i, n in enumerate(payload["PhoneNumberSet"])], "RequestId": "t1"}}
        self._scripted(p, "tencent", payload, now,
                       (200, {"Response": {"Error": {"Code": "FailedOperation.TemplateIncorrectOrUnapproved",
                                                     "Message": "template"}, "RequestId": "t2"}}),
                       (200, {"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "too fast"},
                                           "RequestId": "t3"}}), (200, ok))


class ProviderServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: Provider) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.provider = provider
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
