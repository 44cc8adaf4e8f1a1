"""The message catalog (local_db/messages.py) is the one place where error codes become Chinese.

Checked on the source: no raise or error construction outside ui/ writes a Chinese sentence;
every code raised has a text and every placeholder of that text is supplied where it is raised.
Checked at run time: the rendering fails safe (a generic Chinese text naming the code) and the
test suite notices (tests/conftest.py fails a test that rendered such a text)."""

from __future__ import annotations

import ast
import logging
import re
import string
from pathlib import Path

import pytest

from app.errors import ChecklistError, DeviceError, IntakeError
from local_db import messages
from local_db.errors import StoreError
from sync.errors import SyncError, sync_error

ROOT = Path(__file__).resolve().parents[2]
# The hub's errors (sync/hub) answer stations over HTTP, not clerks: they have their own texts.
CORE = ("app", "local_db", "sync", "printing")
CATALOG = ("local_db/messages.py", "local_db/messages_procedure.py", "local_db/messages_hub.py")
CJK = re.compile(r"[\u4e00-\u9fff]")

# Factories that build a domain error from (code, **params), and what they add themselves.
FACTORIES: dict[str, set[str]] = {
    "sync_error": set(),
    "device_error": set(),
    "sdk_error": set(),
    "fail": {"file", "bundle", "field"},  # app.catalog_load's bundle checker
}
# Codes built at run time, by the f-string that builds them: every value it can take.
DYNAMIC: dict[str, list[str]] = {
    "f'applicant.{field_name}'": ["resident_id", "uscc", "phone"],
    "f'applicant.{conflict_field}'": ["birth_date", "gender"],  # validators.resident_id_conflicts
    "f'{code_prefix}.unknown_bundle'": ["catalog", "checklist", "intake"],
    "f'{code_prefix}.ambiguous_bundle'": ["catalog", "checklist", "intake"],
    "f'idcard.{failure}'": ["garbage", "checksum"],
}


def core_files(packages: tuple[str, ...] = CORE) -> list[tuple[str, ast.Module]]:
    out = []
    for pkg in packages:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            rel = f.relative_to(ROOT).as_posix()
            if rel in CATALOG or rel.startswith("sync/hub/") or "/migrations/" in rel:
                continue
            out.append((rel, ast.parse(f.read_text(encoding="utf-8"))))
    return out


def error_classes() -> set[str]:
    """DomainError and every class that derives from it, by name, across the core packages."""
    bases: dict[str, set[str]] = {}
    for _, tree in core_files():
        for n in ast.walk(tree):
            if isinstance(n, ast.ClassDef):
                bases[n.name] = {getattr(b, "id", getattr(b, "attr", "")) for b in n.bases}
    found = {"DomainError"}
    while True:
        more = {c for c, bs in bases.items() if bs & found} - found
        if not more:
            return found
        found |= more


def call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def chinese_literals(node: ast.AST) -> list[str]:
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and CJK.search(n.value):
            out.append(n.value)
    return out


def error_calls(packages: tuple[str, ...] = CORE) -> list[tuple[str, int, ast.Call]]:
    names = error_classes() | set(FACTORIES)
    return [
        (rel, n.lineno, n)
        for rel, tree in core_files(packages)
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and call_name(n) in names
    ]


def placeholders(template: str) -> set[str]:
    return {f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f}


def test_no_chinese_sentence_in_a_raise_or_an_error_outside_the_catalog() -> None:
    found = []
    for rel, tree in core_files():
        for n in ast.walk(tree):
            if isinstance(n, ast.Raise) and n.exc is not None:
                found += [f"{rel}:{n.lineno} {t[:30]}" for t in chinese_literals(n.exc)]
    for rel, line, call in error_calls():
        found += [f"{rel}:{line} {t[:30]}" for t in chinese_literals(call)]
    assert not sorted(set(found)), "texts belong in local_db/messages.py:\n" + "\n".join(found)


def test_the_source_check_sees_a_chinese_raise(tmp_path: Path) -> None:
    tree = ast.parse('raise IntakeError("x.y", f"不能{what}")\nraise ValueError("english")\n')
    raises = [n for n in ast.walk(tree) if isinstance(n, ast.Raise)]
    assert [bool(chinese_literals(r)) for r in raises] == [True, False]


