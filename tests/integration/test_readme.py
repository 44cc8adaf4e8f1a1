"""The README stands alone and its commands work: every `intake …` command it shows (in code
blocks and in the text) is run here as written, in a fresh data directory, with only its
placeholders (FILE, CODE, the receipt's QR …) replaced by the real thing."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


# -- what the README shows ------------------------------------------------------------------


def _expand(line: str) -> list[str]:
    """`intake backup run | verify FILE | restore …` is shorthand for several commands that share
    the words before the last one; `[…]` marks an option (run with it)."""
    line = re.sub(r"\s+#\s.*$", "", line).strip()
    parts = [p.strip() for p in re.split(r"\s+\|\s+", line)]
    words = parts[0].split()
    prefix = " ".join(words[:-1]) if len(parts) > 1 else ""
    out = [parts[0]] + [f"{prefix} {p}" for p in parts[1:]]
    return [re.sub(r"\[(.*?)\]", r"\1", c).strip() for c in out]


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    found: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith("intake "):
                found.extend(_expand(line))
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found.extend(c for c in re.findall(r"`(intake [^`]+)`", prose))
    return list(dict.fromkeys(found))


# The order they are run in (each may need what an earlier one made), and nothing else: a command
# added to the README without a line here fails the test, and so does one removed.
RUN_ORDER = [
    "intake --version",
    "intake id-check 11010519491231002X --json",
    "intake catalog list --json",
    "intake catalog show 新生儿出生",
    "intake catalog validate resources/catalog",
    "intake checklist 开办餐饮店 --answer business_area=350 --answer venue_ownership=rented "
    "--have business_license --tolerate lease_contract --json",
    "intake checklist 企业注销",
    "intake demo-data --count 1000 --days 30",
    "intake ledger --date 2024-12-02 --json",
    "intake print receipt XX01-241202-0001-4 --out r.pdf --paper A5",
    "intake print guide 开办餐饮店 --answer business_area=350 --answer venue_ownership=rented "
    "--out guide.pdf --record",
    "intake overdue-acceptance --period month --json",
    "intake submit docs/examples/newborn-intake.json --print-dir out/ --json",
    "intake print application-form NUMBER --out form.pdf",
    "intake print authorization NUMBER",
    "intake consent grant NUMBER --clerk wangfang",
    "intake consent show NUMBER",
    "intake reuse show NUMBER",
    "intake consent withdraw NUMBER --clerk wangfang",
    "intake rating add NUMBER --level 2 --reason slow --text 排队太久 --json",
    "intake rating list --open",
    "intake rating followup ID --note 已电话回访申请人",
    "intake supplement NUMBER --material marriage_certificate --clerk wangfang --print-dir out/",
    "intake handover pending",
    "intake handover create --department 县卫健委 --received-by 赵六 --clerk wangfang "
    "--out handover.pdf --json",
    "intake handover list",
    "intake print handover-list BATCH --out handover.pdf",
    "intake deliver NUMBER --method express --carrier sf --tracking-number SF1234567890123 "
    "--clerk wangfang --print-dir out/",
    "intake print delivery-proof NUMBER --out proof.pdf",
    "intake notices NUMBER",
    "intake withdraw NUMBER --reason 申请人主动撤回 --clerk wangfang --print-dir out/",
    "intake idcard read --port /dev/ttyUSB0 --json",
    "intake idcard read --sdk sdt --lib /opt/idreader/libsdtapi.so --wlt /opt/idreader/libwlt.so "
    "--json",
    "intake audit verify",
    "intake audit checkpoint",
    "intake capture process scan.pdf --out pages/ --json",
    "intake public-key",
    "intake verify-receipt 'https://…/r?t=YJS1…' --keys keys.json",
    "intake backup recovery-code",
    "intake backup run",
    "intake backup verify FILE",
    "intake backup restore FILE --to NEW.sqlite3",
    "intake backup restore FILE --to NEW.sqlite3 --recovery-code CODE",
    "intake keys status",
    "intake keys recover --recovery-code CODE",
    "intake keys recover --db PATH",
    "intake online list --refresh",  # not enrolled here: the list as of the last sync (empty)
]


def test_every_readme_command_is_run_here():
    assert sorted(readme_commands()) == sorted(RUN_ORDER)


# -- running them ---------------------------------------------------------------------------


def _scan_pdf(path: Path) -> None:
    """A one-page 'scanned' document: a dark page border on white with some lines of text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    w, h = A4
    c.setLineWidth(4)
    c.rect(40, 40, w - 80, h - 80)
    for n in range(20):
        c.drawString(80, h - 100 - 30 * n, f"Line {n} of a scanned page")
    c.save()


