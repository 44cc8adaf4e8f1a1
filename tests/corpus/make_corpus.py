"""Writes the bad-input corpus files (run once; the files are committed, this script is how they
were made). The expected error codes live in manifest.json, written by hand.

Usage: python tests/corpus/make_corpus.py
"""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def sqlite_file(path: Path, statements: list[str]) -> None:
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    for sql in statements:
        con.execute(sql)
    con.commit()
    con.execute("VACUUM")
    con.close()


OUR_TABLES = [
    "create table settings (key varchar(64) primary key, value text)",
    "create table submissions (id varchar(36) primary key)",
    "create table events (id varchar(36) primary key)",
    "create table audit_entries (id integer primary key)",
]


def databases(d: Path) -> None:
    d.mkdir(exist_ok=True)
    (d / "empty.sqlite3").write_bytes(b"")
    (d / "text.sqlite3").write_text("这是一份会议纪要，不是数据库。\n" * 40, encoding="utf-8")
    sqlite_file(
        d / "foreign.sqlite3",
        [
            "create table customers (id integer primary key, name text)",
            "insert into customers (name) values ('x')",
        ],
    )
    (d / "header-only.sqlite3").write_bytes((d / "foreign.sqlite3").read_bytes()[:60])
    sqlite_file(
        d / "foreign-app-id.sqlite3",
        [
            *OUR_TABLES,
            "create table alembic_version (version_num varchar(32))",
            "insert into alembic_version values ('0006')",
            "PRAGMA application_id = 1234",
        ],
    )
    sqlite_file(
        d / "newer-schema.sqlite3",
        [
            *OUR_TABLES,
            "create table alembic_version (version_num varchar(32))",
            "insert into alembic_version values ('9999')",
            f"PRAGMA application_id = {0x594A5331}",
        ],
    )
    # Stamped 0007, but attachments already has 0008's shape: the upgrade cannot apply.
    sqlite_file(
        d / "stamp-older-than-schema.sqlite3",
        [
            *OUR_TABLES,
            "create table alembic_version (version_num varchar(32))",
            "insert into alembic_version values ('0007')",
            "create table attachments (id varchar(36) primary key, sha256 blob, address varchar(64))",
            "create table documents (id varchar(36) primary key, sha256 blob, address varchar(64))",
            f"PRAGMA application_id = {0x594A5331}",
        ],
    )


def catalogs(d: Path) -> None:
    d.mkdir(exist_ok=True)
    cat = ROOT / "resources" / "catalog"
    header = json.loads((cat / "catalog.json").read_text(encoding="utf-8"))
    materials = []
    for f in ("common.json", "personal_life.json"):
        materials += json.loads((cat / "materials" / f).read_text(encoding="utf-8"))["materials"]
    bundle = json.loads((cat / "bundles" / "newborn_birth.json").read_text(encoding="utf-8"))
    cond: dict = {"q": "parents_married", "op": "eq", "value": True}
    for _ in range(200):
        cond = {"all": [cond]}
    bundle["items"][0]["when"], bundle["items"][0]["reason"] = cond, "测试条件"
    (d / "deep-condition.json").write_text(
        json.dumps(
            {"header": header, "materials": materials, "bundles": [bundle]}, ensure_ascii=False
        ),
        encoding="utf-8",
    )
    (d / "deep-json.json").write_text("[" * 3000 + "]" * 3000, encoding="utf-8")
    (d / "not-json.json").write_text('{"header": {"version": "2024.1",', encoding="utf-8")
    (d / "gbk.json").write_bytes('{"名称": "新生儿出生"}'.encode("gbk"))
    (d / "schema.json").write_text(
        '{"header": {}, "materials": [], "bundles": []}', encoding="utf-8"
    )


def ids(d: Path) -> None:
    d.mkdir(exist_ok=True)
    for name, value in {
        "id-check-digit.txt": "320102198001010013",
        "id-impossible-date.txt": "110105199902300012",
        "id-future-birth.txt": "11010520991231002X",
        "id-too-short.txt": "12345",
        "uscc-check-char.txt": "91350100M000100Y44",
        "uscc-bad-charset.txt": "ABCDEFGHIJKLMNOPQR",
    }.items():
        (d / name).write_text(value + "\n", encoding="utf-8")


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def images(d: Path) -> None:
    d.mkdir(exist_ok=True)
    (d / "not-an-image.jpg").write_text("这不是图片", encoding="utf-8")
    (d / "empty.jpg").write_bytes(b"")
    (d / "truncated.png").write_bytes(
        (ROOT / "docs" / "screenshots" / "workspace.png").read_bytes()[:600]
    )
    (d / "pixel-bomb.png").write_bytes(_png(60000, 60000))  # 3.6 G pixels claimed in 100 bytes


def pdfs(d: Path) -> None:
    from pypdf import PdfWriter

    d.mkdir(exist_ok=True)
    (d / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    w = PdfWriter()
    w.add_blank_page(595, 842)
    w.encrypt("secret")
    buf = io.BytesIO()
    w.write(buf)
    (d / "encrypted.pdf").write_bytes(buf.getvalue())


def qr(d: Path) -> None:
    import datetime as dt

    from app.numbering import encode_receipt_payload, format_intake_number

    d.mkdir(exist_ok=True)
    number = format_intake_number("XX01", dt.date(2024, 12, 2), 1)
    (d / "not-ours.txt").write_text("https://example.com/?a=1\n", encoding="utf-8")
    (d / "unsigned.txt").write_text(encode_receipt_payload(number) + "\n", encoding="utf-8")
    (d / "unknown-key.txt").write_text(
        encode_receipt_payload(number, t="20241202T093000", m="0" * 32, k="deadbeef", s="A" * 86)
        + "\n",
        encoding="utf-8",
    )


def backups(d: Path) -> None:
    d.mkdir(exist_ok=True)
    (d / "not-a-backup.yjsbak").write_bytes(b"PK\x03\x04 this is a zip, not a backup" * 10)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    databases(HERE / "db")
    catalogs(HERE / "catalog")
    ids(HERE / "id")
    images(HERE / "image")
    pdfs(HERE / "pdf")
    qr(HERE / "qr")
    backups(HERE / "backup")
