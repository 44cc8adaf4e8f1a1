"""The station's link to the hub: where it is (URL, CA bundle, proxy, kept in the outbox's
settings), the station's token (OS keyring), enrollment with the administrator's one-time code,
and the one HubClient the engine's jobs share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from local_db.models import Station
from sync.client import HubClient, TransportConfig
from sync.jobs.receipt_key import ReceiptKey
from sync.jobs.shared import SyncConfig
from sync.keystore import TokenStore, token_key
from sync.outbox import Outbox

log = logging.getLogger("intake.sync")

ClientFactory = Callable[[TransportConfig, str | None], HubClient]


class HubLink:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        outbox: Outbox,
        tokens: TokenStore,
        config: SyncConfig,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.tokens = tokens
        self.config = config
        self._client_factory = client_factory or (lambda cfg, token: HubClient(cfg, token))
        self._client: HubClient | None = None
        self._client_key: tuple[Any, ...] | None = None

    def transport_config(self) -> TransportConfig | None:
        url = self.outbox.get("hub_url")
        if not url:
            return None
        return self._transport(url, self.outbox.get("ca_bundle"), self.outbox.get("proxy"))

    def _transport(self, url: str, ca_bundle: str | None, proxy: str | None) -> TransportConfig:
        return TransportConfig(
            base_url=url,
            ca_bundle=ca_bundle,
            proxy=proxy,
            connect_timeout=self.config.connect_timeout,
            read_timeout=self.config.read_timeout,
        )

    def configure(
        self, *, ca_bundle: str | bool | None = False, proxy: str | bool | None = False
    ) -> None:
        """Change the CA bundle or proxy (None clears; False leaves as is)."""
        values: dict[str, object] = {}
        if ca_bundle is not False:
            values["ca_bundle"] = ca_bundle or None
        if proxy is not False:
            values["proxy"] = proxy or None
        self.outbox.set(**values)
        self.drop_client()

    def drop_client(self) -> None:
        """The next request builds a new client (settings or token changed)."""
        self._client = None

    def enroll(
        self,
        url: str,
        code: str,
        signer: ReceiptKey | None,
        *,
        ca_bundle: str | None = None,
        proxy: str | None = None,
    ) -> dict[str, Any]:
        """Exchange the administrator's one-time code for this station's token (kept in the OS
        keyring, never in a file). Returns what was stored, without the token."""
        store_id = self.outbox.store_id()
        with self.sessions() as s:
            station = s.scalars(select(Station).where(Station.is_local)).first()
            local_code = station.code if station else None
        client = self._client_factory(self._transport(url, ca_bundle, proxy), None)
        try:
            if signer is None:
                answer = client.enroll(code, store_id, local_code)
            else:
                answer = client.enroll(
                    code,
                    store_id,
                    local_code,
                    {"key_id": signer.key_id, "public_key": signer.public_key_text()},
                )
        finally:
            client.close()
        self.tokens.set(token_key(store_id), answer["token"])
        key = answer.get("receipt_key")
        taken = isinstance(key, dict) and key.get("status") in ("stored", "duplicate")
        # a key the hub did not take is sent again by the next step (and parked if refused again)
        self.outbox.set(
            hub_url=url,
            station_code=answer["station_code"],
            token_id=answer["token_id"],
            ca_bundle=ca_bundle,
            proxy=proxy,
            receipt_key_id=signer.key_id if signer is not None and taken else None,
        )
        log.info("station %s enrolled at the hub", answer["station_code"])
        return {
            "hub_url": url,
            "station_code": answer["station_code"],
            "token_id": answer["token_id"],
            "store_id": store_id,
        }

    def token(self) -> str | None:
        return self.tokens.get(token_key(self.outbox.store_id()))

    def client(self) -> HubClient | None:
        """The client for the hub the station is enrolled at; None when not enrolled."""
        cfg = self.transport_config()
        if cfg is None:
            return None
        token = self.token()
        if not token:
            return None
        key = (cfg, token)
        if self._client is None or self._client_key != key:
            if self._client is not None:
                self._client.close()
            self._client = self._client_factory(cfg, token)
            self._client_key = key
        return self._client