def _receipt_qr(pdf: Path) -> str:
    import pypdfium2
    from pyzbar import pyzbar

    image = pypdfium2.PdfDocument(str(pdf))[0].render(scale=200 / 72).to_pil().convert("L")
    codes = [c.data.decode() for c in pyzbar.decode(image) if c.type == "QRCODE"]
    assert codes, "the printed receipt carries no QR code"
    return codes[0]


def test_readme_commands_run_as_written(tmp_path, fake_vendor_libs):
    from app.capture.cardtypes import card_text_block
    from app.capture.idcard_sim import DEMO_CARD, Ga467Simulator
    from tests.fakes import FakeReader

    work = tmp_path / "work"
    work.mkdir()
    (work / "resources").symlink_to(ROOT / "resources")  # `catalog validate resources/catalog`
    (work / "docs").symlink_to(ROOT / "docs")  # the example intake file
    _scan_pdf(work / "scan.pdf")
    data_dir = tmp_path / "data"
    env = dict(
        os.environ,
        INTAKE_DATA_DIR=str(data_dir),
        XDG_DATA_HOME=str(tmp_path / "xdg"),  # one keyring for all the commands
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    # The vendor-SDK command reads the demo card from the fake vendor library (tests/fakes).
    (tmp_path / "fake").mkdir()
    fake = FakeReader(tmp_path / "fake")
    fake.place(card_text_block(DEMO_CARD), DEMO_CARD.photo_wlt)
    env["FAKE_IDREADER_CONFIG"] = str(fake.config)
    subst: dict[str, str] = {
        "/opt/idreader/libsdtapi.so": str(fake_vendor_libs.reader),
        "/opt/idreader/libwlt.so": str(fake_vendor_libs.wlt),
    }
    failures: list[str] = []
    restores = 0

    def run(command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = shlex.split(command)
        for placeholder, value in subst.items():
            argv = [value if a == placeholder else a for a in argv]
        return subprocess.run(
            [sys.executable, "-m", "app", *argv[1:]],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            input=stdin,
            start_new_session=True,  # no controlling terminal: a password prompt reads stdin
        )

    with Ga467Simulator(DEMO_CARD) as sim:
        subst["/dev/ttyUSB0"] = sim.port
        for command in RUN_ORDER:
            if "--to NEW.sqlite3" in command:  # each restore needs a target that does not exist
                restores += 1
                subst["NEW.sqlite3"] = f"NEW-{restores}.sqlite3"
            stdin = subst["CODE"] + "\n" if command.endswith("recover --db PATH") else None
            p = run(command, stdin)
            if (
                command.startswith("intake deliver")
                and p.returncode == 1
                and "不能登记送达" in p.stdout + p.stderr
            ) or (
                command.startswith("intake print delivery-proof")
                and p.returncode == 1
                and "尚未登记送达" in p.stdout + p.stderr
            ):
                continue  # as the README says: only once the departments' 办结 came back
            if p.returncode != 0 or "Traceback" in p.stderr:
                failures.append(
                    f"{command}\n  exit {p.returncode}: {p.stdout[-300:]} {p.stderr[-500:]}"
                )
                continue
            if command.startswith("intake demo-data"):
                subst["XX01-241202-0001-4"] = _received_number(run)
            elif command.startswith("intake print receipt"):
                subst["https://…/r?t=YJS1…"] = _receipt_qr(work / "r.pdf")
            elif command.startswith("intake submit"):
                subst["NUMBER"] = json.loads(p.stdout)["number"]
            elif command.startswith("intake rating add"):
                subst["ID"] = str(json.loads(p.stdout)["id"])
            elif command.startswith("intake handover create"):
                made = json.loads(p.stdout)
                assert subst["NUMBER"] in made["intakes"]  # the paper submit received
                subst["BATCH"] = made["batch"]
            elif command == "intake public-key":
                (work / "keys.json").write_text(p.stdout, encoding="utf-8")
            elif command == "intake backup recovery-code":
                subst["CODE"] = p.stdout.strip().rsplit("：", 1)[1]
            elif command == "intake backup run":
                # 备份完成并已校验：PATH（N 字节）
                subst["FILE"] = re.search(r"：(.+)（\d+ 字节）", p.stdout).group(1)  # type: ignore[union-attr]
                subst["PATH"] = str(data_dir / "intake.sqlite3")
            elif command.startswith("intake idcard read"):
                card = json.loads(p.stdout)["card"]
                assert card["resident_id"] == DEMO_CARD.resident_id
                if "--wlt" in command:  # decoded by the fake WLT library
                    assert card["photo_available"] is True
            elif command.startswith("intake verify-receipt"):
                assert p.stdout.startswith("有效"), p.stdout
    assert not failures, "\n".join(failures)


def _received_number(run) -> str:  # type: ignore[no-untyped-def]
    """A number that has a receipt (not a 一次告知) among the demo intakes, newest day first."""
    import datetime as dt

    day = dt.date.today()
    for back in range(32):
        p = run(f"intake ledger --date {day - dt.timedelta(days=back)} --json")
        rows = json.loads(p.stdout)
        numbers = [r["number"] for r in rows if r["number"] and r["state"] not in ("notified",)]
        if numbers:
            return str(numbers[0])
    raise AssertionError("demo-data made no received intake")


# -- what the README says about the command line --------------------------------------------


def _leaf_parsers():
    import argparse

    from app.cli import build_parser

    def walk(parser, path):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield " ".join(path), {o for a in parser._actions for o in a.option_strings}
            return
        for name, sub in subs[0].choices.items():
            yield from walk(sub, [*path, name])

    return dict(walk(build_parser(), []))


def test_the_readme_claim_about_db_and_json_holds():
    text = README.read_text(encoding="utf-8")
    assert (
        "every command takes `--json`, and every command that uses the\nstore takes `--db PATH`"
        in text
    )
    leaves = _leaf_parsers()
    assert all("--json" in opts for opts in leaves.values())
    without_db = sorted(name for name, opts in leaves.items() if "--db" not in opts)
    assert without_db == ["capture process", "idcard read"]
    assert "`idcard read` and\n`capture process` use no store" in text


def test_readme_and_docs_link_only_inside_the_repository():
    for md in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        text = md.read_text(encoding="utf-8")
        assert "shared/" not in text, md.name
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (md.parent / target).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), (md.name, target)
    assert (ROOT / "docs" / "DESIGN.md").is_file() and (ROOT / "docs" / "DOMAIN-FACTS.md").is_file()


# -- a closed pipe and bundles named as a clerk names them -----------------------------------


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    env = dict(
        os.environ,
        INTAKE_DATA_DIR=str(tmp_path),
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    # ~100 KB of JSON: more than a pipe holds, so the writer is still writing when the reader goes
    p = subprocess.Popen(
        [sys.executable, "-m", "app", "catalog", "list", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.readline() == b"[\n"  # what `| head -1` reads
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141
    assert err == "", err  # no traceback, no "内部错误"


@pytest.mark.parametrize(
    "typed, bundle_id",
    [
        ("企业注销", "enterprise_deregistration"),  # part of the name 企业注销登记
        ("企业简易注销", "enterprise_deregistration"),  # an alias
        ("qyzx", "enterprise_deregistration"),  # pinyin initials
        ("xsecs", "newborn_birth"),
        ("xinshengerchusheng", "newborn_birth"),  # full pinyin
        ("newborn_birth", "newborn_birth"),
        ("开饭店", "restaurant_opening"),
    ],
)
def test_cli_finds_a_bundle_as_the_window_does(capsys, typed, bundle_id):
    from app.cli import main

    assert main(["catalog", "show", typed, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == bundle_id
    assert main(["checklist", typed, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bundle"] == bundle_id


def test_cli_lists_the_candidates_when_several_bundles_match(capsys):
    from app.catalog_load import load_catalog
    from app.cli import main

    expected = [b.id for b in load_catalog(None).bundles if b.matches("xs")]
    assert len(expected) > 1 and "newborn_birth" in expected
    assert main(["checklist", "xs", "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "checklist.ambiguous_bundle"
    assert sorted(error["candidates"]) == sorted(expected)
    assert "新生儿出生" in error["message"] and "请写得更具体" in error["message"]
    assert main(["catalog", "show", "xs"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "新生儿出生" in err
