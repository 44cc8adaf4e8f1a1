"""Second-generation resident ID card reader over the GA 467 SAM serial protocol.

Layers, bottom up:
- frame helpers (`build_command`, `build_response`, `FrameReader`): bytes on the wire;
- the 256-byte text block and `IdCardData` live in `app.capture.cardtypes` (every card type);
- `Ga467Reader`: find / select / read over pyserial, with bounded retries of garbled answers;
- `CardWatcher`: the polling logic a background task calls repeatedly.

Every failure reaches the caller as `DeviceError` with a stable `idcard.*` code and a Chinese
message for the clerk. Nothing personal (name, ID number, address, photo) is ever logged.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, Protocol, Self, runtime_checkable

import serial

from app.capture.cardtypes import IdCardData, parse_card_block
from app.capture.photo import PhotoDecoder, with_photo
from app.errors import DeviceError

try:  # POSIX only: pyserial lets termios.error escape from some calls on a vanished pty
    import termios

    _TERMIOS_ERRORS: tuple[type[BaseException], ...] = (termios.error,)
except ImportError:  # pragma: no cover - Windows
    _TERMIOS_ERRORS = ()

log = logging.getLogger("intake.capture.idcard")

# --------------------------------------------------------------------------------------------
# Frames

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"

# Commands (cmd, param)
CMD_SAM_STATUS = (0x11, 0xFF)
CMD_FIND_CARD = (0x20, 0x01)
CMD_SELECT_CARD = (0x20, 0x02)
CMD_READ_TEXT_PHOTO = (0x30, 0x01)

# SW3 status codes
SW_OK = 0x90
SW_CARD_FOUND = 0x9F
SW_FIND_FAILED = 0x80
SW_SELECT_FAILED = 0x81
SW_CHECKSUM_ERROR = 0x10
SW_LENGTH_ERROR = 0x11
SW_BAD_COMMAND = 0x21
SW_READ_FAILED = 0x41
SW_SAM_FAILED = 0x60

# A real read answer is 1288 bytes of length; anything far beyond that is a corrupted length.
MAX_FRAME_LENGTH = 0x1000


def xor_check(data: bytes) -> int:
    """XOR of DATA: the check byte covers the length field and everything up to the check."""
    value = 0
    for b in data:
        value ^= b
    return value


def build_frame(payload: bytes) -> bytes:
    """Preamble, 2-byte big-endian length (payload + check), payload, XOR check."""
    length = len(payload) + 1
    if length > 0xFFFF:
        raise ValueError("frame payload too long")
    body = length.to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([xor_check(body)])


def build_command(cmd: int, param: int, data: bytes = b"") -> bytes:
    return build_frame(bytes([cmd, param]) + data)


def build_response(sw1: int, sw2: int, sw3: int, data: bytes = b"") -> bytes:
    return build_frame(bytes([sw1, sw2, sw3]) + data)


@dataclass(frozen=True)
class Frame:
    """A frame whose check byte matched; `payload` lies between the length and the check."""

    payload: bytes


@dataclass(frozen=True)
class BadFrame:
    """A frame that failed: `checksum` (check byte wrong) or `length` (impossible length)."""

    reason: Literal["checksum", "length"]
    length: int
    expected: int | None = None
    actual: int | None = None


@dataclass(frozen=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @classmethod
    def from_frame(cls, frame: Frame) -> Response | None:
        if len(frame.payload) < 3:
            return None
        p = frame.payload
        return cls(p[0], p[1], p[2], p[3:])


@dataclass(frozen=True)
class Command:
    cmd: int
    param: int
    data: bytes

    @classmethod
    def from_frame(cls, frame: Frame) -> Command | None:
        if len(frame.payload) < 2:
            return None
        p = frame.payload
        return cls(p[0], p[1], p[2:])


class FrameReader:
    """Incremental frame parser for a byte stream arriving in arbitrary chunks.

    Bytes before a preamble are skipped (counted in `skipped`). A frame with a wrong check byte
    is reported as `BadFrame("checksum")` and dropped whole, since its length said where it ends;
    an impossible length drops only the preamble so the search resumes right after it.
    """

    def __init__(self, min_length: int = 3, max_length: int = MAX_FRAME_LENGTH) -> None:
        self._buf = bytearray()
        self._min = min_length
        self._max = max_length
        self.skipped = 0

    @property
    def pending(self) -> int:
        """Bytes held back: a partial preamble or an incomplete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        self._buf += data
        out: list[Frame | BadFrame] = []
        while True:
            start = self._buf.find(PREAMBLE)
            if start < 0:
                # Keep a tail that could be the start of a preamble split across chunks.
                keep = _preamble_prefix_len(self._buf)
                drop = len(self._buf) - keep
                self.skipped += drop
                del self._buf[:drop]
                return out
            if start:
                self.skipped += start
                del self._buf[:start]
            if len(self._buf) < 7:
                return out
            length = int.from_bytes(self._buf[5:7], "big")
            if length < self._min or length > self._max:
                out.append(BadFrame("length", length))
                del self._buf[:5]
                continue
            total = 7 + length
            if len(self._buf) < total:
                return out
            body = bytes(self._buf[5 : total - 1])
            check = self._buf[total - 1]
            expected = xor_check(body)
            del self._buf[:total]
            if check != expected:
                out.append(BadFrame("checksum", length, expected=expected, actual=check))
            else:
                out.append(Frame(body[2:]))


