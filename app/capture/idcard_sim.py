"""Simulators for the GA 467 ID card reader, and invented demo cards.

- `Ga467Simulator` answers the real serial protocol on a pseudo-terminal (POSIX only), so
  `Ga467Reader` is exercised byte for byte, faults included.
- `SimulatedReader` implements `IdCardReader` in-process for demo mode (no serial port).

All demo people are invented; their ID numbers carry valid GB 11643 check characters.
The photo bytes are a deterministic placeholder, not a decodable WLT image.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import enum
import hashlib
import logging
import os
import select
import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import Self

from app.capture.cardtypes import (
    PHOTO_LENGTH,
    IdCardData,
    card_text_block,
)
from app.capture.idcard import (
    CMD_FIND_CARD,
    CMD_READ_TEXT_PHOTO,
    CMD_SAM_STATUS,
    CMD_SELECT_CARD,
    SW_BAD_COMMAND,
    SW_CARD_FOUND,
    SW_CHECKSUM_ERROR,
    SW_FIND_FAILED,
    SW_OK,
    SW_READ_FAILED,
    SW_SAM_FAILED,
    SW_SELECT_FAILED,
    BadFrame,
    Command,
    FrameReader,
    build_read_data,
    build_response,
    device_error,
)
from app.errors import DeviceError
from app.validators import resident_id_check_char

log = logging.getLogger("intake.capture.idcard")

# --------------------------------------------------------------------------------------------
# Demo cards


def placeholder_photo(seed: str) -> bytes:
    """1024 deterministic bytes standing in for a WLT photo (not decodable)."""
    out = b""
    block = seed.encode()
    while len(out) < PHOTO_LENGTH:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:PHOTO_LENGTH]


def demo_card(
    *,
    name: str,
    gender_code: str,
    ethnicity_code: str,
    birth_date: dt.date,
    address: str,
    region: str,
    sequence: str,
    issuer: str,
    valid_from: dt.date,
    valid_to: dt.date | None,
) -> IdCardData:
    """An invented card whose ID number is built from REGION, the birth date and SEQUENCE."""
    body = region + birth_date.strftime("%Y%m%d") + sequence
    return IdCardData.create(
        name=name,
        gender_code=gender_code,
        ethnicity_code=ethnicity_code,
        birth_date=birth_date,
        address=address,
        resident_id=body + resident_id_check_char(body),
        issuer=issuer,
        valid_from=valid_from,
        valid_to=valid_to,
        photo_wlt=placeholder_photo(body),
    )


def _demo_cards() -> tuple[IdCardData, ...]:
    return (
        demo_card(
            name="陈晓燕",
            gender_code="2",
            ethnicity_code="01",
            birth_date=dt.date(1986, 3, 15),
            address="北京市朝阳区建国路88号院3号楼2单元501",
            region="110105",
            sequence="152",
            issuer="北京市公安局朝阳分局",
            valid_from=dt.date(2016, 5, 20),
            valid_to=dt.date(2036, 5, 20),
        ),
        # 𠮷 (U+20BB7, CJK Ext-B) is outside the BMP: a surrogate pair in the text block.
        demo_card(
            name="𠮷星辰",
            gender_code="1",
            ethnicity_code="01",
            birth_date=dt.date(1992, 7, 8),
            address="上海市徐汇区漕溪北路398弄12号1802室",
            region="310104",
            sequence="083",
            issuer="上海市公安局徐汇分局",
            valid_from=dt.date(2019, 9, 1),
            valid_to=dt.date(2039, 9, 1),
        ),
        demo_card(
            name="阿依古丽·买买提",
            gender_code="2",
            ethnicity_code="05",
            birth_date=dt.date(1979, 11, 23),
            address="新疆乌鲁木齐市天山区解放南路45号",
            region="650102",
            sequence="004",
            issuer="乌鲁木齐市公安局天山区分局",
            valid_from=dt.date(2008, 4, 10),
            valid_to=dt.date(2028, 4, 10),
        ),
        # Expired on 2022-06-01. 䶮 (U+4DAE) is CJK Ext-A: inside the BMP, one code unit.
        demo_card(
            name="王䶮",
            gender_code="1",
            ethnicity_code="01",
            birth_date=dt.date(1975, 2, 14),
            address="广东省深圳市南山区高新南七道18号",
            region="440305",
            sequence="231",
            issuer="深圳市公安局南山分局",
            valid_from=dt.date(2002, 6, 1),
            valid_to=dt.date(2022, 6, 1),
        ),
        # 长期: issued after the 46th birthday.
        demo_card(
            name="巴特尔",
            gender_code="1",
            ethnicity_code="02",
            birth_date=dt.date(1958, 10, 1),
            address="内蒙古自治区呼和浩特市新城区新华大街63号",
            region="150102",
            sequence="003",
            issuer="呼和浩特市公安局新城区分局",
            valid_from=dt.date(2012, 8, 15),
            valid_to=None,
        ),
    )


DEMO_CARDS: tuple[IdCardData, ...] = _demo_cards()
DEMO_CARD = DEMO_CARDS[0]
DEMO_CARD_RARE_CHAR = DEMO_CARDS[1]
DEMO_CARD_EXPIRED = DEMO_CARDS[3]
DEMO_CARD_LONG_TERM = DEMO_CARDS[4]

# --------------------------------------------------------------------------------------------
# Serial simulator


class Scenario(enum.Enum):
    """How the simulated reader answers. Card states first, then faults."""

    CARD_PRESENT = "card"  # 11FF→90, 2001→9F, 2002→90, 3001→90 + text + photo
    NO_CARD = "no_card"  # 2001→80, 2002→81, 3001→41
    REMOVED_AT_SELECT = "removed_at_select"  # found, then select fails (81)
    REMOVED_AT_READ = "removed_at_read"  # found and selected, then read fails (41)
    CHECKSUM_ERROR = "checksum"  # the normal answer with a wrong check byte
    GARBAGE_BEFORE = "garbage_before"  # noise bytes, then the normal answer
    GARBAGE_ONLY = "garbage_only"  # noise bytes instead of an answer
    SILENT = "silent"  # no answer at all
    SAM_FAILED = "sam_failed"  # every command answered 60
    BAD_COMMAND = "bad_command"  # every command answered 21
    UNPLUG = "unplug"  # half an answer, then the line goes dead (master closed)


# No preamble can form inside this (0x69 never appears), so it is pure noise to the reader.
GARBAGE = bytes([0x00, 0xFF, 0x55, 0xAA, 0xAA, 0x13, 0x96, 0x0D, 0x0A, 0x41, 0x54, 0x2B]) * 3

_KNOWN_COMMANDS = {CMD_SAM_STATUS, CMD_FIND_CARD, CMD_SELECT_CARD, CMD_READ_TEXT_PHOTO}


class Ga467Simulator:
    """A GA 467 reader on a pseudo-terminal: point `Ga467Reader(sim.port)` at it.

    `set_scenario(s, faults=n, only=(cmd, param))` applies S to the next N matching commands
    (all of them when N is None), then the simulator returns to CARD_PRESENT, or NO_CARD when no
    card is placed. `commands` records every command received, for assertions on retries.
    """

    def __init__(
        self,
        card: IdCardData | None = DEMO_CARD,
        scenario: Scenario | None = None,
        *,
        chunk_size: int | None = None,
    ) -> None:
        import tty  # POSIX only; imported here so the module loads on Windows for demo mode

        self._lock = threading.Lock()
        self._card = card
        self._text_block: bytes | None = None
        self._scenario = scenario or (Scenario.CARD_PRESENT if card else Scenario.NO_CARD)
        self._faults: int | None = None
        self._only: tuple[int, int] | None = None
        self._commands: list[tuple[int, int]] = []
        self.chunk_size = chunk_size  # write answers in pieces to exercise partial reads
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass unchanged
        self.port = os.ttyname(self._slave)
        os.set_blocking(self._master, False)
        self._master_open = True
        self._stop = threading.Event()
        self._unplug = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ga467-sim", daemon=True)
        self._thread.start()

    # -- control (any thread)

    def set_scenario(
        self,
        scenario: Scenario,
        *,
        faults: int | None = None,
        only: tuple[int, int] | None = None,
    ) -> None:
        with self._lock:
            self._scenario = scenario
            self._faults = faults
            self._only = only

    @property
    def scenario(self) -> Scenario:
        with self._lock:
            return self._scenario

    def place_card(
        self, card: IdCardData | None = None, *, text_block: bytes | None = None
    ) -> None:
        """Put a card on the reader; TEXT_BLOCK overrides the encoded text (e.g. a bad block)."""
        with self._lock:
            if card is not None:
                self._card = card
            self._text_block = text_block
            self._scenario = Scenario.CARD_PRESENT
            self._faults = None
            self._only = None

    def remove_card(self) -> None:
        self.set_scenario(Scenario.NO_CARD)

    @property
    def commands(self) -> list[tuple[int, int]]:
        with self._lock:
            return list(self._commands)

    def unplug(self) -> None:
        """Close the master side: the reader's next I/O fails as on a pulled cable."""
        self._unplug.set()
        self._thread.join(timeout=2.0)
        self._close_master()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._close_master()
        self._close_fd(self._slave)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the answering thread (the only user of the master fd while it runs)

    def _close_master(self) -> None:
        with self._lock:
            if not self._master_open:
                return
            self._master_open = False
        self._close_fd(self._master)

    @staticmethod
    def _close_fd(fd: int) -> None:
        with contextlib.suppress(OSError):  # already closed
            os.close(fd)

    def _run(self) -> None:
        reader = FrameReader(min_length=3)
        while not self._stop.is_set():
            if self._unplug.is_set():
                self._close_master()
                return
            try:
                ready, _, _ = select.select([self._master], [], [], 0.02)
                data = os.read(self._master, 4096) if ready else b""
            except OSError:
                return
            for item in reader.feed(data):
                if isinstance(item, BadFrame):
                    self._write(build_response(0, 0, SW_CHECKSUM_ERROR))
                    continue
                command = Command.from_frame(item)
                if command is None:
                    self._write(build_response(0, 0, SW_BAD_COMMAND))
                    continue
                self._answer(command)
                if self._unplug.is_set():
                    break

    def _answer(self, command: Command) -> None:
        key = (command.cmd, command.param)
        with self._lock:
            self._commands.append(key)
            scenario = self._scenario
            if self._only is not None and key != self._only:
                scenario = self._base_scenario()
            elif self._faults is not None:
                self._faults -= 1
                if self._faults <= 0:
                    self._scenario = self._base_scenario()
                    self._faults = None
                    self._only = None
            card, text_block = self._card, self._text_block
        if key not in _KNOWN_COMMANDS:
            self._write(build_response(0, 0, SW_BAD_COMMAND))
            return
        if scenario is Scenario.SILENT:
            return
        if scenario is Scenario.GARBAGE_ONLY:
            self._write(GARBAGE)
            return
        if scenario is Scenario.SAM_FAILED:
            self._write(build_response(0, 0, SW_SAM_FAILED))
            return
        if scenario is Scenario.BAD_COMMAND:
            self._write(build_response(0, 0, SW_BAD_COMMAND))
            return
        answer = self._normal_answer(key, scenario, card, text_block)
        if scenario is Scenario.CHECKSUM_ERROR:
            answer = answer[:-1] + bytes([answer[-1] ^ 0x5A])
        elif scenario is Scenario.GARBAGE_BEFORE:
            answer = GARBAGE + answer
        elif scenario is Scenario.UNPLUG:
            self._write(answer[: len(answer) // 2])
            self._unplug.set()
            return
        self._write(answer)

    def _base_scenario(self) -> Scenario:
        return Scenario.CARD_PRESENT if self._card is not None else Scenario.NO_CARD

    @staticmethod
    def _normal_answer(
        key: tuple[int, int],
        scenario: Scenario,
        card: IdCardData | None,
        text_block: bytes | None,
    ) -> bytes:
        present = card is not None and scenario not in (Scenario.NO_CARD,)
        if key == CMD_SAM_STATUS:
            return build_response(0, 0, SW_OK)
        if key == CMD_FIND_CARD:
            if present:
                return build_response(0, 0, SW_CARD_FOUND, b"\x00" * 4)
            return build_response(0, 0, SW_FIND_FAILED)
        if key == CMD_SELECT_CARD:
            if present and scenario is not Scenario.REMOVED_AT_SELECT:
                return build_response(0, 0, SW_OK, b"\x00" * 8)
            return build_response(0, 0, SW_SELECT_FAILED)
        # read text + photo
        if card is None or scenario in (
            Scenario.NO_CARD,
            Scenario.REMOVED_AT_SELECT,
            Scenario.REMOVED_AT_READ,
        ):
            return build_response(0, 0, SW_READ_FAILED)
        block = text_block if text_block is not None else card_text_block(card)
        return build_response(0, 0, SW_OK, build_read_data(block, card.photo_wlt))

    def _write(self, data: bytes) -> None:
        # Non-blocking master: a reader that stopped reading must not wedge this thread.
        size = self.chunk_size or len(data)
        view = memoryview(data)
        while view and not self._stop.is_set():
            try:
                _, writable, _ = select.select([], [self._master], [], 0.2)
                if not writable:
                    log.debug("idcard simulator answer dropped: reader not reading")
                    return
                written = os.write(self._master, view[:size])
            except BlockingIOError:
                continue
            except OSError:
                return
            view = view[written:]
            if self.chunk_size and view:
                self._stop.wait(0.002)  # let the reader see the pieces separately


# --------------------------------------------------------------------------------------------
# In-process reader for demo mode


class SimulatedReader:
    """`IdCardReader` without a port: demo mode places cards from a queue on request.

    `present()` puts the next queued card on the reader (the queue cycles), `remove()` takes it
    away; `fail_next(error)` makes the next read raise ERROR, to show error handling.
    """

    def __init__(self, cards: Iterable[IdCardData] = DEMO_CARDS) -> None:
        self._queue: collections.deque[IdCardData] = collections.deque(cards)
        self._cond = threading.Condition()
        self._current: IdCardData | None = None
        self._fail: DeviceError | None = None
        self.is_open = False

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def present(self, card: IdCardData | None = None) -> IdCardData:
        with self._cond:
            if card is None:
                if not self._queue:
                    raise ValueError("no demo cards queued")
                card = self._queue[0]
                self._queue.rotate(-1)
            self._current = card
            self._cond.notify_all()
            return card

    def remove(self) -> None:
        with self._cond:
            self._current = None

    def fail_next(self, error: DeviceError) -> None:
        with self._cond:
            self._fail = error

    def wait_for_card(self, timeout: float) -> bool:
        with self._cond:
            if not self.is_open:
                raise device_error("idcard.not_open")
            return self._cond.wait_for(lambda: self._current is not None, max(timeout, 0.0))

    def read(self) -> IdCardData:
        with self._cond:
            if not self.is_open:
                raise device_error("idcard.not_open")
            error, self._fail = self._fail, None
            if error is not None:
                raise error
            if self._current is None:
                raise device_error("idcard.no_card")
            return replace(self._current, photo_available=False)
