"""`intake id-check`, `intake catalog list|show|validate|pack`, `intake checklist`: the
catalog and the checklist engine, without a store."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.cli.common import common_flags as _common
from app.cliout import emit as _emit
from app.errors import ChecklistError

# ----------------------------------------------------------------------------- id-check


def cmd_id_check(args: argparse.Namespace) -> int:
    from app.validators import check_any_id

    result = check_any_id(args.value)
    data = result.to_json()
    code = data.pop("code")
    if not result.valid:
        data["error_code"] = code  # the reason for programs (the message is for people)
    text = (
        f"有效 {result.kind}：{result.normalized}"
        + (
            f"，出生日期 {result.birth_date}，{'男' if result.gender == 'male' else '女'}"
            if result.birth_date
            else ""
        )
        if result.valid
        else f"无效：{result.message}"
    )
    _emit(args, data, text)
    return 0 if result.valid else 1


# ----------------------------------------------------------------------------- catalog


def _bundle_json(b: Any, full: bool = False, catalog: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": b.id,
        "name": b.name,
        "aliases": list(b.aliases),
        "kind": b.kind,
        "lead_department": b.lead_department,
        "items": [
            {"id": i.id, "name": i.name, "department": i.department, "levels": list(i.levels)}
            for i in b.items
        ],
    }
    if full:
        out["jurisdictions"] = list(b.jurisdictions)
        out["sources"] = list(b.sources)
        out["lead_department_variants"] = dict(b.lead_department_variants)
        out["questions"] = [
            {
                "id": q.id,
                "text": q.text,
                "type": q.type,
                "unit": q.unit or None,
                "choices": [{"value": v, "label": label} for v, label in q.choices] or None,
            }
            for q in b.questions
        ]
        for item_json, item in zip(out["items"], b.items, strict=True):
            item_json.update(
                department_variants=dict(item.department_variants),
                time_limit=item.time_limit_text,
                optional=item.optional,
                notes=item.notes or None,
                jurisdictions=list(item.jurisdictions) or None,
                condition=item.reason or None,
                materials=[
                    {
                        "id": r.id,
                        "name": catalog.materials[r.id].name,
                        "condition": r.reason or None,
                        "persons": list(r.persons) or None,
                        "produced_by": r.produced_by,
                    }
                    for r in item.materials
                ],
            )
    return out


def cmd_catalog_list(args: argparse.Namespace) -> int:
    from app.catalog_load import load_catalog

    cat = load_catalog(args.catalog)
    data = [_bundle_json(b) for b in cat.bundles]
    text = (
        "\n".join(
            f"{b.id:36} {b.name}（{'企业' if b.kind == 'enterprise' else '个人'}，{len(b.items)}项）"
            for b in cat.bundles
        )
        + f"\n共 {len(cat.bundles)} 个一件事，目录版本 {cat.version}"
    )
    _emit(args, data, text)
    return 0


def cmd_catalog_show(args: argparse.Namespace) -> int:
    from app.catalog_load import load_catalog

    cat = load_catalog(args.catalog)
    b = cat.resolve_one(args.bundle, None, "catalog")
    data = _bundle_json(b, full=True, catalog=cat)
    lines = [f"{b.name}（{b.id}） 牵头部门：{b.lead_department}"]
    for i in b.items:
        lines.append(
            f"  - {i.name} [{i.department}，{'、'.join(i.levels)}，{i.time_limit_text}]"
            + ("（可选）" if i.optional else "")
            + (f"（{i.reason}）" if i.reason else "")
        )
        for r in i.materials:
            names = (
                "、".join(cat.materials[r.id].name_for(p) for p in r.persons)
                or cat.materials[r.id].name
            )
            origin = (
                f"（由“{producer.name}”产生）"
                if r.produced_by and (producer := b.item(r.produced_by))
                else ""
            )
            lines.append(f"      · {names}{origin}" + (f"（{r.reason}）" if r.reason else ""))
    _emit(args, data, "\n".join(lines))
    return 0


def cmd_catalog_validate(args: argparse.Namespace) -> int:
    from app.catalog_load import load_catalog

    cat = load_catalog(args.path)
    data = {
        "valid": True,
        "version": cat.version,
        "effective_date": cat.effective_date.isoformat(),
        "bundles": len(cat.bundles),
        "materials": len(cat.materials),
        "digest": cat.digest,
    }
    _emit(
        args,
        data,
        f"目录有效：版本 {cat.version}，{len(cat.bundles)} 个一件事，{len(cat.materials)} 种材料",
    )
    return 0


def cmd_catalog_pack(args: argparse.Namespace) -> int:
    from app.catalog import BUNDLED_CATALOG
    from app.catalog_load import pack_directory

    out = pack_directory(Path(args.src) if args.src else BUNDLED_CATALOG, Path(args.out))
    _emit(args, {"out": str(out)}, f"已打包：{out}")
    return 0


# ----------------------------------------------------------------------------- checklist


def _kv(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in items:
        if "=" not in raw:
            raise ChecklistError("checklist.answer_format", raw=raw)
        k, v = raw.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_checklist(args: argparse.Namespace) -> int:
    from app import checklist as engine
    from app.catalog import split_line_id
    from app.catalog_load import load_catalog

    cat = load_catalog(args.catalog)
    bundle = cat.resolve_one(args.bundle, args.jurisdiction, "checklist")
    items = [i.strip() for i in args.items.split(",") if i.strip()] if args.items else None
    marks: dict[str, str] = {}
    for flag, mark in (("have", "collected"), ("exempt", "exempt"), ("tolerate", "tolerated")):
        for mid in getattr(args, flag) or []:
            if mid in marks and marks[mid] != mark:
                raise ChecklistError("checklist.conflicting_marks", material=mid)
            marks[mid] = mark
    unknown = [m for m in marks if split_line_id(m)[0] not in cat.materials]
    if unknown:
        raise ChecklistError("checklist.unknown_material", material=unknown[0])
    result = engine.evaluate(
        bundle,
        items,
        _kv(args.answer or []),
        marks,
        catalog=cat,
        jurisdiction=args.jurisdiction,
        strict=True,
    )
    data = result.to_json()
    verdict_text = {
        "complete": "材料齐全",
        "complete_with_tolerance": "容缺受理（需签告知承诺书）",
        "incomplete": "材料不全",
    }
    lines = [f"{bundle.name}：{verdict_text[result.verdict]}"]
    state_text = {"collected": "已收", "exempt": "免提交", "tolerated": "容缺", "missing": "缺"}
    for m in result.materials:
        lines.append(
            f"  [{state_text[m.state]}] {m.name}（{'、'.join(r.item_name for r in m.required_by)}）"
        )
    if result.unanswered:
        lines.append(
            "  待回答：" + "、".join(q.text for q in bundle.questions if q.id in result.unanswered)
        )
    lines.append(
        f"  材料压减：分别提交 {result.reduction.separate} 份 → 合并后 {result.reduction.merged} 份"
    )
    _emit(args, data, "\n".join(lines))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("id-check", help="校验身份证号码或统一社会信用代码")
    p.add_argument("value")
    _common(p)
    p.set_defaults(func=cmd_id_check)

    cat = sub.add_parser("catalog", help="一件事目录").add_subparsers(
        dest="catalog_command", metavar="SUB"
    )
    cat.required = True
    for name, fn, helptext in (
        ("list", cmd_catalog_list, "列出全部一件事"),
        ("show", cmd_catalog_show, "显示一件事详情"),
    ):
        p = cat.add_parser(name, help=helptext)
        if name == "show":
            p.add_argument("bundle", help="一件事 id、名称、别名、名称的一部分或拼音首字母")
        p.add_argument(
            "--catalog", type=Path, default=None, help="目录目录或打包文件（默认：内置目录）"
        )
        _common(p)
        p.set_defaults(func=fn)
    p = cat.add_parser("validate", help="校验目录文件")
    p.add_argument("path", type=Path)
    _common(p)
    p.set_defaults(func=cmd_catalog_validate)
    p = cat.add_parser("pack", help="把目录打包为单个文件（供同步分发）")
    p.add_argument("--src", type=Path, default=None)
    p.add_argument("--out", type=Path, required=True)
    _common(p)
    p.set_defaults(func=cmd_catalog_pack)

    p = sub.add_parser("checklist", help="计算合并材料清单")
    p.add_argument("bundle", help="一件事 id、名称、别名、名称的一部分或拼音首字母")
    p.add_argument("--items", help="事项 id，逗号分隔（默认：全部非可选事项）")
    p.add_argument("--answer", action="append", metavar="KEY=VALUE", help="情形回答，可重复")
    p.add_argument("--have", action="append", metavar="MATERIAL", help="已收材料，可重复")
    p.add_argument("--exempt", action="append", metavar="MATERIAL", help="免提交（已核验电子证照）")
    p.add_argument("--tolerate", action="append", metavar="MATERIAL", help="容缺")
    p.add_argument("--jurisdiction", help="辖区（xinxiang / meixian / sanmenxia）")
    p.add_argument("--catalog", type=Path, default=None)
    _common(p)
    p.set_defaults(func=cmd_checklist)
