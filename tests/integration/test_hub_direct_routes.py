"""The routes stations call all day are answered without FastAPI's dependency machinery, yet
stay what the description says: same parameters, security and schemas in the OpenAPI, same
refusals of a bad parameter or a missing token, same metrics and access log."""

from __future__ import annotations

import json
import logging
import uuid

import fastapi.routing
import pytest
import requests

from sync.hub.ops import setup_access_log
from sync.protocol import INTAKE_BUNDLE, intake_bundle
from sync.schemas import SEQ_MAX

pytestmark = pytest.mark.integration

DIRECT = [
    ("get", "/healthz"),
    ("get", "/v1/ping"),
    ("get", "/v1/catalog"),
    ("get", "/v1/status-updates"),
    ("post", "/v1/manifests"),
    ("post", "/v1/events"),
    ("post", "/v1/intakes"),
]


def enrolled(hub) -> tuple[requests.Session, str]:
    store_id = str(uuid.uuid4())
    r = requests.post(
        f"{hub.url}/v1/enrollments",
        json={"code": hub.store.issue_enroll_code("XX01"), "store_id": store_id},
    )
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + r.json()["token"]
    return s, store_id


def test_the_hot_routes_answer_without_solving_dependencies(hub, monkeypatch):
    s, store_id = enrolled(hub)

    async def refuse(*_a, **_k):
        raise AssertionError("dependency machinery used")

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", refuse)
    assert requests.get(f"{hub.url}/healthz").json()["ok"] is True
    assert s.get(f"{hub.url}/v1/ping").json()["station_code"] == "XX01"
    assert s.get(f"{hub.url}/v1/status-updates", params={"after": 0}).json()["updates"] == []
    assert s.get(f"{hub.url}/v1/catalog").status_code == 404  # none published: refused as before
    assert s.post(f"{hub.url}/v1/manifests", json={"manifests": []}).json()["needed"] == []
    r = s.post(f"{hub.url}/v1/events", json={"store_id": store_id, "events": []})
    assert r.status_code == 200 and r.json()["results"] == []
    body = intake_bundle({"store_id": store_id, "manifests": [], "events": []}, [])
    r = s.post(f"{hub.url}/v1/intakes", data=body, headers={"Content-Type": INTAKE_BUNDLE})
    assert r.status_code == 200 and r.json()["results"] == [] and r.json()["blobs"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("after=abc", "参数 after 应为整数"),
        ("after=-1", "参数 after 应为整数（0～）"),
        (f"after={SEQ_MAX + 1}", f"参数 after 应为整数（～{SEQ_MAX}）"),
        ("limit=0", "参数 limit 应为整数（1～）"),
        ("limit=1001", "参数 limit 应为整数（～1000）"),
        ("limit=1.5", "参数 limit 应为整数"),
    ],
)
def test_a_bad_parameter_is_refused_as_the_hub_refuses_any(hub, query, message):
    s, _ = enrolled(hub)
    r = s.get(f"{hub.url}/v1/status-updates?{query}")
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["message"], error["retry"]) == (
        "request.parameter",
        message,
        False,
    )


def test_a_missing_or_unknown_token_is_refused_on_every_station_route(hub):
    for method, path in DIRECT[1:]:
        r = requests.request(method, f"{hub.url}{path}", json={})
        assert r.status_code == 401 and r.json()["error"]["code"] == "auth.missing", path
        r = requests.request(
            method, f"{hub.url}{path}", json={}, headers={"Authorization": "Bearer ist1.nope"}
        )
        assert r.status_code == 401, path


def test_the_description_keeps_their_parameters_security_and_schemas(hub):
    doc = requests.get(f"{hub.url}/openapi.json").json()
    ops = {(m, p): doc["paths"][p][m] for m, p in DIRECT}
    for (_m, path), op in ops.items():
        if path != "/healthz":
            assert op["security"] == [{"station": []}], path
    params = {p["name"]: p for p in ops[("get", "/v1/status-updates")]["parameters"]}
    assert params["after"]["schema"]["minimum"] == 0
    assert params["after"]["schema"]["maximum"] == SEQ_MAX
    assert (params["limit"]["schema"]["minimum"], params["limit"]["schema"]["maximum"]) == (1, 1000)
    catalog = ops[("get", "/v1/catalog")]
    assert {p["name"] for p in catalog["parameters"]} == {"If-None-Match"}
    assert "304" in catalog["responses"]
    for path, model in (("/v1/manifests", "ManifestsIn"), ("/v1/events", "EventsIn")):
        body = ops[("post", path)]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model}"}
    ok = ops[("get", "/v1/status-updates")]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"] == "#/components/schemas/StatusUpdates"


def test_they_are_counted_and_logged_by_route_with_the_station(hub, caplog):
    import io

    stream = io.StringIO()
    setup_access_log(stream)
    try:
        s, _ = enrolled(hub)
        s.get(f"{hub.url}/v1/status-updates", params={"after": 0})
        s.get(f"{hub.url}/v1/status-updates", params={"after": "x"})
    finally:
        logging.getLogger("intake.hub.access").handlers.clear()
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    feed = [x for x in lines if x["route"] == "/v1/status-updates"]
    assert [(x["status"], x["station"]) for x in feed] == [(200, "XX01"), (400, "XX01")]
    metrics = requests.get(f"{hub.url}/metrics").text
    assert (
        'intake_hub_requests_total{method="GET",route="/v1/status-updates",status="200"} 1.0'
        in metrics
    )
    assert (
        'intake_hub_requests_total{method="GET",route="/v1/status-updates",status="400"} 1.0'
        in metrics
    )
