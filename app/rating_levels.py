"""The national 好差评 levels and the reasons of a 差评: shared by the station (app/ratings.py)
and the hub (sync/hub/ratings.py), with no database or Qt import."""

from __future__ import annotations

# (code, label, score): the national order, best first; the score is what the keyboard uses.
LEVELS: tuple[tuple[str, str, int], ...] = (
    ("very_satisfied", "非常满意", 5),
    ("satisfied", "满意", 4),
    ("basic", "基本满意", 3),
    ("dissatisfied", "不满意", 2),
    ("very_dissatisfied", "非常不满意", 1),
)
LEVEL_LABELS = {code: label for code, label, _score in LEVELS}
BAD_LEVELS = ("dissatisfied", "very_dissatisfied")
DECLINED_LABEL = "未评价"
REASONS: tuple[tuple[str, str], ...] = (
    ("attitude", "服务态度差"),
    ("slow", "办事效率低"),
    ("unclear", "一次告知不清"),
    ("repeat_trips", "多次跑动"),
    ("unreasonable", "材料要求不合理"),
    ("other", "其他"),
)
REASON_LABELS = dict(REASONS)
MAX_TEXT = 500
