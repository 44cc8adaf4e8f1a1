"""Ga467Reader against Ga467Simulator on a real pseudo-terminal, and the `idcard read` CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from app.capture.cardtypes import (
    build_text_block,
)
from app.capture.idcard import (
    CMD_FIND_CARD,
    CMD_READ_TEXT_PHOTO,
    CMD_SAM_STATUS,
    CMD_SELECT_CARD,
    BadFrame,
    CardWatcher,
    Frame,
    FrameReader,
    Ga467Reader,
    build_command,
)
from app.capture.idcard_sim import (
    DEMO_CARD,
    DEMO_CARD_EXPIRED,
    DEMO_CARD_RARE_CHAR,
    DEMO_CARDS,
    Ga467Simulator,
    Scenario,
)
from app.cli.idcard import register
from app.errors import DeviceError
from tests.expected_logs import IDCARD_PROBLEM, IDCARD_WATCHER_CRASHED

pytestmark = [
    pytest.mark.integration,
    IDCARD_PROBLEM,
    IDCARD_WATCHER_CRASHED,
]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 0.5  # per answer; the simulator answers in milliseconds


@pytest.fixture
def sim() -> Iterator[Ga467Simulator]:
    with Ga467Simulator(DEMO_CARD) as simulator:
        yield simulator


@pytest.fixture
def reader(sim: Ga467Simulator) -> Iterator[Ga467Reader]:
    r = Ga467Reader(sim.port, timeout=TIMEOUT)
    r.open()
    yield r
    r.close()


def _error(call: object) -> DeviceError:
    with pytest.raises(DeviceError) as info:
        call()  # type: ignore[operator]
    return info.value


# ---------------------------------------------------------------------------------- good reads


@pytest.mark.parametrize(
    "card", DEMO_CARDS, ids=lambda c: c.ethnicity_code + c.birth_date.isoformat()
)
def test_good_read_returns_every_field(sim: Ga467Simulator, card: object) -> None:
    sim.place_card(card)  # type: ignore[arg-type]
    with Ga467Reader(sim.port, timeout=TIMEOUT) as reader:
        assert reader.wait_for_card(TIMEOUT) is True
        assert reader.read() == card
    assert sim.commands == [CMD_SAM_STATUS, CMD_FIND_CARD, CMD_SELECT_CARD, CMD_READ_TEXT_PHOTO]


def test_good_read_with_answers_in_small_pieces(sim: Ga467Simulator) -> None:
    sim.chunk_size = 37
    sim.place_card(DEMO_CARD_RARE_CHAR)
    with Ga467Reader(sim.port, timeout=TIMEOUT) as reader:
        card = reader.read()
    assert card == DEMO_CARD_RARE_CHAR
    assert card.name == "\U00020bb7星辰"


def test_read_logs_no_personal_data(
    sim: Ga467Simulator, reader: Ga467Reader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intake.capture.idcard")
    card = reader.read()
    assert "idcard read ok" in caplog.text
    for secret in (card.name, card.resident_id, card.address, card.resident_id[-4:]):
        assert secret not in caplog.text


# ------------------------------------------------------------------------- no card, removed


def test_no_card(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.remove_card()
    assert reader.wait_for_card(0.25) is False
    assert sim.commands.count(CMD_FIND_CARD) >= 2  # it polled
    assert _error(reader.read).code == "idcard.no_card"


def test_card_removed_before_select(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.set_scenario(Scenario.REMOVED_AT_SELECT)
    assert reader.wait_for_card(0) is True
    err = _error(reader.read)
    assert err.code == "idcard.removed"
    assert sim.commands[-1] == CMD_SELECT_CARD


def test_card_removed_during_read(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.set_scenario(Scenario.REMOVED_AT_READ)
    err = _error(reader.read)
    assert err.code == "idcard.removed"
    assert err.details["sw3"] == 0x41
    assert sim.commands[-1] == CMD_READ_TEXT_PHOTO


def test_card_placed_again_after_removal_reads(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.set_scenario(Scenario.REMOVED_AT_READ)
    _error(reader.read)
    sim.place_card()
    assert reader.read() == DEMO_CARD


# ---------------------------------------------------------------------------------- garbled answers


def test_transient_checksum_error_is_recovered_by_resending(
    sim: Ga467Simulator, reader: Ga467Reader
) -> None:
    sim.set_scenario(Scenario.CHECKSUM_ERROR, faults=1, only=CMD_READ_TEXT_PHOTO)
    assert reader.read() == DEMO_CARD
    assert sim.commands.count(CMD_READ_TEXT_PHOTO) == 2


def test_persistent_checksum_error_is_device_error(sim: Ga467Simulator) -> None:
    with Ga467Reader(sim.port, timeout=TIMEOUT, retries=2) as reader:
        sim.set_scenario(Scenario.CHECKSUM_ERROR, only=CMD_READ_TEXT_PHOTO)
        err = _error(reader.read)
    assert err.code == "idcard.checksum"
    assert sim.commands.count(CMD_READ_TEXT_PHOTO) == 3


def test_garbage_before_the_answer_is_skipped(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.set_scenario(Scenario.GARBAGE_BEFORE)
    assert reader.read() == DEMO_CARD
    assert sim.commands.count(CMD_READ_TEXT_PHOTO) == 1  # no resend was needed


def test_garbage_instead_of_answer_is_device_error(sim: Ga467Simulator) -> None:
    with Ga467Reader(sim.port, timeout=TIMEOUT, retries=1) as reader:
        sim.set_scenario(Scenario.GARBAGE_ONLY)
        err = _error(lambda: reader.wait_for_card(0))
    assert err.code == "idcard.garbage"
    assert sim.commands.count(CMD_FIND_CARD) == 2


def test_transient_garbage_is_recovered(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.set_scenario(Scenario.GARBAGE_ONLY, faults=1, only=CMD_SELECT_CARD)
    assert reader.read() == DEMO_CARD
    assert sim.commands.count(CMD_SELECT_CARD) == 2


def test_bad_text_block_is_device_error(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    fields = {
        "name": "测试",
        "gender_code": "1",
        "ethnicity_code": "01",
        "birth_date": dt.date(1980, 2, 29),  # replaced below by the impossible 19800230
        "address": "某地",
        "resident_id": DEMO_CARD.resident_id,
        "issuer": "某局",
        "valid_from": dt.date(2010, 1, 1),
        "valid_to": None,
    }
    block = build_text_block(**fields)  # type: ignore[arg-type]
    block = block[:36] + "19800230".encode("utf-16-le") + block[52:]
    sim.place_card(DEMO_CARD, text_block=block)
    err = _error(reader.read)
    assert err.code == "idcard.bad_text"
    assert err.details["field"] == "birth_date"


# ---------------------------------------------------------------------------------- device faults


def test_silent_reader_times_out(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.set_scenario(Scenario.SILENT)
    err = _error(lambda: reader.wait_for_card(0))
    assert err.code == "idcard.timeout"
    assert "无应答" in err.message


def test_silent_reader_on_open_times_out(sim: Ga467Simulator) -> None:
    sim.set_scenario(Scenario.SILENT)
    reader = Ga467Reader(sim.port, timeout=TIMEOUT)
    assert _error(reader.open).code == "idcard.timeout"
    assert not reader.is_open


def test_sam_self_test_failure_on_open(sim: Ga467Simulator) -> None:
    sim.set_scenario(Scenario.SAM_FAILED)
    reader = Ga467Reader(sim.port, timeout=TIMEOUT)
    err = _error(reader.open)
    assert err.code == "idcard.sam_failed"
    assert "SAM" in err.message
    assert not reader.is_open
    assert sim.commands == [CMD_SAM_STATUS]


def test_bad_command_answer(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.set_scenario(Scenario.BAD_COMMAND)
    assert _error(reader.read).code == "idcard.bad_command"


def test_port_that_does_not_exist() -> None:
    reader = Ga467Reader("/dev/ttyNO_SUCH_READER", timeout=TIMEOUT)
    err = _error(reader.open)
    assert err.code == "idcard.port_unavailable"
    assert "/dev/ttyNO_SUCH_READER" in err.message and "连接线" in err.message


def test_unplugged_mid_answer_is_disconnected(sim: Ga467Simulator, reader: Ga467Reader) -> None:
    sim.set_scenario(Scenario.UNPLUG, only=CMD_READ_TEXT_PHOTO)
    err = _error(reader.read)
    assert err.code == "idcard.disconnected"
    assert "连接线" in err.message
    assert not reader.is_open


def test_unplugged_between_commands_is_disconnected(
    sim: Ga467Simulator, reader: Ga467Reader
) -> None:
    sim.unplug()
    assert _error(lambda: reader.wait_for_card(0)).code == "idcard.disconnected"
    assert _error(reader.read).code == "idcard.not_open"


def test_pyserial_url_is_accepted(sim: Ga467Simulator) -> None:
    with Ga467Reader(f"alt://{sim.port}?class=PosixPollSerial", timeout=TIMEOUT) as reader:
        assert reader.read() == DEMO_CARD


def test_url_to_something_that_is_not_a_reader_is_garbage() -> None:
    # loop:// echoes our own command back: a valid frame, but no reader answer.
    reader = Ga467Reader("loop://", timeout=TIMEOUT, retries=0)
    assert _error(reader.open).code == "idcard.garbage"


# ---------------------------------------------------------------------------------- simulator


def _raw_exchange(port: str, frame: bytes) -> list[Frame | BadFrame]:
    with serial.serial_for_url(port, baudrate=115200, timeout=TIMEOUT) as raw:
        raw.write(frame)
        return FrameReader().feed(raw.read(64))


def test_simulator_answers_damaged_command_with_status_10(sim: Ga467Simulator) -> None:
    damaged = build_command(0x20, 0x01)[:-1] + b"\x00"
    assert _raw_exchange(sim.port, damaged) == [Frame(b"\x00\x00\x10")]


def test_simulator_answers_unknown_command_with_status_21(sim: Ga467Simulator) -> None:
    assert _raw_exchange(sim.port, build_command(0x99, 0x01)) == [Frame(b"\x00\x00\x21")]


def test_simulator_find_answer_is_byte_exact(sim: Ga467Simulator) -> None:
    frames = _raw_exchange(sim.port, bytes.fromhex("AA AA AA 96 69 00 03 20 01 22"))
    assert frames == [Frame(bytes.fromhex("00 00 9F 00 00 00 00"))]


# ---------------------------------------------------------------------------------- watcher


def test_watcher_over_pty_debounces_and_survives_unplug(sim: Ga467Simulator) -> None:
    reader = Ga467Reader(sim.port, timeout=TIMEOUT)
    watcher = CardWatcher(reader, absent_polls=1)
    try:
        assert watcher.poll() == DEMO_CARD
        assert watcher.poll() is None  # same card still there
        sim.remove_card()
        assert watcher.poll() is None
        sim.place_card(DEMO_CARD_EXPIRED)
        assert watcher.poll() == DEMO_CARD_EXPIRED
        sim.unplug()
        assert watcher.poll() is None
        assert watcher.last_error is not None
        assert watcher.last_error.code == "idcard.disconnected"
        assert watcher.poll() is None  # reopening the dead port fails, the loop goes on
        assert watcher.last_error.code == "idcard.port_unavailable"
    finally:
        reader.close()


# ---------------------------------------------------------------------------------- CLI


def _cli(argv: list[str], today: dt.date = dt.date(2026, 11, 21)) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="intake")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    code = args.func(args, out=out, today=today)
    return code, out.getvalue()


def test_cli_subprocess_reads_card_as_json(sim: Ga467Simulator) -> None:
    script = (
        "import argparse, sys\n"
        "from app.cli.idcard import register\n"
        "p = argparse.ArgumentParser()\n"
        "register(p.add_subparsers(required=True))\n"
        "a = p.parse_args(sys.argv[1:])\n"
        "sys.exit(a.func(a))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "idcard", "read", "--port", sim.port, "--json",
         "--timeout", "1"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["error"] is None
    assert doc["card"]["resident_id"] == DEMO_CARD.resident_id
    assert doc["card"]["name"] == DEMO_CARD.name
    assert doc["card"]["photo_wlt_length"] == 1024
    assert "photo_wlt" not in doc["card"]


def test_cli_no_card_exits_1(sim: Ga467Simulator) -> None:
    sim.remove_card()
    code, out = _cli(["idcard", "read", "--port", sim.port, "--timeout", "0.3", "--json"])
    doc = json.loads(out)
    assert code == 1
    assert doc == {"ok": False, "card": None, "error": doc["error"]}
    assert doc["error"]["code"] == "idcard.no_card"


def test_cli_expired_card_exits_1_with_card(sim: Ga467Simulator) -> None:
    sim.place_card(DEMO_CARD_EXPIRED)
    code, out = _cli(["idcard", "read", "--port", sim.port, "--timeout", "0.5", "--json"])
    doc = json.loads(out)
    assert code == 1
    assert doc["ok"] is False and doc["error"]["code"] == "idcard.expired"
    assert doc["card"]["resident_id"] == DEMO_CARD_EXPIRED.resident_id


def test_cli_device_error_exits_2(sim: Ga467Simulator) -> None:
    sim.set_scenario(Scenario.SAM_FAILED)
    code, out = _cli(["idcard", "read", "--port", sim.port, "--timeout", "0.3", "--json"])
    assert code == 2
    assert json.loads(out)["error"]["code"] == "idcard.sam_failed"


def test_cli_missing_port_exits_2() -> None:
    code, out = _cli(["idcard", "read", "--port", "/dev/ttyNO_SUCH_READER", "--json"])
    assert code == 2
    assert json.loads(out)["error"]["code"] == "idcard.port_unavailable"


def test_cli_text_output_is_chinese_and_masks_id(sim: Ga467Simulator) -> None:
    code, out = _cli(["idcard", "read", "--port", sim.port, "--timeout", "0.5"])
    assert code == 0
    assert out.startswith("读卡成功")
    assert DEMO_CARD.resident_id not in out
    assert DEMO_CARD.resident_id[:6] + "********" + DEMO_CARD.resident_id[-4:] in out
    assert "照片解码库未配置，无法显示证件照片" in out
