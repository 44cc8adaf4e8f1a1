"""The stations' 好差评 at the hub: each rating event (`rated`, `rating_declined`,
`rating_followed_up`) is stored like any event (by id, once) and projected here into one row per
intake, which the county lists with `intake hub ratings`. A payload the hub does not understand
is stored as an event and left out of the projection (a newer station is never refused)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from app.rating_levels import LEVEL_LABELS, LEVELS, REASON_LABELS
from sync.hub.models import HubRating, HubStation

log = logging.getLogger("intake.hub")

RATING_EVENTS = ("rated", "rating_declined", "rating_followed_up")


def project_rating(c: Connection | Session, station_id: int, ev: Mapping[str, Any]) -> None:
    """Apply one stored rating event EV of STATION_ID to the intake's row (other types: no-op);
    on the ingest's connection, after the batch's submissions are written (the row names one)."""
    etype = ev["type"]
    if etype not in RATING_EVENTS:
        return
    payload = ev["payload"]
    sid = ev["submission_id"]
    this = HubRating.submission_id == sid
    row = c.execute(select(HubRating.level).where(this)).first()
    if etype == "rating_followed_up":
        if row is not None:
            c.execute(update(HubRating).where(this).values(followup_closed_at=ev["at"]))
        return
    level = payload.get("level") if etype == "rated" else None
    reasons = payload.get("reasons", []) if etype == "rated" else []
    if (
        (etype == "rated" and not (isinstance(level, str) and level in LEVEL_LABELS))
        or not isinstance(reasons, list)
        or not all(isinstance(r, str) and r in REASON_LABELS for r in reasons)
    ):
        log.info("rating event %s not projected: unknown level or reason", ev["id"])
        return
    if row is not None and row.level is not None:
        return  # the station keeps one rating per intake; the first stays here too
    number, clerk = payload.get("number"), payload.get("clerk_id", ev.get("clerk_id"))
    fields = {
        "station_id": station_id,
        "number": number[:32] if isinstance(number, str) else None,
        "clerk_id": clerk if isinstance(clerk, int) and not isinstance(clerk, bool) else None,
        "level": level,
        "reasons": ",".join(reasons)[:200],
        "rated_at": ev["at"],
        "event_id": ev["id"],
    }
    if row is None:
        c.execute(insert(HubRating).values(submission_id=sid, **fields))
    else:  # a rating after a 未评价
        c.execute(update(HubRating).where(this).values(**fields))


def rating_summary(store: Any) -> list[dict[str, Any]]:
    """Per station: ratings per level, 未评价, 差评 follow-ups still open."""
    with store.sessions() as s:
        counts = s.execute(
            select(HubStation.code, HubRating.level, func.count())
            .select_from(HubRating)
            .join(HubStation, HubStation.id == HubRating.station_id)
            .group_by(HubStation.code, HubRating.level)
        ).all()
        open_bad = dict(
            s.execute(
                select(HubStation.code, func.count())
                .select_from(HubRating)
                .join(HubStation, HubStation.id == HubRating.station_id)
                .where(
                    HubRating.level.in_(("dissatisfied", "very_dissatisfied")),
                    HubRating.followup_closed_at.is_(None),
                )
                .group_by(HubStation.code)
            ).all()
        )
    out: dict[str, dict[str, Any]] = {}
    for code, level, n in counts:
        row = out.setdefault(
            code,
            {
                "station": code,
                "levels": {c: 0 for c, _l, _s in LEVELS},
                "declined": 0,
                "open_followups": int(open_bad.get(code, 0)),
            },
        )
        if level is None:
            row["declined"] += int(n)
        elif level in row["levels"]:
            row["levels"][level] += int(n)
    return [out[code] for code in sorted(out)]
