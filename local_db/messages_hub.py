"""The Chinese texts of the error codes of the county hub's operation (its configuration and
what stops its start). Part of the one message catalog, local_db/messages.py, which renders
them; kept apart for size."""

from __future__ import annotations

HUB_MESSAGES: dict[str, str] = {
    "hub.config_invalid": "平台配置项 {field}（环境变量 {ENV_PREFIX}{where_upper}）的值无效",
    "hub.config_malformed": "平台配置文件不是有效的 TOML：{path}（{exc}）",
    "hub.config_missing": "找不到平台配置文件：{path}",
    "hub.config_unknown": "平台配置中有未知的设置项：{field}",
    "hub.db_unreachable": (
        "无法连接平台数据库 {where}：请确认数据库已启动，配置项 db 中的地址、库名、用户和密码无误"
        "（数据库的答复：{reason}）。作为服务运行时会自动重试。"
    ),
    "hub.s3_unreachable": (
        "无法使用页面存储 {endpoint} 的桶 {bucket}：请确认对象存储已启动，s3_endpoint、"
        "s3_bucket 与访问密钥无误（存储的答复：{reason}）。作为服务运行时会自动重试。"
    ),
    "hub.secret_on_command_line": (
        "密钥和密码不能写在命令行上（会出现在进程列表和命令历史中）："
        "请写入平台配置文件（--config）或环境变量 {env}。"
    ),
    "hub.sms_secret_file": "无法读取短信网关签名密钥文件：{path}",
}
