"""Notices to the applicant (短信告知): the provider interface, its implementations, and the
sender that drains the hub's notice outbox (hub_notices) through the configured provider."""

from __future__ import annotations

from typing import Any

from sync.hub.notify.base import NoticeProvider
from sync.hub.notify.logging_provider import LoggingProvider
from sync.hub.notify.sender import NoticeSender
from sync.hub.notify.sms_gateway import SmsGatewayProvider


def make_provider(settings: Any) -> NoticeProvider | None:
    """The provider the settings name (None: notices stay queued, "off")."""
    if settings.notify_provider == "off":
        return None
    if settings.notify_provider == "log":
        return LoggingProvider()
    secret = settings.sms_secret_value()
    missing = [
        name
        for name, value in (("sms_url", settings.sms_url), ("sms_key_id", settings.sms_key_id))
        if not value
    ] + ([] if secret else ["sms_secret"])
    if missing:
        from sync.hub.settings import SettingsError

        raise SettingsError("hub.sms_not_configured", missing="、".join(missing))
    return SmsGatewayProvider(
        settings.sms_url,
        settings.sms_key_id,
        secret,
        settings.sms_templates,
        sign_name=settings.sms_sign_name,
        timeout=settings.sms_timeout,
    )


def start_sender(store: Any, settings: Any) -> NoticeSender | None:
    """This process's sender, started (None when notices are off)."""
    provider = make_provider(settings)
    if provider is None:
        return None
    return NoticeSender(
        store,
        provider,
        interval=settings.notify_interval,
        backoff=settings.notify_backoff,
        backoff_max=settings.notify_backoff_max,
        max_attempts=settings.notify_max_attempts,
        lease=max(120.0, settings.sms_timeout * 4),
    ).start()


__all__ = ["LoggingProvider", "NoticeSender", "SmsGatewayProvider", "start_sender"]
