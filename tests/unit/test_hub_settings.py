"""The hub's configuration: flags over INTAKE_HUB_* over the TOML file, secrets never as flags,
a bad file or value is a Chinese message with a code (sync/hub/settings.py)."""

import pytest

from sync.cli import main_hub_serve
from sync.hub.settings import HubSettings, SettingsError, load


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in HubSettings.env_names():
        monkeypatch.delenv(name, raising=False)


def test_flags_win_over_environment_which_wins_over_the_file(tmp_path, monkeypatch):
    cfg = tmp_path / "hub.toml"
    cfg.write_text(
        'host = "0.0.0.0"\nport = 8801\nhub_id = "file"\n'
        'db = "postgresql+psycopg://hub:s3cret@db/hub"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("INTAKE_HUB_PORT", "8802")
    monkeypatch.setenv("INTAKE_HUB_HUB_ID", "env")
    s = load(cfg, hub_id="flag", port=None)
    assert s.host == "0.0.0.0"  # only in the file
    assert s.port == 8802  # environment over file
    assert s.hub_id == "flag"  # flag over environment
    assert s.db_url() == "postgresql+psycopg://hub:s3cret@db/hub"
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump())


def test_the_config_file_may_come_from_the_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "hub.toml"
    cfg.write_text('blobs = "/srv/pages"\n', encoding="utf-8")
    monkeypatch.setenv("INTAKE_HUB_CONFIG", str(cfg))
    assert str(load().blobs) == "/srv/pages"


def test_a_password_in_a_database_flag_is_refused(tmp_path):
    with pytest.raises(SettingsError) as e:
        load(db="postgresql+psycopg://hub:s3cret@db/hub")
    assert e.value.code == "hub.secret_on_command_line"
    assert "INTAKE_HUB_DB" in e.value.message and "命令行" in e.value.message
    assert "s3cret" not in e.value.message
    # a URL without a password is no secret
    assert load(db=f"sqlite:///{tmp_path}/h.db").db_url() == f"sqlite:///{tmp_path}/h.db"


def test_serve_refuses_the_secret_flag_before_starting(capsys):
    assert main_hub_serve(["--db", "postgresql+psycopg://hub:s3cret@127.0.0.1:1/hub"]) == 1
    err = capsys.readouterr()
    assert "hub.secret_on_command_line" in err.out and "错误：密钥和密码不能写在命令行上" in err.err
    assert "s3cret" not in err.out + err.err


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("port = 'eighty'\n", "hub.config_invalid", "port"),
        ("prot = 8700\n", "hub.config_unknown", "prot"),
        ("port = \n", "hub.config_malformed", "TOML"),
    ],
)
def test_a_bad_file_gets_a_code_and_a_chinese_message(tmp_path, text, code, words):
    cfg = tmp_path / "hub.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as e:
        load(cfg)
    assert e.value.code == code and words in e.value.message and "平台配置" in e.value.message


def test_a_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("INTAKE_HUB_PORT", "99999")
    with pytest.raises(SettingsError) as e:
        load()
    assert e.value.code == "hub.config_invalid" and "INTAKE_HUB_PORT" in e.value.message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(SettingsError) as e:
        load(tmp_path / "nope.toml")
    assert e.value.code == "hub.config_missing" and "nope.toml" in e.value.message
