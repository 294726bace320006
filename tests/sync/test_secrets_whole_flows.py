"""No secret in any log line or error text of whole flows at DEBUG (issue 13: the earlier test only
logged objects it built itself).

An order sync of Trendyol and Hepsiburada accounts (credentials sealed by `AccountService`, opened
by the engine, faults injected, one account with refused credentials), then a WhatsApp send with
an İYS consent check and its signed status webhooks, a forged webhook and a refused token. Every
log record of every logger (httpx and httpcore included) is captured at DEBUG with its exception
text, together with the reports, errors, quarantined rows and events the flows produced; no
credential, in plain or in the encoded form it travels in (Basic auth, Bearer), may appear.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sync_world import make_world

from invekto_integrations.core.clock import Clock, FrozenClock
from invekto_integrations.core.errors import IntegrationError
from invekto_integrations.events import EventBus
from invekto_integrations.messaging import (
    ConsentService,
    MessageCategory,
    MessagingWebhookHandler,
    OutboundMessage,
    SendPipeline,
    WebhookRoute,
)
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.models.consent import ConsentStatus
from invekto_integrations.providers.hepsiburada import PROVIDER as HEPSIBURADA
from invekto_integrations.providers.iys import IysClient, IysSettings
from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings, WhatsAppWebhooks
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.testing.sandbox import Sandbox, WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.iys import IysFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import StatusTiming, WhatsAppCloudFake

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


class Everything(logging.Handler):
    """Every record of every logger, formatted with its exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            self.texts.append(repr(record.exc_info[1]))


@pytest.fixture
def capture() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(n) for n in ("httpx", "httpcore", "invekto_integrations", "uvicorn"))]
    levels = [lg.level for lg in loggers]
    root.addHandler(handler)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


def _forms(creds: Credentials, *, key_is_identifier: bool = False) -> list[str]:
    """The credential values and the encoded forms they travel in. Hepsiburada's ``api_key`` is the
    merchant id, which its documented URLs carry (an identifier, not a secret)."""
    values = [] if key_is_identifier else [creds.api_key.get_secret_value()]
    if creds.api_secret is not None:
        values.append(creds.api_secret.get_secret_value())
    values += [v.get_secret_value() for v in creds.extra.values()]
    out = [v for v in values if len(v) >= 4]
    if creds.api_secret is not None:
        pair = f"{creds.api_key.get_secret_value()}:{creds.api_secret.get_secret_value()}".encode()
        out.append(base64.b64encode(pair).decode())
    return out


def _leaks(secrets: list[str], texts: list[str]) -> list[str]:
    return sorted({s[:3] + "…" for s in secrets for t in texts if s in t})


async def test_a_whole_order_sync_at_debug_logs_no_secret(capture: Everything, sleepless: Clock) -> None:
    store = SQLiteStore()
    w = make_world(store, sleep_clock=sleepless, providers=[TRENDYOL, HEPSIBURADA])
    secrets: list[str] = []
    texts: list[str] = []
    try:
        accounts = []
        for tenant in ("t1", "t2"):
            for provider in ("trendyol", "hepsiburada"):
                seller = w.scenario(provider).provision_account()
                secrets += _forms(seller.credentials, key_is_identifier=provider == "hepsiburada")
                accounts.append(w.service.add(tenant, provider, seller.credentials, settings=seller.settings))
                w.keys[accounts[-1].id] = seller.account_key
                w.scenario(provider).seed_orders(seller.account_key, 30, start=w.clock.now() - timedelta(days=20),
                                                 end=w.clock.now() - timedelta(hours=1))
        refused = Credentials(api_key=SecretStr("WRONG-KEY-7781"), api_secret=SecretStr("WRONG-SECRET-7781"))
        secrets += _forms(refused)
        accounts.append(w.service.add("t3", "trendyol", refused, settings=accounts[0].settings))
        for provider in ("trendyol", "hepsiburada"):
            w.sandbox.fake(provider).faults.configure(error_rate=0.1, drop_rate=0.03, malformed_rate=0.05,
                                                      truncate_rate=0.03, seed=7,
                                                      script=["rate_limit", "error", "drop"])
        first = await w.engine.run()
        w.clock.advance(hours=1)
        second = await w.engine.run()
        for report in (first, second):
            texts += [repr(report), str(report)]
            texts += [str(a.error) for a in report.accounts]
        assert any(a.error for a in first.accounts), "the refused account must produce an error text"
        assert first.inserted > 0
        for tenant in ("t1", "t2", "t3"):
            texts += [q.error + q.raw_json for q in store.quarantine.find(tenant)]
            texts += [json.dumps(e.data, default=str) for e in store.events.read(tenant)]
            texts += [repr(a) for a in store.accounts.find(tenant)]
        texts += capture.texts
        assert len(capture.texts) > 50 and any(t.startswith("httpx ") for t in capture.texts), \
            "DEBUG logging of the whole flow was not captured"
        assert not _leaks(secrets, texts), f"secrets leaked: {_leaks(secrets, texts)}"
    finally:
        w.engine.close()
        store.close()


