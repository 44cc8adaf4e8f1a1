"""deploy/ agrees with the hub's settings schema and with itself: every INTAKE_HUB_* name exists,
secrets only in the env files, the ports of the processes are the upstreams nginx proxies to,
compose wires the same services, nginx passes the largest body the hub takes, and systemd waits
longer than the hub needs to stop. The files are parsed here (PyYAML for compose, small parsers
for systemd and nginx); tests/integration/test_deploy_topology.py runs them on loopback."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from sync.hub.routes.common import MAX_JSON_BODY
from sync.hub.server import SHUTDOWN_GRACE
from sync.hub.settings import ENV_PREFIX, HubSettings, load

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECRETS = {ENV_PREFIX + n.upper() for n in HubSettings.secret_fields()}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in HubSettings.env_names():
        monkeypatch.delenv(name, raising=False)


def env_file(path):
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def unit(path):
    """systemd unit: {section: {key: [values]}} (keys may repeat, as Environment= does)."""
    out, section = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = out.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return out


def nginx_directives(text):
    """Every directive as (name, args), comments dropped, blocks flattened."""
    text = re.sub(r"#[^\n]*", "", text)
    out = []
    for stmt in re.split(r"[;{}]", text):
        words = stmt.split()
        if words:
            out.append((words[0], words[1:]))
    return out


def upstream_servers(path):
    return [args[0] for name, args in nginx_directives(path.read_text()) if name == "server"]


def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_every_intake_hub_name_in_deploy_is_a_setting():
    names = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            names |= set(re.findall(r"\bINTAKE_HUB_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    assert names, "deploy/ names no setting at all"
    assert names <= HubSettings.env_names(), names - HubSettings.env_names()


def test_the_settings_file_is_valid_and_holds_no_secret():
    raw = tomllib.loads((DEPLOY / "hub.toml").read_text(encoding="utf-8"))
    assert set(raw) <= set(HubSettings.model_fields)
    assert not set(raw) & HubSettings.secret_fields()
    s = load(DEPLOY / "hub.toml")
    assert str(s.blobs) == "/var/lib/intake-hub/blobs" and s.access_log and s.metrics


def test_secrets_are_in_the_env_files_and_nowhere_else():
    for name in ("hub.env.example", "compose.env.example"):
        hub_keys = {k for k in env_file(DEPLOY / name) if k.startswith(ENV_PREFIX)}
        assert hub_keys and hub_keys <= SECRETS, (name, hub_keys - SECRETS)
        assert ENV_PREFIX + "DB" in hub_keys
    c = compose()
    for svc in c["services"].values():
        assert not set(svc.get("environment", {})) & SECRETS
    svc = unit(DEPLOY / "systemd" / "intake-hub@.service")["Service"]
    assert not any(e.split("=")[0] in SECRETS for e in svc["Environment"])
    assert svc["EnvironmentFile"] == ["/etc/intake-hub/hub.env"]
    assert "--" not in svc["ExecStart"][0]  # no flag at all: everything from settings


def test_systemd_instances_are_the_upstreams_and_stop_in_time():
    svc = unit(DEPLOY / "systemd" / "intake-hub@.service")
    env = dict(e.split("=", 1) for e in svc["Service"]["Environment"])
    assert env["INTAKE_HUB_PORT"] == "%i" and env["INTAKE_HUB_CONFIG"] == "/etc/intake-hub/hub.toml"
    assert svc["Service"]["ExecStart"][0].endswith("python -m sync.hub")
    assert svc["Service"]["KillSignal"] == ["SIGTERM"]
    assert float(svc["Service"]["TimeoutStopSec"][0]) >= SHUTDOWN_GRACE + 2
    target = unit(DEPLOY / "systemd" / "intake-hub.target")
    ports = re.findall(r"intake-hub@(\d+)\.service", " ".join(target["Unit"]["Wants"]))
    assert len(ports) >= 2
    assert upstream_servers(DEPLOY / "nginx" / "upstream.conf") == [f"127.0.0.1:{p}" for p in ports]
    host = tomllib.loads((DEPLOY / "hub.toml").read_text())["host"]
    assert host == "127.0.0.1"  # processes behind nginx, not on the network


def test_compose_wires_the_topology_the_files_describe():
    c = compose()
    assert set(c["services"]) == {"postgres", "minio", "hub-1", "hub-2", "nginx"}
    hubs = {n: s for n, s in c["services"].items() if n.startswith("hub-")}
    ports = {}
    for name, svc in hubs.items():
        env = svc["environment"]
        assert set(env) <= HubSettings.env_names()
        load(None, **{k.removeprefix(ENV_PREFIX).lower(): v for k, v in env.items()})
        ports[name] = env["INTAKE_HUB_PORT"]
        assert svc["build"]["dockerfile"] == "deploy/Containerfile"
        assert svc["env_file"] == "compose.env"
        assert "./hub.toml:/etc/intake-hub/hub.toml:ro" in svc["volumes"]
        assert env["INTAKE_HUB_S3_ENDPOINT"] == "http://minio:9000"
    assert len(set(ports.values())) == len(hubs)
    assert upstream_servers(DEPLOY / "nginx" / "upstream-compose.conf") == [
        f"{n}:{p}" for n, p in sorted(ports.items())
    ]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in c["services"]["nginx"]["volumes"]}
    assert mounts["/etc/nginx/intake-hub-upstream.conf"] == "./nginx/upstream-compose.conf"
    assert (DEPLOY / mounts["/etc/nginx/conf.d/default.conf"]).is_file()
    # the database URL the hubs get names the compose database with its password
    secrets = env_file(DEPLOY / "compose.env.example")
    url = make_url(secrets["INTAKE_HUB_DB"])
    pg = c["services"]["postgres"]["environment"]
    assert (url.host, url.username, url.database) == (
        "postgres",
        pg["POSTGRES_USER"],
        pg["POSTGRES_DB"],
    )
    assert url.password == secrets["POSTGRES_PASSWORD"]
    assert secrets["INTAKE_HUB_S3_ACCESS_KEY"] == secrets["MINIO_ROOT_USER"]
    assert secrets["INTAKE_HUB_S3_SECRET_KEY"] == secrets["MINIO_ROOT_PASSWORD"]


def test_nginx_site_streams_the_largest_body_over_tls():
    site = dict(
        (n, a) for n, a in nginx_directives((DEPLOY / "nginx" / "intake-hub.conf").read_text())
    )
    size = site["client_max_body_size"][0]
    assert size.endswith("m") and int(size[:-1]) * 1024 * 1024 > MAX_JSON_BODY
    assert site["proxy_request_buffering"] == ["off"]  # uploads stream: the hub keeps the offset
    assert site["proxy_pass"] == ["http://intake_hub"]
    assert site["include"] == ["/etc/nginx/intake-hub-upstream.conf"]
    directives = nginx_directives((DEPLOY / "nginx" / "intake-hub.conf").read_text())
    listens = [a for n, a in directives if n == "listen"]
    assert ["443", "ssl"] in listens
    assert any(n == "ssl_certificate" for n, _a in directives)
    # the log format has neither the query string nor the whole request line
    fmt = (DEPLOY / "nginx" / "intake-hub.conf").read_text().split("log_format", 1)[1].split(";")[0]
    assert (
        "$uri" in fmt
        and "$request_uri" not in fmt
        and "$args" not in fmt
        and '$request"' not in fmt
    )


def test_the_container_runs_the_hub_from_the_hub_lock():
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    base = next(x for x in text.splitlines() if x.startswith("FROM"))
    assert base.endswith("python:3.11-slim")
    assert "requirements/hub.lock" in text and "--require-hashes" in text
    lock = (DEPLOY.parent / "installer" / "lock.sh").read_text(encoding="utf-8")
    assert re.search(r"compile hub\.lock \S+ --extra hub\b", lock)
    assert 'CMD ["python", "-m", "sync.hub"]' in text and "STOPSIGNAL SIGTERM" in text
    env = dict(re.findall(r"(INTAKE_HUB_[A-Z_]+)=(\S+)", text))
    assert env["INTAKE_HUB_CONFIG"] == "/etc/intake-hub/hub.toml"
    assert not set(env) & SECRETS
