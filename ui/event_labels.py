"""Chinese names of an intake's recorded events (the types of app/state.py and sync/protocol.py),
for lists that show what happened to an intake, such as the amendments of a closed day."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

EVENT_LABELS = {
    "created": QT_TRANSLATE_NOOP("EventLabels", "新建受理"),
    "applicant_set": QT_TRANSLATE_NOOP("EventLabels", "录入申请人信息"),
    "bundle_chosen": QT_TRANSLATE_NOOP("EventLabels", "选择一件事"),
    "answered": QT_TRANSLATE_NOOP("EventLabels", "回答情形问题"),
    "material_marked": QT_TRANSLATE_NOOP("EventLabels", "标记材料"),
    "notified": QT_TRANSLATE_NOOP("EventLabels", "出具一次告知通知书"),
    "received": QT_TRANSLATE_NOOP("EventLabels", "收件"),
    "page_attached": QT_TRANSLATE_NOOP("EventLabels", "添加材料页面"),
    "page_removed": QT_TRANSLATE_NOOP("EventLabels", "删除材料页面"),
    "page_rotated": QT_TRANSLATE_NOOP("EventLabels", "旋转材料页面"),
    "page_moved": QT_TRANSLATE_NOOP("EventLabels", "调整页面顺序"),
    "digitised": QT_TRANSLATE_NOOP("EventLabels", "标记为已数字化"),
    "pushed": QT_TRANSLATE_NOOP("EventLabels", "推送至部门"),
    "item_decided": QT_TRANSLATE_NOOP("EventLabels", "登记部门办理结果"),
    "supplemented": QT_TRANSLATE_NOOP("EventLabels", "补正材料"),
    "withdrawn": QT_TRANSLATE_NOOP("EventLabels", "撤回申请"),
    "delivered": QT_TRANSLATE_NOOP("EventLabels", "登记送达"),
    "document_printed": QT_TRANSLATE_NOOP("EventLabels", "打印文书"),
    "discarded": QT_TRANSLATE_NOOP("EventLabels", "作废草稿"),
    "rated": QT_TRANSLATE_NOOP("EventLabels", "申请人评价"),
    "rating_declined": QT_TRANSLATE_NOOP("EventLabels", "申请人未评价"),
    "rating_followed_up": QT_TRANSLATE_NOOP("EventLabels", "差评整改办结"),
    "agent_set": QT_TRANSLATE_NOOP("EventLabels", "登记代办人"),
    "priority_set": QT_TRANSLATE_NOOP("EventLabels", "标记优先办"),
    "handed_over": QT_TRANSLATE_NOOP("EventLabels", "纸质材料移交牵头部门"),
}


def event_label(event_type: str) -> str:
    label = EVENT_LABELS.get(event_type)
    if label is None:  # a type written by a newer version of the program
        return QCoreApplication.translate("EventLabels", "其他记录（{type}）").format(
            type=event_type
        )
    return QCoreApplication.translate("EventLabels", str(label))