def test_a_whatsapp_send_and_its_webhooks_at_debug_log_no_secret(capture: Everything) -> None:
    from datetime import UTC, datetime

    clock = FrozenClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    wa_fake = WhatsAppCloudFake(clock=clock, status_timing=StatusTiming.immediate())
    iys_fake = IysFake(clock=clock)
    sandbox = Sandbox([wa_fake, iys_fake], clock=clock)
    token, app_secret, verify = "wa-token-a", wa_fake.app_secret, "verify-me-9913"
    iys_password = "iys-pass-a"
    secrets = [token, f"Bearer {token}", app_secret, verify, iys_password]
    store = MemoryStore()
    wa = WhatsAppCloudClient(WhatsAppCloudSettings(phone_number_id="1000000001", waba_id="waba-a"), SecretStr(token),
                             base_url=sandbox.inprocess_url("whatsapp_cloud"), transport=sandbox.transport(),
                             clock=clock)
    iys = IysClient(IysSettings(iys_code="700001", brand_code="700001"), "iys-api-a", SecretStr(iys_password),
                    base_url=sandbox.inprocess_url("iys"), transport=sandbox.transport(), clock=clock)
    bad_iys = IysClient(IysSettings(iys_code="700001", brand_code="700001"), "iys-api-a",
                        SecretStr("WRONG-IYS-PASS-22"), base_url=sandbox.inprocess_url("iys"),
                        transport=sandbox.transport(), clock=clock)
    secrets.append("WRONG-IYS-PASS-22")
    texts: list[str] = []
    try:
        consent = ConsentService(store.consents, store.messaging_contacts, clock=clock)
        consent.configure("t1", source=iys, brand_code="700001")
        pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, {"t1": wa},
                                events=EventBus(store.events, clock), clock=clock)
        handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr(verify),
                                          routes={"1000000001": WebhookRoute("t1", SecretStr(app_secret))},
                                          quarantine=store.quarantine)
        answers: list[Any] = []

        def serve(request: Any) -> Any:
            import httpx

            answer = handler.handle(request.method, dict(request.url.params), dict(request.headers), request.read())
            answers.append(answer)
            return httpx.Response(answer.status, text=answer.body)

        import httpx

        wa_fake.webhook_url = "http://receiver.invalid/hook"
        wa_fake.webhooks = WebhookDispatcher(transport=httpx.MockTransport(serve))
        consent.record_consent("t1", "+905321234567", status=ConsentStatus.ONAY)
        wa_fake.inject_inbound("905321234567", "Merhaba")
        wa_fake.webhooks.drain()
        result = pipeline.submit(OutboundMessage(
            tenant_id="t1", idempotency_key="k1", purpose="campaign", category=MessageCategory.MARKETING,
            to_phone="+905321234567", text="Size özel indirim"))
        wa_fake.webhooks.drain()
        texts += [repr(result), str(result)]
        assert result.status == "sent", result
        # a forged webhook, a handshake with the wrong token, a refused İYS login, a Graph 401
        texts.append(handler.handle("POST", {}, {"X-Hub-Signature-256": "sha256=00"}, b'{"entry": []}').body)
        texts.append(handler.handle("GET", {"hub.mode": "subscribe", "hub.verify_token": "nope",
                                            "hub.challenge": "1"}, {}, b"").body)
        for call in (lambda: bad_iys.query_consent("+905321234567"),
                     lambda: WhatsAppCloudClient(WhatsAppCloudSettings(phone_number_id="1000000001"),
                                                 SecretStr("wa-token-REVOKED-55"),
                                                 base_url=sandbox.inprocess_url("whatsapp_cloud"),
                                                 transport=sandbox.transport(), clock=clock).list_templates()):
            with pytest.raises(IntegrationError) as info:
                call()
            texts += [str(info.value), repr(info.value), repr(info.value.__cause__)]
        secrets.append("wa-token-REVOKED-55")
        texts += [a.body for a in answers]
        texts += [json.dumps(e.data, default=str) for e in store.events.read("t1")]
        texts += [repr(r) for r in (wa, iys, handler, pipeline)]
        texts += capture.texts
        assert len(answers) >= 4 and any(t.startswith("httpx ") for t in capture.texts)
        assert not _leaks(secrets, texts), f"secrets leaked: {_leaks(secrets, texts)}"
    finally:
        wa.close()
        iys.close()
        bad_iys.close()
