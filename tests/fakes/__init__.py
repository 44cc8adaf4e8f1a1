"""Fake vendor libraries for the ID card reader tests, compiled from C with `cc` on demand.

`build(directory)` compiles `fake_idreader.c` (both SDK families' entry points) and
`fake_wlt.c` (a WLT decoder's `unpack`); `FakeReader` writes the configuration the fake reads
on every call (which card is present, forced return codes, delays) and reads its call log.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUFFIX = ".so"


@dataclass(frozen=True)
class FakeLibs:
    reader: Path  # exports SDT_* and CVR_* entry points
    wlt: Path  # exports unpack()


def build(directory: Path) -> FakeLibs:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:  # gcc is on every machine this suite runs on
        raise RuntimeError("no C compiler (cc) on PATH: the fake vendor libraries need one")
    out = {}
    for name in ("fake_idreader", "fake_wlt"):
        target = directory / f"lib{name}{SUFFIX}"
        subprocess.run(
            [compiler, "-shared", "-fPIC", "-O1", "-o", str(target), str(HERE / f"{name}.c")],
            check=True,
            capture_output=True,
        )
        out[name] = target
    return FakeLibs(out["fake_idreader"], out["fake_wlt"])


class FakeReader:
    """The fake library's configuration file (env FAKE_IDREADER_CONFIG points at it)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.config = directory / "fake_idreader.conf"
        self.log = directory / "calls.log"
        self.values: dict[str, str] = {}
        self.write()

    def set(self, **values: object) -> None:
        """Keys with dots are passed as e.g. `**{"rc.SDT_OpenPort": 1}`."""
        self.values.update({k: str(v) for k, v in values.items()})
        self.write()

    def unset(self, *keys: str) -> None:
        for key in keys:
            self.values.pop(key, None)
        self.write()

    def place(self, text: bytes, photo: bytes = b"") -> None:
        (self.dir / "text.bin").write_bytes(text)
        (self.dir / "photo.wlt").write_bytes(photo)
        self.set(present=1, text=self.dir / "text.bin", photo=self.dir / "photo.wlt")

    def place_cvr(self, getters: dict[str, bytes], bmp: bytes | None = None) -> None:
        for name, value in getters.items():
            self.values[f"cvr.{name}"] = value.hex()
        if bmp is not None:
            (self.dir / "photo.bmp").write_bytes(bmp)
            self.values["bmp"] = str(self.dir / "photo.bmp")
        self.set(present=1)

    def remove(self) -> None:
        self.set(present=0)

    def write(self) -> None:
        lines = [f"log={self.log}", *(f"{k}={v}" for k, v in self.values.items())]
        self.config.write_text("\n".join(lines) + "\n")

    def calls(self) -> list[str]:
        if not self.log.exists():
            return []
        return [line.split()[0] for line in self.log.read_text().splitlines()]