def _preamble_prefix_len(buf: bytearray) -> int:
    for n in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1):
        if buf.endswith(PREAMBLE[:n]):
            return n
    return 0


# --------------------------------------------------------------------------------------------
# Errors


def device_error(code: str, **details: Any) -> DeviceError:
    """DeviceError with this module's Chinese message for CODE (details fill placeholders)."""
    return DeviceError(code, **details)


def build_read_data(text_block: bytes, photo_wlt: bytes) -> bytes:
    """Body of a successful 30 01 answer: text length, photo length (BE), text, photo."""
    return (
        len(text_block).to_bytes(2, "big")
        + len(photo_wlt).to_bytes(2, "big")
        + text_block
        + photo_wlt
    )


# --------------------------------------------------------------------------------------------
# Reader


@runtime_checkable
class IdCardReader(Protocol):
    def open(self) -> None: ...

    def close(self) -> None: ...

    def wait_for_card(self, timeout: float) -> bool: ...

    def read(self) -> IdCardData: ...


class SerialPort(Protocol):
    """The part of pyserial's Serial that the reader uses."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


SerialFactory = Callable[..., SerialPort]

# Serial reads block at most this long so command deadlines are checked often.
_READ_SLICE = 0.05

_IO_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, *_TERMIOS_ERRORS)
# serial_for_url raises ValueError for an unknown URL scheme or bad settings.
_OPEN_ERRORS: tuple[type[BaseException], ...] = (*_IO_ERRORS, ValueError)


class Ga467Reader:
    """GA 467 reader on a serial port (or any pyserial URL).

    `timeout` bounds each answer; the 30 01 read of text and photo gets `read_timeout`
    (default twice `timeout`) because the RF read of 1.3 KB is the slow step on real readers.
    Garbled answers (checksum failure, bytes without a frame, or the reader reporting that our
    frame arrived damaged) are retried `retries` times by resending the command.
    Not thread-safe: one background task owns it.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        timeout: float = 1.0,
        serial_factory: SerialFactory = serial.serial_for_url,
        *,
        retries: int = 2,
        read_timeout: float | None = None,
        poll_interval: float = 0.1,
        photo_decoder: PhotoDecoder | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.read_timeout = read_timeout if read_timeout is not None else 2 * timeout
        self.retries = retries
        self.poll_interval = poll_interval
        self.photo_decoder = photo_decoder
        self._factory = serial_factory
        self._clock = clock
        self._sleep = sleep
        self._serial: SerialPort | None = None
        self._card_found = False

    # -- lifecycle

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        """Open the port and check the SAM; idempotent."""
        if self._serial is not None:
            return
        try:
            self._serial = self._factory(
                self.port, baudrate=self.baudrate, timeout=_READ_SLICE, write_timeout=self.timeout
            )
        except _OPEN_ERRORS as exc:
            log.warning("idcard port open failed: %s", type(exc).__name__)
            raise device_error("idcard.port_unavailable", port=self.port) from None
        log.info("idcard port opened")
        try:
            self.sam_status()
        except DeviceError:
            self.close()
            raise

    def close(self) -> None:
        port, self._serial = self._serial, None
        self._card_found = False
        if port is not None:
            with contextlib.suppress(*_OPEN_ERRORS):  # already gone: nothing left to release
                port.close()
            log.info("idcard port closed")

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands

    def sam_status(self) -> None:
        r = self._command(*CMD_SAM_STATUS)
        if r.sw3 != SW_OK:
            raise self._status_error(r.sw3)

    def wait_for_card(self, timeout: float) -> bool:
        """Poll "find card" until one is found (True) or TIMEOUT seconds pass (False)."""
        deadline = self._clock() + max(timeout, 0.0)
        self._card_found = False
        while True:
            r = self._command(*CMD_FIND_CARD)
            if r.sw3 == SW_CARD_FOUND:
                self._card_found = True
                return True
            if r.sw3 != SW_FIND_FAILED:
                raise self._status_error(r.sw3)
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            self._sleep(min(self.poll_interval, remaining))

    def read(self) -> IdCardData:
        """Find (unless wait_for_card just found it), select and read text + photo."""
        found, self._card_found = self._card_found, False
        if not found:
            r = self._command(*CMD_FIND_CARD)
            if r.sw3 != SW_CARD_FOUND:
                raise self._status_error(r.sw3)
        r = self._command(*CMD_SELECT_CARD)
        if r.sw3 != SW_OK:
            raise self._status_error(r.sw3)
        r = self._command(*CMD_READ_TEXT_PHOTO, timeout=self.read_timeout)
        if r.sw3 != SW_OK:
            raise self._status_error(r.sw3)
        card = self._parse_read(r.data)
        log.info("idcard read ok")
        return card

    def _parse_read(self, data: bytes) -> IdCardData:
        if len(data) < 4:
            raise device_error("idcard.garbage")
        text_len = int.from_bytes(data[0:2], "big")
        photo_len = int.from_bytes(data[2:4], "big")
        if len(data) != 4 + text_len + photo_len:
            log.warning("idcard read answer lengths inconsistent")
            raise device_error("idcard.garbage")
        card = parse_card_block(data[4 : 4 + text_len], data[4 + text_len :])
        return with_photo(card, self.photo_decoder)

    def _status_error(self, sw3: int) -> DeviceError:
        log.warning("idcard reader status %02X", sw3)
        if sw3 == SW_FIND_FAILED:
            return device_error("idcard.no_card")
        if sw3 in (SW_SELECT_FAILED, SW_READ_FAILED):
            return device_error("idcard.removed", sw3=sw3)
        if sw3 == SW_SAM_FAILED:
            return device_error("idcard.sam_failed", sw3=sw3)
        if sw3 == SW_BAD_COMMAND:
            return device_error("idcard.bad_command", sw3=sw3)
        return device_error("idcard.status", sw3=sw3)

    def _command(
        self, cmd: int, param: int, data: bytes = b"", timeout: float | None = None
    ) -> Response:
        """Send a command and return its answer, resending after a garbled answer."""
        if self._serial is None:
            raise device_error("idcard.not_open")
        frame = build_command(cmd, param, data)
        failure = "garbage"
        for attempt in range(1, self.retries + 2):
            self._send(frame)
            outcome = self._receive(self.timeout if timeout is None else timeout)
            if isinstance(outcome, Response):
                if outcome.sw3 not in (SW_CHECKSUM_ERROR, SW_LENGTH_ERROR):
                    log.debug("idcard %02X%02X -> %02X", cmd, param, outcome.sw3)
                    return outcome
                failure = "checksum"  # the reader received our frame damaged
            else:
                failure = outcome
            log.warning(
                "idcard %02X%02X answer %s (attempt %d of %d)",
                cmd, param, failure, attempt, self.retries + 1,
            )  # fmt: skip
        raise device_error(f"idcard.{failure}", command=f"{cmd:02X}{param:02X}")

    def _send(self, frame: bytes) -> None:
        port = self._require_port()
        try:
            port.reset_input_buffer()  # drop a late answer to an earlier command
            port.write(frame)
        except serial.SerialTimeoutException:
            raise device_error("idcard.timeout") from None
        except _IO_ERRORS as exc:
            self._lost(exc)

    def _receive(self, timeout: float) -> Response | Literal["checksum", "garbage"]:
        port = self._require_port()
        reader = FrameReader(min_length=4)
        deadline = self._clock() + timeout
        got_bytes = False
        while self._clock() < deadline:
            try:
                waiting = port.in_waiting
                chunk = port.read(waiting if waiting > 0 else 1)
            except _IO_ERRORS as exc:
                self._lost(exc)
            if not chunk:
                continue
            got_bytes = True
            for item in reader.feed(chunk):
                if isinstance(item, BadFrame):
                    return "checksum" if item.reason == "checksum" else "garbage"
                response = Response.from_frame(item)
                return response if response is not None else "garbage"
        if got_bytes:
            return "garbage"
        log.warning("idcard reader no answer")
        raise device_error("idcard.timeout")

    def _require_port(self) -> SerialPort:
        if self._serial is None:
            raise device_error("idcard.not_open")
        return self._serial

    def _lost(self, exc: BaseException) -> NoReturn:
        log.warning("idcard port lost: %s", type(exc).__name__)
        self.close()
        raise device_error("idcard.disconnected") from None


