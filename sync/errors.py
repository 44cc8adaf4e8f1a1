"""Sync errors: a stable code, a Chinese reason and fix for the window, and how to retry.

`scope` says who a failure belongs to: "link" (the network, the hub or the station's
credentials: every item waits, none is blamed) or "item" (this one event, page or update: it is
counted, and parked for a person after too many failures of the same kind).
"""

from __future__ import annotations

from typing import Literal

from local_db.errors import DomainError

Scope = Literal["link", "item"]


class SyncError(DomainError):
    """A failure of the exchange with the hub."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fix: str = "",
        scope: Scope = "link",
        retry: bool = True,
        retry_after: float | None = None,
        status: int | None = None,
        **details: object,
    ) -> None:
        super().__init__(code, message, **details)
        self.fix = fix
        self.scope: Scope = scope
        self.retry = retry
        self.retry_after = retry_after
        self.status = status

    def to_json(self) -> dict[str, object]:
        out = super().to_json()
        out.update(fix=self.fix, scope=self.scope, retry=self.retry)
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out


# Reasons and fixes shown at the window, by code. Kept together so the wording stays consistent.
TEXTS: dict[str, tuple[str, str]] = {
    "sync.offline": (
        "无法连接县级平台（网络不通或服务器未开启）。",
        "检查网线或无线网络；资料已保存在本机，联网后自动上传，无需重复操作。",
    ),
    "sync.timeout": (
        "县级平台响应太慢，本次上传已中止。",
        "稍后自动重试；如长时间如此，请联系县行政审批局检查网络。",
    ),
    "sync.interrupted": (
        "上传过程中连接中断。",
        "稍后自动续传，已送达的部分不会重复发送。",
    ),
    "sync.tls": (
        "县级平台的证书未通过校验，为安全起见已停止上传。",
        "请管理员在同步设置中配置政务外网的CA证书文件，或核对平台地址。",
    ),
    "sync.proxy": (
        "代理服务器无法连接。",
        "请管理员核对同步设置中的代理地址。",
    ),
    "sync.unauthorized": (
        "本站点的同步凭据无效或已被吊销，县级平台拒绝接收。",
        "请联系县行政审批局重新生成登记码，并在本机重新登记站点；本机资料不会丢失。",
    ),
    "sync.not_enrolled": (
        "本站点尚未登记到县级平台，资料暂存在本机。",
        "请管理员向县行政审批局索取登记码，在本机执行“站点登记”。",
    ),
    "sync.rate_limited": (
        "县级平台繁忙，要求稍后再传。",
        "稍后自动重试，无需操作。",
    ),
    "sync.server_error": (
        "县级平台内部出错，暂时无法接收。",
        "稍后自动重试；如持续出现，请联系县行政审批局。",
    ),
    "sync.bad_response": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。",
        "稍后自动重试；如持续出现，请联系县行政审批局检查平台地址和代理设置。",
    ),
    "sync.refused": (
        "县级平台拒收了这条记录。",
        "请联系县行政审批局核实原因，处理后在同步队列中点“重试”。",
    ),
    "sync.forbidden": (
        "该受理记录属于其他站点，县级平台拒收。",
        "请联系县行政审批局核实站点登记是否正确。",
    ),
    "sync.conflict": (
        "县级平台已有同编号但内容不同的记录。",
        "请联系县行政审批局核对该受理记录。",
    ),
    "sync.page_missing": (
        "本机找不到该页面的图像文件，或文件已损坏。",
        "请打开该受理记录，删除并重新拍摄该页，然后在同步队列中点“重试”。",
    ),
    "sync.page_corrupt": (
        "页面在传输中反复损坏，县级平台校验不通过。",
        "请检查网络设备；处理后在同步队列中点“重试”。",
    ),
    "sync.bad_status_update": (
        "县级平台发来的办理结果格式不正确，未登记。",
        "请联系县行政审批局核实该办理结果；本机记录未受影响。",
    ),
    "sync.status_not_applicable": (
        "县级平台发来的办理结果与本机记录不符，未登记。",
        "请联系县行政审批局核实该事项的办理结果。",
    ),
    "sync.bad_catalog": (
        "县级平台发来的事项目录有误，未采用，继续使用当前目录。",
        "请联系县行政审批局核实目录版本。",
    ),
    "sync.local_event": (
        "本机的这条事件记录已损坏，无法上传。",
        "请联系技术支持检查本机数据库（运行 intake audit verify）。",
    ),
    "sync.audit_refused": (
        "县级平台拒收本机的审计日志：日志链校验不通过（本机审计记录可能被改动或删除）。",
        "请联系技术支持运行 intake audit verify 检查本机审计日志；此前的审计记录已在平台留存，受理资料照常上传。",
    ),
    "sync.receipt_key_refused": (
        "县级平台未登记本机的回执签名公钥，平台暂不能核验本站的回执。",
        "请联系县行政审批局核实；回执照常打印和离线核验。",
    ),
    "sync.keyring": (
        "系统密钥环不可用，无法读取站点凭据。",
        "请在本机登录桌面会话后重试。",
    ),
    "sync.too_large": (
        "单次上传的数据超过平台限制。",
        "将自动分批上传，无需操作。",
    ),
}


def sync_error(code: str, *, scope: Scope = "link", retry: bool = True, **kw: object) -> SyncError:
    """A SyncError with the standard Chinese reason and fix for CODE."""
    message, fix = TEXTS.get(code, TEXTS["sync.server_error"])
    extra = kw.pop("message", None)
    if isinstance(extra, str) and extra:
        message = f"{message}（{extra}）"
    retry_after = kw.pop("retry_after", None)
    status = kw.pop("status", None)
    return SyncError(
        code,
        message,
        fix=fix,
        scope=scope,
        retry=retry,
        retry_after=retry_after if isinstance(retry_after, (int, float)) else None,
        status=status if isinstance(status, int) else None,
        **kw,
    )
