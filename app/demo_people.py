"""Invented applicants for demo data: plausible names and addresses, ID numbers and credit
codes with valid check characters (GB 11643, GB 32100 with its GB 11714 organisation code)."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from app.validators import (
    USCC_CHARSET,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩"
    "凯健俊帆帅旭宁婷雪琳晨欣怡梓涵子轩浩然一诺思远佳怡雨欣"
)
STREETS = [
    "人民路",
    "建设路",
    "解放大道",
    "文化路",
    "和平路",
    "新华街",
    "朝阳路",
    "胜利街",
    "育才路",
    "长青路",
]
ENTERPRISE_WORDS = [
    "鑫源",
    "恒通",
    "华盛",
    "金禾",
    "瑞丰",
    "宏达",
    "兴旺",
    "鼎盛",
    "盛世",
    "安康",
    "福满",
    "顺达",
]
ENTERPRISE_KINDS = [
    "餐饮店",
    "商贸有限公司",
    "物流有限公司",
    "农业科技有限公司",
    "便利店",
    "酒店管理有限公司",
]


def fake_resident_id(rng: random.Random, region: str, today: dt.date) -> str:
    birth = today - dt.timedelta(days=rng.randint(18 * 365, 80 * 365))
    body = f"{region}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + resident_id_check_char(body)


def fake_uscc(rng: random.Random, region: str) -> str:
    org = "".join(rng.choice(USCC_CHARSET) for _ in range(8))
    org += org_code_check_char(org)
    body = "92" + region + org if rng.random() < 0.3 else "91" + region + org
    return body + uscc_check_char(body)


def fake_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def fake_applicant(rng: random.Random, kind: str, region: str, today: dt.date) -> dict[str, Any]:
    """An applicant row (plain values; the store encrypts them) of KIND personal/enterprise."""
    if kind == "personal":
        return {
            "kind": "personal",
            "name": fake_name(rng),
            "resident_id": fake_resident_id(rng, region, today),
            "gender": rng.choice("男女"),
            "birth_date": None,
            "address": f"{rng.choice(STREETS)}{rng.randint(1, 300)}号",
            "phone": f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}",
            "uscc": None,
            "legal_representative": "",
            "field_sources": json.dumps({"name": "card", "resident_id": "card"})
            if rng.random() < 0.8
            else "{}",
            "consent_reuse": rng.random() < 0.5,
            "consent_at": None,
        }
    else:
        name = f"{rng.choice(ENTERPRISE_WORDS)}{rng.choice(ENTERPRISE_KINDS)}"
        return {
            "kind": "enterprise",
            "name": name,
            "resident_id": None,
            "gender": None,
            "birth_date": None,
            "address": f"{rng.choice(STREETS)}{rng.randint(1, 300)}号",
            "phone": f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}",
            "uscc": fake_uscc(rng, region),
            "legal_representative": fake_name(rng),
            "field_sources": json.dumps({"uscc": "licence_qr"}) if rng.random() < 0.5 else "{}",
            "consent_reuse": False,
            "consent_at": None,
        }
