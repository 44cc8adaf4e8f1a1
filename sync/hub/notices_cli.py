"""`intake hub notices`: the hub's outbox of notices to applicants for its administrator — what
is waiting, failing or failed (with the provider's error code, never a phone or a text) — and
`--retry` to send the failed ones again once the gateway is fixed. Its flags are declared in
sync/cli.py (the counter build has no hub package)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from sync.hub.notices import STATUSES

_LABELS = {
    "pending": "待发送",
    "sending": "发送中",
    "retrying": "失败待重试",
    "sent": "已发送",
    "failed": "发送失败",
    "no_phone": "无手机号",
}
_KINDS = {"accepted": "受理", "rejected": "不予受理", "completed": "办结", "collected": "领取"}


def cmd_hub_notices(args: argparse.Namespace, open_store: Callable[[], Any]) -> int:
    from app.cliout import emit

    store = open_store()
    try:
        requeued = store.requeue_failed() if args.retry else 0
        rows = store.notices_of(status=args.status, number=args.number, last=max(args.limit, 0))
        counts = store.notice_counts()
    finally:
        store.close()
    data = {"counts": counts, "requeued": requeued, "notices": rows}
    lines = ["　".join(f"{_LABELS[s]} {counts[s]}" for s in STATUSES)]
    if args.retry:
        lines.append(f"已重新排队发送失败的通知 {requeued} 条")
    for n in rows:
        lines.append(
            f"{n['number'] or '—':20} {_KINDS.get(n['kind'], n['kind']):6} {n['item_id'] or '—':24} "
            f"{_LABELS.get(n['status'], n['status'])}（已试{n['attempts']}次"
            + (f"，{n['last_error']}" if n["last_error"] else "")
            + f"）{(n['sent_at'] or '')[:19].replace('T', ' ')}"
        )
    emit(args, data, "\n".join(lines))
    return 0
