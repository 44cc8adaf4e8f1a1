"""The SMS gateway adapter against a fake county gateway on loopback (a real HTTP server this
test starts): the request it signs, and what it makes of refusals, errors and timeouts — through
the hub's sender, so a failure is kept, retried and then sent once."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sync.hub.notify import make_provider
from sync.hub.notify.base import OutgoingNotice, ProviderError
from sync.hub.notify.sms_gateway import SmsGatewayProvider
from sync.hub.settings import HubSettings, SettingsError
from tests.hub_doubles import station_session

SECRET = "s3cret-of-the-county"
TEMPLATES = {"accepted": "SMS_100", "rejected": "SMS_101", "completed": "SMS_102"}


class FakeGateway:
    """Answers with the next of SCRIPT (status, body | "hang"), then 200 OK; records requests and
    sends one SMS per request id (the idempotency the adapter relies on)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, object]] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.delivered: dict[str, dict] = {}
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append((dict(self.headers), body))
                status, answer = gateway.script.pop(0) if gateway.script else (200, None)
                if answer == "hang":
                    time.sleep(1.5)
                    status, answer = 200, None
                if answer is None:
                    msg = json.loads(body)
                    gateway.delivered.setdefault(msg["request_id"], msg)
                    answer = {"code": "OK", "message_id": "gw-" + msg["request_id"][:6]}
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the adapter timed out and hung up: the SMS went out all the same

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGateway:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def gateway():
    with FakeGateway() as g:
        yield g


def notice(kind: str = "rejected") -> OutgoingNotice:
    return OutgoingNotice(
        id="5b0f7c1e-0000-4000-8000-000000000001",
        kind=kind,
        number="XX01-20261202-0001",
        phone="13812345678",
        text="您的申请（编号XX01-20261202-0001）不予受理，理由：材料不符。",
        params={"number": "XX01-20261202-0001", "reason": "材料不符"},
    )


def provider(gateway: FakeGateway, timeout: float = 5.0) -> SmsGatewayProvider:
    return SmsGatewayProvider(
        gateway.url, "county-410721", SECRET, TEMPLATES, sign_name="新乡县政务服务", timeout=timeout
    )


