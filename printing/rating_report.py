"""The 好差评 section of the ledger and day-close reports: ratings per level with their share,
the 满意率, and the 差评 follow-ups still open (overdue ones named as such). Plain rows; the
report lays them out with its own table style."""

from __future__ import annotations

from app.rating_figures import RatingFigures
from app.rating_levels import LEVELS

HEADERS = ("评价", "件数", "占比")


def rating_rows(figures: RatingFigures) -> list[tuple[str, str, str]]:
    """One row per level in the national order, then 未评价 (no share: it is not a rating)."""
    rows = []
    for code, label, _score in LEVELS:
        n = figures.counts.get(code, 0)
        share = f"{100.0 * n / figures.rated:.1f}%" if figures.rated else "—"
        rows.append((label, str(n), share))
    rows.append(("未评价", str(figures.declined), "—"))
    return rows


def rating_summary(figures: RatingFigures) -> str:
    rate = "—" if figures.satisfaction is None else f"{figures.satisfaction:.1f}%"
    return (
        f"满意率（非常满意、满意、基本满意占全部评价）：{rate}（{figures.good}/{figures.rated}）；"
        f"待整改差评 {figures.open_followups} 件，其中逾期未整改 {figures.overdue_followups} 件。"
    )