# --------------------------------------------------------------------------------------------
# Watcher

# Errors after which the port must be reopened before the next poll can succeed.
_REOPEN_CODES = frozenset({"idcard.port_unavailable", "idcard.disconnected", "idcard.not_open"})


class CardWatcher:
    """Polling logic for a background loop: `poll()` returns a card once per placement.

    A card is read when it appears and not again while it stays; it counts as removed after
    `absent_polls` consecutive polls without it (so a card at the edge of the field that
    flickers is not read twice). Errors never escape: `poll()` returns None and `last_error`
    holds the DeviceError; after a port error the reader is reopened on the next poll.
    """

    def __init__(self, reader: IdCardReader, *, absent_polls: int = 2) -> None:
        self.reader = reader
        self.absent_polls = max(1, absent_polls)
        self.last_error: DeviceError | None = None
        self.card_present = False  # a card is on the reader and has been read
        self._absent = 0
        self._needs_open = True

    def poll(self, force: bool = False) -> IdCardData | None:
        """FORCE (the clerk pressed 读卡): read the card on the reader even if it was read."""
        if force:
            self.card_present = False
        try:
            return self._poll()
        except DeviceError as exc:
            self._fail(exc)
        except Exception as exc:
            log.error("idcard watcher unexpected %s", type(exc).__name__)
            self._fail(device_error("idcard.internal"))
        return None

    def _poll(self) -> IdCardData | None:
        if self._needs_open:
            self.reader.open()
            self._needs_open = False
        found = self.reader.wait_for_card(0.0)
        self.last_error = None
        if not found:
            self._absent += 1
            if self._absent >= self.absent_polls:
                self.card_present = False
            return None
        self._absent = 0
        if self.card_present:
            return None
        try:
            card = self.reader.read()
        except DeviceError as exc:
            # An unreadable card stays unread until it is taken away, not re-read every poll.
            self.card_present = exc.code == "idcard.bad_text"
            raise
        self.card_present = True
        return card

    def _fail(self, exc: DeviceError) -> None:
        self.last_error = exc
        if exc.code in _REOPEN_CODES:
            self._needs_open = True
            self.card_present = False
            try:
                self.reader.close()  # release the port now; reopened on the next poll
            except Exception as close_exc:
                log.error("idcard watcher close failed: %s", type(close_exc).__name__)
