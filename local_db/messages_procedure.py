"""The Chinese texts of the error codes of the policy procedure around the counter (一件事一次办):
online applications, 好差评, 一人一档, 帮办代办, the hand-over of paper and 送达, the generated
forms and the working-day calendar of the catalog, and the SMS gateway. Part of the one
message catalog, local_db/messages.py, which renders them; kept apart for size."""

from __future__ import annotations

PROCEDURE_MESSAGES: dict[str, str] = {
    "agent.is_applicant": "代办人不能是申请人本人：请核对代办人的证件号码。",
    "delivery.carrier": "请选择快递公司（{known}）。",
    "delivery.none": "受理编号“{number}”尚未登记送达，没有可打印的送达凭证。",
    "delivery.tracking_shape": "快递单号与{carrier}的单号格式不符，请核对后重新输入。",
    "handover.not_pending": "以下受理编号不在待移交清单中（已移交、未收件或不属于该部门）：{numbers}",
    "handover.nothing": "{day} 没有需要移交给“{department}”的纸质材料。",
    "handover.unknown": "找不到移交编号“{number}”。",
    "online.answer_refused": "县级平台未接受本窗口的答复：{hub}",
    "online.answered": "该线上申请已由 {holder} 答复，不能再次审核。",
    "online.claimed": "该线上申请已由 {holder} 认领审核，不能重复审核。",
    "online.mark": "材料标记“{mark}”无效：应为“收到”或“缺”。",
    "online.not_claimed": "请先认领该线上申请，再审核和答复。",
    "online.not_enrolled": "本站点尚未登记到县级平台，无法接收线上申请。",
    "online.offline": (
        "未连接县级平台，不能认领线上申请：另一个窗口可能正在审核同一申请。请联网后再认领。"
    ),
    "online.unknown": "本机没有该线上申请（{application}），请先同步后再试。",
    "rating.duplicate": "{number} 已评价（{level_label}），不能重复评价，保留首次评价。",
    "rating.followup_closed": "{number} 的差评整改已办结，不能重复办结。",
    "rating.level": "评价应为非常满意、满意、基本满意、不满意、非常不满意（5～1分）。",
    "rating.no_followup": "{number} 不是差评，无需整改。",
    "rating.not_finished": "受理尚未完成，不能评价。",
    "rating.not_found": "评价记录 {rating} 不存在。",
    "rating.note": "请填写整改情况说明（不超过{limit}字）。",
    "rating.reason": "差评原因“{reason}”无法识别。",
    "rating.reasons": "差评请至少选择一项原因；选“其他”须写明（不超过{limit}字）。",
    "rating.reasons#2": "“{level_label}”不是差评，无需填写原因。",
    "reuse.clerk_required": "登记或撤回同意须用 --clerk 写明经办人登录名。",
    "reuse.field_not_offered": "申请人信息“{field_name}”没有可复用的早前记录（可能已相同或已复用）。",
    "reuse.material_not_offered": "材料“{name}”没有可复用的早前页面：早前办件未收取、已超过复用期限，或本件已收取。",
    "reuse.no_consent": "申请人未同意复用（一人一档），不能复用早前办件的信息和材料。",
    "reuse.no_consent#2": "申请人已撤回复用同意（一人一档），不能再复用早前办件的信息和材料。",
    "reuse.no_person": "一人一档只用于个人申请人：请先录入申请人的身份证件号码。",
    "reuse.person_not_found": "本站没有该身份证件号码或受理编号的办件记录。",
    "reuse.who_required": "请输入申请人的身份证件号码或一个受理编号。",
    "catalog.calendar": "目录文件 catalog.json，字段 {field}：日期“{day}”不是该年份的有效日期",
    "catalog.calendar#2": "目录文件 catalog.json，字段 {field}：{day} 不能既是节假日又是调休上班日",
    "catalog.form_field": "{display}：表单字段 {where} 的来源或字段集“{value}”无效",
    "choice.unknown": "{what}无法识别，请从列表中选择。",
    "hub.sms_not_configured": (
        "已选择短信网关发送通知，但未配置 {missing}：请在平台配置文件或环境变量中设置。"
    ),
    "person.name": "请填写{who}姓名（不超过64个字）。",
}