def raised_codes() -> list[tuple[str, str, int, set[str] | None]]:
    """(where, code, variant, keywords given) for every error built with a known code;
    keywords are None when the call passes **details (unknown here)."""
    out = []
    for rel, line, call in error_calls((*CORE, "ui")):  # the window raises domain errors too
        if not call.args:
            continue
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            codes = [first.value]
        elif isinstance(first, ast.JoinedStr):
            src = ast.unparse(first)
            assert src in DYNAMIC, f"{rel}:{line}: add the values of {src} to DYNAMIC"
            fixed = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in first.values)
            codes = [fixed.format(value) for value in DYNAMIC[src]]
        else:
            continue  # a code passed through (a factory's own body): its callers are checked
        variant = 0
        given: set[str] | None = set(FACTORIES.get(call_name(call), set()))
        for k in call.keywords:
            if k.arg is None:
                given = None
            elif k.arg == "variant":
                assert isinstance(k.value, ast.Constant), f"{rel}:{line}: variant must be literal"
                variant = k.value.value
            elif given is not None:
                given.add(k.arg)
        for code in codes:
            out.append((f"{rel}:{line}", code, variant, given))
    return out


def test_every_raised_code_has_a_text_with_its_parameters_supplied() -> None:
    sites = raised_codes()
    assert len(sites) > 250  # the walk sees the raise sites (about 300 when written)
    missing, unfilled = [], []
    for where, code, variant, given in sites:
        template = messages.MESSAGES.get(messages.key(code, variant))
        if template is None:
            missing.append(f"{where} {messages.key(code, variant)}")
        elif given is not None and not placeholders(template) <= given:
            unfilled.append(f"{where} {code}: {sorted(placeholders(template) - given)}")
    assert not missing, "codes without a text:\n" + "\n".join(missing)
    assert not unfilled, "placeholders nobody supplies:\n" + "\n".join(unfilled)


def test_the_catalog_keys_and_templates_are_well_formed() -> None:
    for k, text in messages.MESSAGES.items():
        assert re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)+(#([2-9]|[1-9][0-9]+))?", k), k
        # the clerk reads Chinese; a validator's own text (a value, not an error) passes through
        assert CJK.search(text) or placeholders(text) <= {"label", "problem"}, k
        placeholders(text)  # parses
    assert set(messages.FIXES) <= {k.split("#")[0] for k in messages.MESSAGES} | set(
        messages.MESSAGES
    )


def test_a_code_renders_its_text_with_parameters() -> None:
    err = IntakeError("intake.transition", stage_label="已撤回", what="收件")
    assert err.message == "当前状态为“已撤回”，不能收件。"
    assert str(err) == err.message
    assert err.to_json()["message"] == err.message and err.to_json()["what"] == "收件"
    variant = StoreError("store.unavailable", variant=3, path="D:/intake.sqlite3")
    assert variant.message == "找不到数据库“D:/intake.sqlite3”。"


def test_sync_errors_take_their_reason_and_fix_from_the_catalog() -> None:
    err = sync_error("sync.offline")
    assert err.message == "无法连接县级平台（网络不通或服务器未开启）。"
    assert err.fix == "检查网线或无线网络；资料已保存在本机，联网后自动上传，无需重复操作。"
    refused = SyncError("sync.refused", scope="item", hub_message="事项编码不存在")
    assert refused.message == "县级平台拒收了这条记录。（事项编码不存在）"
    assert refused.to_json()["fix"].startswith("请联系县行政审批局核实原因")


@pytest.mark.expect_log(
    logging.ERROR, "intake.messages", r"^(no message text for|message .* cannot be filled)"
)
def test_an_unknown_code_or_a_missing_parameter_fails_safe(
    message_failures: list[logging.LogRecord],
) -> None:
    unknown = ChecklistError("checklist.no_such_code", question="q1")
    assert unknown.message == (
        "操作未能完成（错误代码：checklist.no_such_code）。请重试；如反复出现，请联系管理员。"
    )
    short = DeviceError("idcard.status")  # its text needs sw3
    assert short.message == (
        "操作未能完成（错误代码：idcard.status）。请重试；如反复出现，请联系管理员。"
    )
    # both were logged, by code only: the conftest guard fails any other test that does this
    assert [r.getMessage() for r in message_failures] == [
        "no message text for checklist.no_such_code",
        "message idcard.status cannot be filled: KeyError",
    ]
    message_failures.clear()
