"""One HTTP POST to a provider, telling "never reached it" from "its answer was lost".

``NotSent``: the connection could not be made (refused, no route, TLS handshake failed) — the
provider has not seen the request. ``AnswerLost``: the request was written and no complete answer
came back (timeout, reset) — the provider may have acted on it. Error texts never carry the URL
(it holds the robot's key or token); the caller scrubs its secrets from anything it keeps.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class NotSent(Exception):
    pass


class AnswerLost(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def text(self, limit: int = 2000) -> str:
        return self.body[:limit].decode("utf-8", errors="replace")


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float,
         ca_file: str | None = None) -> Answer:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotSent(f"not an http(s) address: {parts.scheme}://{parts.hostname or ''}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file)
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        try:
            conn.connect()
        except (OSError, ssl.SSLError) as exc:
            raise NotSent(f"{type(exc).__name__}: {exc}") from None
        try:
            conn.request("POST", path, body=body, headers=dict(headers))
            response = conn.getresponse()
            return Answer(response.status, response.read())
        except (OSError, http.client.HTTPException) as exc:  # TimeoutError is an OSError
            raise AnswerLost(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (and its URL-encoded form) replaced by ***."""
    from urllib.parse import quote, quote_plus

    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "***")
    return text