def test_the_request_is_signed_and_carries_template_phone_and_idempotency_key(gateway):
    result = provider(gateway).send(notice())
    assert result.ref == "gw-5b0f7c"
    ((headers, body),) = gateway.requests
    assert headers["X-Intake-Key-Id"] == "county-410721"
    ts = headers["X-Intake-Timestamp"]
    assert abs(int(ts) - time.time()) < 300
    expected = hmac.new(SECRET.encode(), ts.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    assert headers["X-Intake-Signature"] == expected
    msg = json.loads(body)
    assert msg == {
        "request_id": "5b0f7c1e-0000-4000-8000-000000000001",
        "phone": "13812345678",
        "template_id": "SMS_101",
        "sign_name": "新乡县政务服务",
        "params": {"number": "XX01-20261202-0001", "reason": "材料不符"},
        "text": "您的申请（编号XX01-20261202-0001）不予受理，理由：材料不符。",
    }


@pytest.mark.parametrize(
    ("script", "code", "retry"),
    [
        ([(503, {"code": "BUSY"})], "gateway.http_503", True),
        ([(429, {"code": "RATE"})], "gateway.http_429", True),
        ([(401, {"code": "BAD_SIGNATURE"})], "gateway.http_401", True),  # fixed by configuration
        ([(400, {"code": "INVALID_PHONE"})], "gateway.http_400", False),
        ([(200, {"code": "isv.BUSINESS_LIMIT"})], "gateway.isv.BUSINESS_LIMIT", True),
        ([(200, ["not", "an", "object"])], "gateway.bad_answer", True),
        ([(200, "hang")], "gateway.timeout", True),
    ],
)
def test_refusals_errors_and_timeouts_are_provider_errors(gateway, script, code, retry):
    gateway.script = list(script)
    with pytest.raises(ProviderError) as err:
        provider(gateway, timeout=0.5).send(notice())
    assert (err.value.code, err.value.retry) == (code, retry)
    assert "13812345678" not in err.value.code


def test_an_unreachable_gateway_and_a_kind_without_template_are_retried():
    down = SmsGatewayProvider("http://127.0.0.1:9/x", "k", SECRET, TEMPLATES, timeout=0.5)
    with pytest.raises(ProviderError) as err:
        down.send(notice())
    assert (err.value.code, err.value.retry) == ("gateway.unreachable", True)
    with pytest.raises(ProviderError) as err:
        down.send(notice("collected"))  # no template for 领取 configured
    assert (err.value.code, err.value.retry) == ("config.no_template.collected", True)


def test_the_settings_build_the_gateway_and_refuse_an_incomplete_configuration(
    tmp_path, monkeypatch
):
    secret_file = tmp_path / "sms.secret"
    secret_file.write_text(SECRET + "\n")
    monkeypatch.setenv("INTAKE_HUB_SMS_TEMPLATES", json.dumps(TEMPLATES))
    s = HubSettings(
        notify_provider="sms",
        sms_url="https://sms.example/send",
        sms_key_id="k1",
        sms_secret_file=secret_file,
    )
    p = make_provider(s)
    assert isinstance(p, SmsGatewayProvider)
    assert (p.url, p.key_id, p._secret, p.templates) == (
        "https://sms.example/send",
        "k1",
        SECRET,
        TEMPLATES,
    )
    with pytest.raises(SettingsError) as err:
        make_provider(HubSettings(notify_provider="sms", sms_url="https://sms.example/send"))
    assert err.value.code == "hub.sms_not_configured"
    assert "sms_key_id" in err.value.message and "sms_secret" in err.value.message
    assert make_provider(HubSettings(notify_provider="off")) is None


@pytest.mark.expect_log(logging.WARNING, "intake.hub.notify", r"^notice \w+ for .* not sent ")
def test_through_the_sender_a_gateway_error_is_retried_and_the_sms_goes_out_once(
    tmp_path, gateway, monkeypatch
):
    import uuid

    import requests

    from sync.hub.notify.sender import NoticeSender
    from sync.hub.server import HubThread

    monkeypatch.setenv("INTAKE_HUB_NOTIFY_PROVIDER", "off")
    with HubThread(f"sqlite:///{tmp_path}/hub.sqlite3", tmp_path / "blobs") as hub:
        s = station_session(hub.url, hub.store.issue_enroll_code("XX01"))
        store_id = s.store_id
        sid = str(uuid.uuid4())
        events = [
            {
                "id": str(uuid.uuid4()),
                "seq": i + 1,
                "submission_id": sid,
                "type": t,
                "payload": p,
                "clerk_id": 1,
                "at": "2026-12-02T01:30:00.000000Z",
            }
            for i, (t, p) in enumerate(
                [
                    ("created", {}),
                    ("applicant_set", {"name": "张三", "phone": "13812345678"}),
                    ("received", {"number": "XX01-20261202-0001", "items": ["birth"]}),
                ]
            )
        ]
        assert s.post(f"{hub.url}/v1/events", json={"store_id": store_id, "events": events}).ok
        key = hub.store.issue_dept_key("卫健委")
        r = requests.post(
            f"{hub.url}/v1/dept/decisions",
            json={"submission_id": sid, "item_id": "birth", "decision": "accepted"},
            headers={"Authorization": "Bearer " + key},
        )
        assert r.status_code == 201
        gateway.script = [(503, {"code": "BUSY"}), (200, "hang")]
        sender = NoticeSender(
            hub.store, provider(gateway, timeout=0.5), backoff=0.0001, backoff_max=0.0001
        )
        assert sender.run_once() == 1  # 503
        assert hub.store.notices_of(sid)[0]["last_error"] == "gateway.http_503"
        time.sleep(0.01)
        assert sender.run_once() == 1  # timed out (the gateway may have sent it: same id again)
        assert hub.store.notices_of(sid)[0]["last_error"] == "gateway.timeout"
        time.sleep(0.01)
        assert sender.run_once() == 1
        (row,) = hub.store.notices_of(sid)
        assert (row["status"], row["attempts"], row["provider"]) == ("sent", 3, "sms")
        assert len(gateway.requests) == 3
        assert {json.loads(b)["request_id"] for _h, b in gateway.requests} == {row["id"]}
        assert len(gateway.delivered) == 1  # one SMS for the applicant
        assert json.loads(gateway.requests[0][1])["template_id"] == "SMS_100"
