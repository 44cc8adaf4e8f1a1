"""Property-based testing of the live hub on loopback (schemathesis, bounded examples): every
operation of the generated description, page batches included, with a station token and a
department key; no 5xx, every response documented and matching its schema, schema-violating
requests refused. Prints the figures."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHECKS = (
    "not_a_server_error,response_schema_conformance,status_code_conformance,"
    "content_type_conformance,negative_data_rejection"
)
PLATFORM_TOKEN = "schemathesis-platform-token-0123456789"
MAX_EXAMPLES = 10  # ~900 cases, well under two minutes on the 2-core CI machine


def test_the_served_description_is_the_generated_one(hub):
    doc = requests.get(f"{hub.url}/openapi.json").json()
    assert yaml.safe_load(requests.get(f"{hub.url}/v1/openapi.yaml").text) == doc
    assert doc["paths"]["/v1/blobs"]["post"]["requestBody"]["content"].keys() == {
        "application/x-intake-blobs"
    }


def test_schemathesis_campaign_against_the_live_hub(hub, tmp_path):
    code = hub.store.issue_enroll_code("XX01")
    token = requests.post(
        f"{hub.url}/v1/enrollments",
        json={"code": code, "store_id": str(uuid.uuid4()), "station_code": "XX01"},
    ).json()["token"]
    hub.app.state.platform_token = PLATFORM_TOKEN  # the online channel open for the campaign
    env = {
        **os.environ,
        "HUB_PLATFORM_TOKEN": PLATFORM_TOKEN,
        "HUB_STATION_TOKEN": token,
        "HUB_DEPT_KEY": hub.store.issue_dept_key("卫健委"),
        "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    st = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]
    run = subprocess.run(
        [
            *st,
            "run",
            f"{hub.url}/openapi.json",
            "--url",
            hub.url,
            "--checks",
            CHECKS,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20261206",
            "--no-color",
            "--workers",
            "1",
            "--report",
            "junit",
            "--report-junit-path",
            str(tmp_path / "junit.xml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,  # its cache stays out of the repo
    )
    out = run.stdout
    ops = re.search(r"Tested: (\d+)", out)
    cases = re.search(r"(\d+) generated", out)
    failed = re.search(r"found (\d+) unique failures", out)
    print(
        f"schemathesis: {ops.group(1) if ops else '?'} operations, {cases.group(1) if cases else '?'} cases, "
        f"{failed.group(1) if failed else 0} failures"
    )
    assert run.returncode == 0, out[-6000:] + run.stderr[-2000:]
    documented = requests.get(f"{hub.url}/openapi.json").json()["paths"]
    assert ops and int(ops.group(1)) == sum(len(v) for v in documented.values())  # every operation
    assert cases and int(cases.group(1)) > 300
    assert (
        "POST /v1/blobs" in (tmp_path / "junit.xml").read_text()
    )  # the batch upload was exercised
