"""The SMS gateway adapter: a county's gateway speaking a generic HTTP JSON API, signed.

Request (POST to the configured URL, JSON):
  {"request_id": notice id, "phone": "...", "template_id": "...", "sign_name": "...",
   "params": {...}, "text": "..."}
with headers `X-Intake-Key-Id` (the key id), `X-Intake-Timestamp` (unix seconds) and
`X-Intake-Signature`: hex HMAC-SHA256 of "<timestamp>\\n<request body bytes>" under the secret.
The request id is the idempotency key: a gateway that sees one twice sends one SMS.

Answer: HTTP 200 {"code": "OK", "message_id": "..."}; anything else is a ProviderError —
a timeout, a refused connection, 429 and 5xx retried, 400/422 (a request the gateway will never
take, e.g. a number it cannot reach) not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping

import requests

from sync.hub.notify.base import OutgoingNotice, ProviderError, SendResult

_CODE = re.compile(r"[^A-Za-z0-9_.-]")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class SmsGatewayProvider:
    name = "sms"

    def __init__(
        self,
        url: str,
        key_id: str,
        secret: str,
        templates: Mapping[str, str],
        *,
        sign_name: str = "",
        timeout: float = 10.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url, self.key_id, self._secret = url, key_id, secret
        self.templates = dict(templates)
        self.sign_name = sign_name
        self.timeout = timeout
        self.session = session or requests.Session()
        self.clock = clock

    def send(self, notice: OutgoingNotice) -> SendResult:
        template = self.templates.get(notice.kind)
        if not template:
            raise ProviderError(f"config.no_template.{notice.kind}")  # retried once configured
        body = json.dumps(
            {
                "request_id": notice.id,
                "phone": notice.phone,
                "template_id": template,
                "sign_name": self.sign_name,
                "params": notice.params,
                "text": notice.text,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        ts = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "X-Intake-Key-Id": self.key_id,
            "X-Intake-Timestamp": ts,
            "X-Intake-Signature": signature(self._secret, ts, body),
        }
        try:
            resp = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise ProviderError("gateway.timeout") from exc
        except requests.RequestException as exc:
            raise ProviderError("gateway.unreachable") from exc
        if resp.status_code != 200:
            permanent = resp.status_code in (400, 404, 422)
            raise ProviderError(f"gateway.http_{resp.status_code}", retry=not permanent)
        try:
            answer = resp.json()
        except ValueError as exc:
            raise ProviderError("gateway.bad_answer") from exc
        if not isinstance(answer, dict) or answer.get("code") != "OK":
            code = answer.get("code") if isinstance(answer, dict) else None
            raise ProviderError("gateway." + _CODE.sub("", str(code or "bad_answer"))[:40])
        return SendResult(ref=_CODE.sub("", str(answer.get("message_id", "")))[:64])
