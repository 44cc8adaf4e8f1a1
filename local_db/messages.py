"""The message catalog: the Chinese text of every error code, in one place.

Errors carry a stable `code`, an optional `variant` (one code, several situations) and named
parameters; `render` turns them into the sentence the clerk reads, the same for the window and
the CLI. Templates use str.format with named fields; a parameter is never personal data.

It lives in the lowest layer so local_db, app, sync and printing errors all render alike. The
two dicts are kept sorted; new texts are added by hand here (raise sites pass only code and
parameters; tests/unit/test_messages.py checks every raised code has a text).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from local_db.messages_hub import HUB_MESSAGES
from local_db.messages_procedure import PROCEDURE_MESSAGES

log = logging.getLogger("intake.messages")

# Shown when a code has no text or a parameter is missing: still Chinese, still names the code.
GENERIC = "操作未能完成（错误代码：{code}）。请重试；如反复出现，请联系管理员。"

MESSAGES: dict[str, str] = {
    **PROCEDURE_MESSAGES,
    **HUB_MESSAGES,
    "account.exists": "登录名“{username}”已存在。",
    "account.names": "请填写登录名和姓名。",
    "account.role": "角色应为 窗口人员/负责人/管理员。",
    "account.self": "不能停用自己的账号。",
    "account.unknown": "账号不存在。",
    "account.weak_password": "密码至少8位。",
    "account.weak_password#2": "密码需包含字母、数字、符号中的至少两类。",
    "applicant.birth_date": "{problem}",
    "applicant.document_type": "证件类型无法识别。",
    "applicant.gender": "{problem}",
    "applicant.kind": "申请人类型应为个人或企业。",
    "applicant.phone": "{label}：{problem}",
    "applicant.resident_id": "{label}：{problem}",
    "applicant.uscc": "{label}：{problem}",
    "audit.checkpoint_refused": (
        "审计日志比上一个签名检查点短（记录被删除），未覆盖原检查点。请先运行 intake audit verify。"
    ),
    "auth.bad_credentials": "登录名或密码不正确。",
    "auth.bad_password": "原密码不正确。",
    "auth.bad_password#2": "密码不正确。",
    "auth.disabled": "该账号已停用，请联系管理员。",
    "auth.forbidden": "“{label}”需要{needed_role}权限，当前账号为{current_role}。",
    "auth.forbidden#2": "该账号已停用，不能进行“{label}”。",
    "auth.locked": "密码错误次数过多，账号已锁定，请{minutes}分钟后再试。",
    "auth.no_station": "本机尚未完成站点设置，请由管理员完成首次设置。",
    "backup.busy": "备份正在进行中，请稍候。",
    "backup.damaged": "备份中的数据库文件缺失或已损坏，未做任何恢复",
    "backup.damaged#2": "备份中的页面清单缺失或已损坏，未做任何恢复",
    "backup.damaged#3": "备份中的页面 {name_12}… 缺失或已损坏，未做任何恢复",
    "backup.database_failed": "数据库{what}失败：{done_stderr_strip_300}",
    "backup.database_kind": "只能备份 PostgreSQL 或 SQLite 文件数据库",
    "backup.database_kind#2": "PostgreSQL 备份只能恢复到 PostgreSQL",
    "backup.database_kind#3": "SQLite 备份只能恢复到 SQLite 文件",
    "backup.db_corrupt": "备份中的数据库完整性检查未通过。",
    "backup.db_unreadable": "数据库无法读取，备份未完成。",
    "backup.disk_full": (
        "备份目录“{folder}”所在磁盘空间不足，备份未完成。请清理磁盘或更换备份目录。"
    ),
    "backup.folder_missing": (
        "找不到备份目录“{folder}”（移动硬盘或网络位置是否已连接？），备份未完成。"
    ),
    "backup.format": "备份格式 {info_get_format} 不受支持",
    "backup.key_not_stored": "备份已恢复，但数据密钥未能放入本机密钥环：{reason}",
    "backup.missing": "找不到备份文件“{path_name}”。",
    "backup.no_permission": "没有写入备份目录“{folder}”的权限，备份未完成。请更换备份目录。",
    "backup.not_a_backup": "这不是本系统的备份文件。",
    "backup.not_a_backup#2": "{src} 不是平台备份（缺少或损坏 backup.json）",
    "backup.not_a_folder": (
        "备份目录“{folder}”不是文件夹（已有同名文件），备份未完成。请更换备份目录。"
    ),
    "backup.tampered": "备份文件第{number}段已被改动，不能使用。",
    "backup.tampered#2": "备份中的数据库与清单不符。",
    "backup.tampered#3": "备份文件末尾有多余数据，文件已被改动。",
    "backup.tampered#4": "备份文件内容无法解读，可能已损坏。",
    "backup.tampered#5": "备份中的页面文件与清单不符。",
    "backup.tampered#6": "备份中的目录文件与其校验值不符。",
    "backup.tampered#7": "备份文件内容异常（含不允许的路径）。",
    "backup.target_exists": "目标数据库“{file_name}”已存在，请选择新位置。",
    "backup.target_not_empty": "目标数据库中已有平台数据，不能在其上恢复；请新建空数据库后再恢复",
    "backup.tool_missing": "找不到 {cmd_0}，请安装 PostgreSQL 客户端（postgresql-client）",
    "backup.truncated": "备份文件不完整（被截断），不能使用。",
    "backup.write_failed": "备份目录“{folder}”无法写入（{name}），备份未完成。",
    "backup.wrong_key_or_tampered": "备份无法解密：密钥不对，或文件已被改动。请核对恢复码。",
    "camera.lost": "高拍仪“{name}”已断开，请检查连接后重新打开。",
    "camera.not_found": "未找到名为“{name}”的高拍仪，请确认设备已连接。",
    "camera.not_open": "高拍仪尚未打开。",
    "camera.unavailable": "无法打开高拍仪“{name}”，请检查设备连接或是否被其他程序占用。",
    "capture.bad_corners": "页面边框无效，请重新框选。",
    "capture.bad_mode": "不支持的处理模式“{mode}”。",
    "capture.bad_position": "页码应在1～{len_pages}之间。",
    "capture.bad_rotation": "页面只能按90度旋转。",
    "capture.corrupt": "图像文件已损坏，无法读取。",
    "capture.corrupt#2": "图像尺寸无效，文件可能已损坏。",
    "capture.failed": "图像压缩失败。",
    "capture.failed#2": "图像处理失败，请重新拍摄或重新导入。",
    "capture.material_not_in_list": "该材料不在本次材料清单中。",
    "capture.no_page": "页面不存在。",
    "capture.not_image": "不是可识别的图像或PDF文件。",
    "capture.not_image#2": "文件为空。",
    "capture.not_image#3": "不是有效的图像。",
    "capture.not_image#4": "不支持的图像像素格式。",
    "capture.out_unwritable": "无法创建输出目录。",
    "capture.out_unwritable#2": "无法写入输出文件。",
    "capture.pdf_broken": "PDF文件已损坏，无法打开。",
    "capture.pdf_broken#2": "PDF第{page}页无法读取，文件可能已损坏。",
    "capture.pdf_encrypted": "PDF文件已加密（设有打开密码），请提供未加密的文件。",
    "capture.pdf_unsupported": "本机未安装PDF组件，无法导入PDF。",
    "capture.too_large": (
        "图像过大（{width}×{height}像素），超过{max_megapixels}百万像素的上限，"
        "请降低扫描分辨率后重试。"
    ),
    "capture.too_large#2": "文件过大（{size_mb} MB），超过{max_mb} MB的上限。",
    "capture.too_large#3": (
        "图像过大（{megapixels:.0f}百万像素），超过{max_megapixels:.0f}百万像素的上限。"
    ),
    "capture.too_many_pages": "文件共{pages}页，超过单次导入{max_pages}页的上限。",
    "capture.too_many_pages#2": "PDF共{pages}页，超过单次导入{max_pages}页的上限。",
    "capture.truncated": "文件不完整（可能尚未传输完毕或已损坏），请重新扫描或导入。",
    "capture.unreadable": "无法读取该文件，请确认文件存在且未被占用。",
    "catalog.ambiguous_bundle": "“{bundle}”对应{count}个一件事，请写得更具体：{names}。",
    "catalog.condition": "目录文件 {file}，一件事 {bundle}，字段 {field}：{problem}",
    "catalog.duplicate_bundle": "{display}：一件事 {bundle} 重复定义",
    "catalog.duplicate_item": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：事项 id“{it_id}”重复"
    ),
    "catalog.duplicate_material": "目录文件 {file}，材料 {material} 与 {sources_m_id} 中的定义重复",
    "catalog.duplicate_material#2": "{display}：材料 {material} 重复定义",
    "catalog.duplicate_name": "{display}，一件事 {bundle}：名称或别名“{label}”与 {other} 重复",
    "catalog.duplicate_question": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：情形问题 id 重复"
    ),
    "catalog.duplicate_ref": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：同一事项重复列出材料“{mr_id}”"
    ),
    "catalog.empty": "目录 {file} 中没有任何一件事",
    "catalog.encoding": "目录文件 {file} 不是 UTF-8 编码",
    "catalog.file_name": "目录文件 {file}，一件事 {bundle}：文件名应为 {bundle}.json",
    "catalog.json": (
        "目录文件 {file} 第{line}行第{column}列 JSON 格式错误（括号、引号或逗号不匹配）。"
    ),
    "catalog.jurisdiction": "目录文件 {file}，一件事 {bundle}，字段 {field}：未定义的辖区“{j}”",
    "catalog.max_age": "{display}：材料 {material} 设置了复用期限但未标记可复用",
    "catalog.missing_file": "找不到目录文件 {file}",
    "catalog.no_generator": (
        "{display}：材料 {material} 标记为窗口生成，但本程序没有生成该文书的功能"
    ),
    "catalog.older": "收到的目录版本 {new_version} 早于正在使用的 {current_version}，未替换。",
    "catalog.person": "目录文件 {file}，一件事 {bundle}，字段 {field}：未定义的人员“{person}”",
    "catalog.person_name": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：材料“{mat_id}”按人列出时须在材料中定义 "
        "person_name（如“{{person}}居民身份证”）"
    ),
    "catalog.produced_by": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}："
        "事项“{producer}”自己也要求提交材料“{mid}”，不能同时是它的产生者"
    ),
    "catalog.produced_by#2": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：事项不能需要它自己产生的材料"
    ),
    "catalog.produced_by#3": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：本件产生的材料不能再按人列出"
    ),
    "catalog.produced_by#4": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：本一件事中没有事项“{producer}”"
    ),
    "catalog.schema": "{where}，字段 {field}：{problem}",
    "catalog.schema#2": "目录文件 catalog.json，字段 effective_date：日期无效",
    "catalog.tolerance": "{display}：材料 {material} 设置了容缺期限但未标记可容缺",
    "catalog.tolerance#2": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：材料“{mat_id}”本身不可容缺，事项不能放宽"
    ),
    "catalog.too_deep": "{where}，字段 {field}：{problem}，拒绝载入。",
    "catalog.too_deep#2": "目录文件 {file}：嵌套层数过多，拒绝载入。",
    "catalog.too_large": "目录文件 {file} 有 {size_mb} MB，超过上限 {max_mb} MB，拒绝载入。",
    "catalog.unknown_bundle": "目录中没有一件事“{bundle}”。",
    "catalog.unknown_material": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：未定义的材料“{mr_id}”"
    ),
    "catalog.unreadable": "无法读取目录文件 {file}",
    "catalog.unused_question": (
        "目录文件 {file}，一件事 {bundle}，字段 {field}：情形问题“{question_id}”没有被任何条件使用"
    ),
    "catalog.version_unavailable": "本条受理记录所用的目录版本在本机不存在，无法重现其材料清单。",
    "checklist.ambiguous_bundle": "“{bundle}”对应{count}个一件事，请写得更具体：{names}。",
    "checklist.answer_choice": "情形“{question_text}”没有选项“{value}”，可选：{choices}",
    "checklist.answer_format": "情形回答应写成 问题=值（收到“{raw}”）。",
    "checklist.answer_range": (
        "情形“{question_text}”的取值应在 {question_min}～{question_max} 之间。"
    ),
    "checklist.answer_type": "情形“{question_text}”只能回答是或否（收到“{value}”）。",
    "checklist.answer_type#2": "情形“{question_text}”需要填写数字。",
    "checklist.answer_type#3": "情形“{question_text}”需要填写有效数字。",
    "checklist.answer_type#4": "情形“{question_text}”需要填写数字（收到“{value}”）。",
    "checklist.bad_mark": (
        "材料标记“{given}”无效，应为 已收/免提交/容缺（collected/exempt/tolerated）。"
    ),
    "checklist.conflicting_marks": "材料“{material}”被标记了两种状态。",
    "checklist.item_not_offered": "事项“{item_name}”不在本辖区的“{bundle_name}”清单中。",
    "checklist.mark_not_in_list": "材料“{material_name}”不在本次材料清单中，不能标记。",
    "checklist.mark_not_in_list#2": "材料“{name}”不在本次材料清单中，不能标记。",
    "checklist.no_items": "请至少选择“{bundle_name}”中的一个事项。",
    "checklist.not_exemptable": (
        "材料“{material_name}”没有可共享的电子证照或数据来源，不能标记为免提交。"
    ),
    "checklist.not_tolerable": "材料“{material_name}”不允许容缺受理，必须当场提交。",
    "checklist.produced_in_bundle": (
        "材料“{material_name}”由本件事中的“{producer_name}”办理产生，无需申请人提交，不能标记。"
    ),
    "checklist.produced_in_bundle#2": (
        "材料“{name}”由本件事中的“{producer_name}”办理产生，无需申请人提交，不能标记。"
    ),
    "checklist.unknown_bundle": "目录中没有一件事“{bundle}”。",
    "checklist.unknown_item": "一件事“{bundle_name}”中没有事项“{item}”。",
    "checklist.unknown_material": "目录中没有材料“{material}”。",
    "checklist.unknown_question": "一件事“{bundle_name}”没有情形问题“{question}”。",
    "dayclose.already_closed": "{day:%Y年%m月%d日}已日结，不能重复日结。",
    "dayclose.changed_meanwhile": (
        "生成日结报告期间当日受理记录有新的变化，报告已不准确。请重新日结。"
    ),
    "dayclose.future": "不能对尚未到来的日期进行日结。",
    "demo.count": "数量不能为负数。",
    "devices.port_required": "请选择或输入读卡器串口。",
    "export.digest": "导出文件内容校验不符。",
    "export.format": "导出格式应为 Excel、CSV 或 PDF。",
    "export.format#2": "导出文件版本不受支持。",
    "export.frame": "导出文件内容结构损坏。",
    "export.frame#2": "导出文件缺少事件清单。",
    "export.header": "导出文件头已损坏。",
    "export.header#2": "导出文件头缺少站点凭据标识。",
    "export.not_export": "该文件不是受理资料导出文件。",
    "export.page": "导出文件中的页面校验不符。",
    "export.pdf_unavailable": "本功能未接入 PDF 生成，无法导出 PDF。",
    "export.signature": "导出文件签名校验失败：文件被改动、损坏，或不是本站点导出的。",
    "export.station": "导出文件的站点信息与平台登记不符。",
    "export.truncated": "导出文件不完整（可能未拷贝完）。",
    "export.truncated#2": "导出文件不完整。",
    "export.write": "无法写入导出文件（{reason}），请检查U盘。",
    "export.write_failed": "无法写入文件：{exc_strerror}",
    "idcard.bad_command": "身份证阅读器不支持该指令：请确认阅读器符合 GA 467 协议。",
    "idcard.bad_text": "身份证信息格式异常，无法解析：请重新读卡；若反复出现，请人工核验证件。",
    "idcard.checksum": (
        "身份证阅读器数据校验失败（已重试）：请重新放置身份证；若反复出现，请检查阅读器连接线。"
    ),
    "idcard.disconnected": "身份证阅读器连接中断：请检查阅读器连接线是否松动，重新插好后再试。",
    "idcard.expired": (
        "{card_type_name}已过有效期（有效期至{valid_to:%Y年%m月%d日}），请核验其他有效证件。"
    ),
    "idcard.garbage": "身份证阅读器返回的数据无法识别：请检查端口和波特率设置是否正确。",
    "idcard.internal": "身份证读卡程序出错：请重试；若反复出现，请联系管理员。",
    "idcard.invalid_id": "证件号码无效：{id_error}",
    "idcard.no_card": "未检测到身份证：请将身份证平放在阅读器感应区。",
    "idcard.not_open": "身份证阅读器尚未打开：请稍候重试。",
    "idcard.photo_decode_failed": "证件照片解码失败：请人工核验证件照片。",
    "idcard.photo_decoder": "无法加载照片解码库“{path}”：请检查配置的解码库路径。",
    "idcard.port_unavailable": (
        "无法打开身份证阅读器端口“{port}”：请检查阅读器连接线是否插好、端口设置是否正确。"
    ),
    "idcard.removed": "读卡过程中身份证被移开或读卡失败：请将身份证平放在感应区后重新读取。",
    "idcard.sam_failed": "身份证阅读器安全模块（SAM）自检失败：请联系管理员检修阅读器。",
    "idcard.sdk_family": "不支持的读卡器接口类型“{family}”：应为 sdt 或 cvr。",
    "idcard.sdk_library": (
        "找不到读卡器动态库“{path}”或其缺少“{symbol}”："
        "请检查设备设置中的读卡器动态库路径和接口类型。"
    ),
    "idcard.sdk_library_missing": "请用 --lib 指定厂商读卡动态库的路径。",
    "idcard.status": "身份证阅读器返回未知状态（{sw3:02X}）：请重新放置身份证后再试。",
    "idcard.timeout": "身份证阅读器无应答：请检查阅读器电源、连接线和端口设置。",
    "intake.ambiguous_bundle": "“{bundle}”对应{count}个一件事，请写得更具体：{names}。",
    "intake.bad_decision": "办理结果应为 受理/不予受理/办结。",
    "intake.decision_order": "事项办理结果顺序不对：已是“{previous}”，不能再登记“{decision}”。",
    "intake.decision_order#2": "事项办理结果顺序不对：已是“待受理”，不能再登记“{decision}”。",
    "intake.delivery_method": "送达方式应为窗口领取或邮寄。",
    "intake.duplicate_create": "受理记录已存在。",
    "intake.no_active_items": "按情形回答，所选事项均无需办理。请核对情形回答或所选事项。",
    "intake.no_applicant": "请先录入申请人姓名（或企业名称）。",
    "intake.no_bundle": "请先选择一件事和事项。",
    "intake.no_legal_representative": "请录入企业的法定代表人姓名。",
    "intake.no_phone": "请录入联系电话：办理进度和领取结果将通过该电话通知申请人。",
    "intake.no_representative_id": "请录入法定代表人的身份证号码。",
    "intake.no_resident_id": "请录入或读取申请人的身份证号码。",
    "intake.no_station": "账号所属站点不存在。",
    "intake.no_submission": "受理记录不存在。",
    "intake.no_supplement": "该受理没有补正记录，不能打印补正材料收件回执。",
    "intake.no_tolerance": "本次收件没有容缺材料，无需告知承诺书。",
    "intake.no_uscc": "请录入或扫描企业的统一社会信用代码。",
    "intake.not_finished": "受理尚未完成，不能打印文书。",
    "intake.not_found": "找不到该受理记录。",
    "intake.not_notified": "该受理已收件，不出具一次告知通知书。",
    "intake.not_ready_for_delivery": "所选事项尚未办结或已送达，不能登记送达。",
    "intake.not_received": "尚未收件，不能打印收件回执或承诺书。",
    "intake.not_withdrawn": "只有已撤回的受理才打印退还材料清单。",
    "intake.nothing_missing": "材料已齐全，无需一次告知，请完成收件。",
    "intake.nothing_to_supplement": "所选材料不在待补正清单中。",
    "intake.reason_required": "请填写撤回原因。",
    "intake.reason_required#2": "不予受理必须说明理由。",
    "intake.tracking_required": "邮寄送达请填写快递单号。",
    "intake.transition": "当前状态为“{stage_label}”，不能{what}。",
    "intake.transition#2": "当前状态为“{stage_label}”，不能撤回申请（部门已作出决定或尚未收件）。",
    "intake.unanswered": "请先回答情形问题：{names}",
    "intake.unknown_bundle": "目录中没有一件事“{bundle}”。",
    "intake.unknown_event": "未知的事件类型“{event}”。",
    "intake.unknown_item": "该事项不在本次受理范围内。",
    "intake.unknown_number": "找不到受理编号“{number}”（请核对编号及校验位）。",
    "intake.unknown_question": "一件事“{bundle_name}”没有该情形问题。",
    "keys.bad_recovery_code": "恢复码有误，请逐组核对后重新输入。",
    "keys.data_key_missing": (
        "数据库未加载数据密钥，无法读写个人信息。请管理员在本机运行 intake keys recover "
        "并输入备份恢复码（即 intake backup recovery-code 当初显示、由管理员抄存的那一串），"
        "或用恢复码从备份恢复。"
    ),
    "keys.data_key_missing#2": (
        "本机密钥环中没有这个数据库的数据密钥（换了电脑、重装系统或密钥环被清空）。"
        "请管理员在本机运行 intake keys recover 并输入备份恢复码（即 intake backup recovery-code "
        "当初显示、由管理员抄存的那一串），或用恢复码从备份恢复。"
    ),
    "keys.data_key_wrong": (
        "本机密钥环中的数据密钥与这个数据库不匹配。请管理员在本机运行 intake keys recover "
        "并输入备份恢复码（即 intake backup recovery-code 当初显示、由管理员抄存的那一串），"
        "或用恢复码从备份恢复。"
    ),
    "keys.data_key_wrong#2": "恢复出的密钥与数据库的校验值不符，数据库可能已被改动。",
    "keys.insecure_keyring": (
        "本机密钥环会把密钥以明文保存在磁盘文件中，本程序拒绝使用。Windows "
        "请使用系统自带的凭据管理器；统信 UOS / 麒麟 / Linux 桌面请安装并解锁 gnome-keyring 或 "
        "KWallet（Secret Service），在桌面会话中运行本程序；并卸载 keyrings.alt 或取消环境变量 "
        "PYTHON_KEYRING_BACKEND。演示模式（--demo）不受此限制。"
    ),
    "keys.keyring_unavailable": (
        "系统密钥环不可用，无法读取或保存密钥。请在本机桌面会话中运行，或由管理员配置系统密钥环。"
    ),
    "keys.keyring_unavailable#2": "系统密钥环不可用，本机没有签名密钥，无法生成检查点。",
    "keys.keyring_unavailable#3": "系统密钥环不可用，本机没有回执签名密钥。",
    "keys.malformed": (
        "密钥环中的“{name}”不是有效的密钥。请按《密钥恢复》说明导入备份时记录的恢复码。"
    ),
    "keys.malformed#2": "密钥环中的回执签名密钥无效。请由管理员按《密钥恢复》说明处理。",
    "keys.recovery_mismatch": "数据库中的密钥备份不完整。",
    "keys.recovery_mismatch#2": (
        "恢复码与这个数据库不匹配：请核对恢复码，或确认这是本站点的数据库。"
    ),
    "keys.store_without_key": "数据库缺少数据密钥记录，可能已被改动。请从备份恢复。",
    "keys.store_without_key#2": "数据库缺少数据密钥记录，无法恢复。",
    "ledger.date": "日期格式应为 YYYY-MM-DD（收到“{args_date}”）。",
    "ocr.failed": "文字识别失败，请重新拍摄身份证。",
    "ocr.unavailable": "本机未安装离线文字识别组件（rapidocr），无法识别身份证照片。",
    "ocr.unavailable#2": "文字识别组件无法加载，请联系管理员检查安装。",
    "options.invalid": "“{self_description}”的值无效：{shown_raw}",
    "options.not_a_choice": "“{self_description}”只能是：{allowed}",
    "options.too_large": "“{self_description}”不能大于 {self_maximum:g}",
    "options.too_small": "“{self_description}”不能小于 {self_minimum:g}",
    "print.font_missing": (
        "未找到可用于打印的中文字体。请安装字体软件包 fonts-wqy-microhei（文泉驿微米黑）和 "
        "fonts-hanazono（花园明朝，用于生僻字），或将 TrueType 字体放入程序的 resources/fonts "
        "目录。"
    ),
    "print.guide_reprint": "办事指南不是受理文书，没有“补打”，请去掉 --reprint 重新打印。",
    "print.unknown_number": "找不到受理编号“{args_number}”（请核对编号及校验位）。",
    "print.write_failed": "无法写入文件“{args_out}”：{exc_strerror}",
    "receipt.keys_file": "无法读取站点公钥文件“{args_keys}”。",
    "report.figure": "未知的统计项“{figure}”。",
    "report.period": "统计周期应为日、周或月。",
    "setup.done": "本机已完成站点设置。",
    "setup.names": "请填写站点名称和中心名称（打印在回执上）。",
    "setup.station_code": (
        "站点编码应为2～8位数字或大写字母（不含I、O、S、V、Z），由县行政审批局分配。"
    ),
    "store.attachment_corrupt": "页面文件已损坏（校验不符）。",
    "store.attachment_corrupt#2": "页面文件已损坏或被改动（无法解密）。",
    "store.attachment_missing": "找不到页面文件，可能已被删除。",
    "store.attachment_write": "页面文件未能保存，请检查磁盘。",
    "store.decrypt_failed": (
        "数据无法解密：本机密钥不对，或数据已被改动。请管理员在本机运行 intake keys recover "
        "并输入备份恢复码（即 intake backup recovery-code 当初显示、由管理员抄存的那一串），"
        "或用恢复码从备份恢复。"
    ),
    "store.decrypt_failed#2": (
        "页面文件无法解密：本机密钥不对，或数据已被改动。请管理员在本机运行 intake keys recover "
        "并输入备份恢复码（即 intake backup recovery-code 当初显示、由管理员抄存的那一串），"
        "或用恢复码从备份恢复。"
    ),
    "store.disk_full": "磁盘空间不足，页面未能保存。请清理磁盘后重试。",
    "store.disk_full#2": "磁盘空间不足，未能保存。请清理磁盘后重试。",
    "store.empty_file": (
        "数据库文件“{file}”是空文件（0 字节），可能是复制或恢复中断造成的。请从备份恢复；"
        "确需在此新建数据库时加 --create。"
    ),
    "store.empty_file#2": (
        "数据库文件“{file}”中没有任何数据表。请从备份恢复；确需在此新建数据库时加 --create。"
    ),
    "store.error": "数据库错误：{error_type}",
    "store.foreign_database": (
        "“{file}”是其他程序的数据库，不能作为受理数据库使用（文件未作任何改动）。"
    ),
    "store.in_use": (
        "数据库“{file}”已由另一个程序打开：计算机“{host}”上的进程 {pid}（{program}）。"
        "同一数据库同时只能由一个窗口使用，请切换到已打开的窗口；若该窗口已无响应，"
        "请在任务管理器（或 kill 命令）中结束该进程后再启动本程序。"
    ),
    "store.in_use#2": (
        "数据库“{file}”正由另一个综合受理窗口打开。同一数据库同时只能由一个窗口使用，"
        "请切换到已打开的窗口。"
    ),
    "store.is_directory": "“{file}”是目录，不是数据库文件。",
    "store.missing": (
        "数据库文件“{file}”不存在。首次使用请运行 intake setup 设置站点，或确需新建空数据库时加 "
        "--create。"
    ),
    "store.newer_schema": "数据库来自更新版本的程序（结构版本未知），本程序不能打开。请升级程序。",
    "store.not_a_database": "文件不是本系统的数据库或已损坏。",
    "store.not_a_database#2": "文件“{file}”不是本系统的数据库或已损坏，请确认路径或从备份恢复。",
    "store.not_a_database#3": "“{path_name}”不是本系统的数据库或已损坏。",
    "store.read_only": "数据库“{file}”只读，无法保存。",
    "store.schema_mismatch": (
        "数据库“{file}”的结构与其版本记录（{revision}）不符：其中已有该版本之后才有的表或列，"
        "可能曾被其他版本的程序改动、或版本记录被改写。为免损坏数据，本程序未作任何改动。"
        "请从备份恢复，或联系县级技术支持。"
    ),
    "store.unavailable": "无法打开数据库“{file}”：目录不存在或无权限。",
    "store.unavailable#2": "数据库所在目录“{path_parent}”不存在。",
    "store.unavailable#3": "找不到数据库“{path}”。",
    "store.upgrade_backup_failed": (
        "升级数据库前未能写出备份（{reason}），数据库未升级。请释放磁盘空间后重试。"
    ),
    "store.upgrade_backup_failed#2": (
        "升级数据库前未能写出备份（磁盘空间不足或目录不可写），数据库未升级。请释放磁盘空间后重试。"
    ),
    "store.upgrade_failed": (
        "数据库升级失败，已恢复到升级前的状态（备份“{backup}”）。请联系管理员。"
    ),
    "store.upgrade_failed_unrestored": (
        "数据库升级失败，且未能自动恢复。请勿继续使用，联系管理员用备份“{backup}”恢复（intake "
        "backup restore）。"
    ),
    "submit.applicant_kind": "申请人类型应为 personal（个人）或 enterprise（企业），收到“{kind}”。",
    "submit.bad_mark": (
        "材料“{material}”的标记“{mark}”无效，应为 collected（已收）、exempt（免提交）、"
        "tolerated（容缺）或 missing（缺）。"
    ),
    "submit.card_field": "读卡信息缺少“{name}”。",
    "submit.clerk_inactive": "账号“{clerk}”已停用，不能受理。",
    "submit.date": "字段“{field}”应为日期 YYYY-MM-DD（收到“{text}”）。",
    "submit.encoding": "受理文件“{file}”不是 UTF-8 文本。",
    "submit.field_type": "字段“{field}”应为文字。",
    "submit.field_type#2": "字段“{field}”应为对象（{{…}}）。",
    "submit.field_type#3": "字段“applicant.consent_reuse”应为 true 或 false。",
    "submit.field_type#4": "字段“items”应为事项 id 的列表。",
    "submit.field_type#5": "字段“pages.{line_id}”应为图片文件路径的列表。",
    "submit.field_type#6": '字段“{field}”应为 id 的列表（或把 reuse 写作 "all"）。',
    "submit.file": "无法读取受理文件“{file}”：{reason}。",
    "submit.json": "受理文件“{file}”不是有效的 JSON（第{line}行第{col}列）。",
    "submit.missing_field": "受理文件缺少字段“{field}”。",
    "submit.no_materials": "请用 --material 列出申请人本次补交的容缺材料。",
    "submit.page_file": "无法读取材料页面“{file}”：{reason}。",
    "submit.page_type": "材料页面“{file}”不是 JPEG 或 PNG 图片。",
    "submit.print_dir": "无法使用文书输出目录“{out}”：{reason}。",
    "submit.unknown_clerk": "没有账号“{clerk}”。",
    "submit.unknown_field": "{where}中有不认识的字段“{field}”（可用：{join_allowed}）。",
    "submit.unknown_material": "目录中没有材料“{material}”。",
    "submit.write_failed": "无法写入文件“{file}”：{reason}。",
    "sync.audit_refused": (
        "县级平台拒收本机的审计日志：日志链校验不通过（本机审计记录可能被改动或删除）。"
    ),
    "sync.bad_catalog": "县级平台发来的事项目录有误，未采用，继续使用当前目录。",
    "sync.bad_response": "县级平台的应答格式不正确（可能被网关或代理改写）。",
    "sync.bad_response#10": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。（审计应答缺少 last_id）"
    ),
    "sync.bad_response#11": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。（updates 应为列表）"
    ),
    "sync.bad_response#12": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。（目录应答无摘要或内容类型 "
        "{content_type}）"
    ),
    "sync.bad_response#13": "县级平台的应答格式不正确（可能被网关或代理改写）。（JSON 不完整）",
    "sync.bad_response#14": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。（审计记录应答与所发不符）"
    ),
    "sync.bad_response#15": "县级平台的应答格式不正确（可能被网关或代理改写）。（needed 格式不对）",
    "sync.bad_response#16": "县级平台的应答格式不正确（可能被网关或代理改写）。（页面应答缺项）",
    "sync.bad_response#17": "县级平台的应答格式不正确（可能被网关或代理改写）。（续传偏移不对）",
    "sync.bad_response#18": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。（办理结果游标不对）"
    ),
    "sync.bad_response#2": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。（HTTP {http_status}）"
    ),
    "sync.bad_response#3": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。（内容类型 {content_type}）"
    ),
    "sync.bad_response#4": "县级平台的应答格式不正确（可能被网关或代理改写）。（缺少字段）",
    "sync.bad_response#5": "县级平台的应答格式不正确（可能被网关或代理改写）。（登记应答格式不对）",
    "sync.bad_response#6": "县级平台的应答格式不正确（可能被网关或代理改写）。（序号范围格式不对）",
    "sync.bad_response#7": "县级平台的应答格式不正确（可能被网关或代理改写）。（needed 应为列表）",
    "sync.bad_response#8": "县级平台的应答格式不正确（可能被网关或代理改写）。（blobs 应为列表）",
    "sync.bad_response#9": (
        "县级平台的应答格式不正确（可能被网关或代理改写）。（事件应答与所发不符）"
    ),
    "sync.bad_status_update": "县级平台发来的办理结果格式不正确，未登记。",
    "sync.conflict": "县级平台已有同编号但内容不同的记录。",
    "sync.forbidden": "该受理记录属于其他站点，县级平台拒收。",
    "sync.interrupted": "上传过程中连接中断。",
    "sync.interrupted#2": "上传过程中连接中断。（页面尚未全部送达，稍后续传）",
    "sync.interrupted#3": "上传过程中连接中断。（部分页面未送达，稍后续传）",
    "sync.interrupted#4": "上传过程中连接中断。（页面续传位置变化）",
    "sync.keyring": "系统密钥环不可用，无法读取站点凭据。",
    "sync.keyring#2": "系统密钥环不可用，无法读取或保存站点凭据。",
    "sync.local_event": "本机的这条事件记录已损坏，无法上传。",
    "sync.not_enrolled": "本站点尚未登记到县级平台，资料暂存在本机。",
    "sync.offline": "无法连接县级平台（网络不通或服务器未开启）。",
    "sync.page_corrupt": "页面在传输中反复损坏，县级平台校验不通过。",
    "sync.page_missing": "本机找不到该页面的图像文件，或文件已损坏。",
    "sync.proxy": "代理服务器无法连接。",
    "sync.rate_limited": "县级平台繁忙，要求稍后再传。",
    "sync.receipt_key_refused": "县级平台未登记本机的回执签名公钥，平台暂不能核验本站的回执。",
    "sync.refused": "县级平台拒收了这条记录。",
    "sync.server_error": "县级平台内部出错，暂时无法接收。",
    "sync.server_error#2": "县级平台暂时无法接收：{hub}",
    "sync.status_not_applicable": "县级平台发来的办理结果与本机记录不符，未登记。",
    "sync.timeout": "县级平台响应太慢，本次上传已中止。",
    "sync.tls": "县级平台的证书未通过校验，为安全起见已停止上传。",
    "sync.too_large": "单次上传的数据超过平台限制。",
    "sync.unauthorized": "本站点的同步凭据无效或已被吊销，县级平台拒绝接收。",
}

# What the clerk or the administrator can do about a sync failure, by code.
FIXES: dict[str, str] = {
    "sync.audit_refused": (
        "请联系技术支持运行 intake audit verify 检查本机审计日志；此前的审计记录已在平台留存，"
        "受理资料照常上传。"
    ),
    "sync.bad_catalog": "请联系县行政审批局核实目录版本。",
    "sync.bad_response": "稍后自动重试；如持续出现，请联系县行政审批局检查平台地址和代理设置。",
    "sync.bad_status_update": "请联系县行政审批局核实该办理结果；本机记录未受影响。",
    "sync.conflict": "请联系县行政审批局核对该受理记录。",
    "sync.forbidden": "请联系县行政审批局核实站点登记是否正确。",
    "sync.interrupted": "稍后自动续传，已送达的部分不会重复发送。",
    "sync.keyring": "请在本机登录桌面会话后重试。",
    "sync.keyring#2": "请在本机登录桌面会话后重试；无桌面的服务器需配置系统密钥环服务。",
    "sync.local_event": "请联系技术支持检查本机数据库（运行 intake audit verify）。",
    "sync.not_enrolled": "请管理员向县行政审批局索取登记码，在本机执行“站点登记”。",
    "sync.offline": "检查网线或无线网络；资料已保存在本机，联网后自动上传，无需重复操作。",
    "sync.page_corrupt": "请检查网络设备；处理后在同步队列中点“重试”。",
    "sync.page_missing": "请打开该受理记录，删除并重新拍摄该页，然后在同步队列中点“重试”。",
    "sync.proxy": "请管理员核对同步设置中的代理地址。",
    "sync.rate_limited": "稍后自动重试，无需操作。",
    "sync.receipt_key_refused": "请联系县行政审批局核实；回执照常打印和离线核验。",
    "sync.refused": "请联系县行政审批局核实原因，处理后在同步队列中点“重试”。",
    "sync.server_error": "稍后自动重试；如持续出现，请联系县行政审批局。",
    "sync.status_not_applicable": "请联系县行政审批局核实该事项的办理结果。",
    "sync.timeout": "稍后自动重试；如长时间如此，请联系县行政审批局检查网络。",
    "sync.tls": "请管理员在同步设置中配置政务外网的CA证书文件，或核对平台地址。",
    "sync.too_large": "将自动分批上传，无需操作。",
    "sync.unauthorized": (
        "请联系县行政审批局重新生成登记码，并在本机重新登记站点；本机资料不会丢失。"
    ),
}


def key(code: str, variant: int = 0) -> str:
    """The catalog key of CODE's VARIANT (0: the code's main text)."""
    return f"{code}#{variant}" if variant else code


def render(code: str, variant: int = 0, params: Mapping[str, object] | None = None) -> str:
    """The Chinese text for CODE / VARIANT with PARAMS filled in.

    Fails safe: an unknown code or a missing parameter gives GENERIC with the code, and an error
    in the log (code and key only; the test suite fails on it)."""
    template = MESSAGES.get(key(code, variant))
    if template is None:
        log.error("no message text for %s", key(code, variant))
        return GENERIC.format(code=code)
    try:
        return template.format(**(params or {}))
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        log.error("message %s cannot be filled: %s", key(code, variant), type(exc).__name__)
        return GENERIC.format(code=code)


def fix(code: str, variant: int = 0) -> str:
    """What to do about CODE / VARIANT ("" when the catalog has no advice for it)."""
    return FIXES.get(key(code, variant), FIXES.get(code, ""))
