"""Click-to-WhatsApp (3.14.5): the referral of an inbound message as a typed record, and the ad
behind it resolved to ad set and campaign through the ads provider, cached per tenant.

An ad the token cannot read (Graph code 10/100/200, another business's ad account) is cached as
unreadable: the touch keeps the raw ``source_id``/``source_url`` and the ad id, nothing fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import AuthenticationError, InvalidRequest, NotFound, PermissionDenied
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.attribution import AdCacheEntry, AdRef
from invekto_integrations.providers.base import AdLookup
from invekto_integrations.storage.protocols_attribution import AdCacheRepository

__all__ = ["AdResolver", "ReferralInfo", "referral_info"]


class ReferralInfo(BaseModel):
    """The fields of a CTWA ``referral`` attribution needs, plus the raw object (store it: it is
    sent only on the first message after the click)."""

    model_config = ConfigDict(frozen=True)

    source_type: str | None = None
    source_id: str | None = None
    source_url: str | None = None
    headline: str | None = None
    body: str | None = None
    ctwa_clid: str | None = None
    raw: dict[str, Any]

    @property
    def is_ad(self) -> bool:
        return (self.source_type or "").lower() == "ad" and bool(self.source_id)


def _text(v: object) -> str | None:
    return str(v) if v not in (None, "") else None


def referral_info(referral: object, ctwa_clid: str | None = None) -> ReferralInfo | None:
    """A `ReferralInfo` from a referral given as a dict (the webhook's JSON) or a model (the typed
    ``Referral`` of the event contract); ``None`` when there is none."""
    if referral is None:
        return None
    if isinstance(referral, BaseModel):
        # The typed `Referral` (event contract v2) keeps the provider's object in ``raw``.
        raw = referral.model_dump(mode="json", exclude_none=True)
        original = raw.pop("raw", None)
        if isinstance(original, dict) and original:
            raw = {**raw, **original}
    elif isinstance(referral, Mapping):
        raw = dict(referral)
    else:
        return None
    if not raw and not ctwa_clid:
        return None
    return ReferralInfo(source_type=_text(raw.get("source_type")), source_id=_text(raw.get("source_id")),
                        source_url=_text(raw.get("source_url")), headline=_text(raw.get("headline")),
                        body=_text(raw.get("body")), ctwa_clid=_text(raw.get("ctwa_clid")) or ctwa_clid, raw=raw)


class AdResolver(ConciseRepr, fields=("clock",)):
    """Ad id → `AdRef` through ``lookup`` (an `AdLookup` per tenant), cached in ``cache``.

    Readable ads are cached for good (ads never change owner; names are refreshed after
    ``refresh_after``); unreadable ones are retried after ``retry_unreadable_after``.
    """

    def __init__(self, cache: AdCacheRepository, lookup: Callable[[str], AdLookup | None], *,
                 clock: Clock | None = None, refresh_after: timedelta = timedelta(days=7),
                 retry_unreadable_after: timedelta = timedelta(days=1)) -> None:
        self.cache = cache
        self.lookup = lookup
        self.clock = clock or SystemClock()
        self.refresh_after = refresh_after
        self.retry_unreadable_after = retry_unreadable_after

    def resolve(self, tenant_id: str, ad_id: str) -> AdRef:
        now = self.clock.now()
        cached = self.cache.get(tenant_id, ad_id)
        if cached is not None:
            age = now - cached.fetched_at
            if age < (self.refresh_after if cached.readable else self.retry_unreadable_after):
                return cached.ad
        client = self.lookup(tenant_id)
        if client is None:  # the tenant connected no ad account: keep the raw ad id
            return cached.ad if cached else AdRef(ad_id=ad_id)
        try:
            info = client.get_ad(ad_id)
        except (AuthenticationError, PermissionDenied, NotFound, InvalidRequest) as exc:
            ad = cached.ad if cached and cached.readable else AdRef(ad_id=ad_id)
            self.cache.put(tenant_id, AdCacheEntry(tenant_id=tenant_id, ad_id=ad_id, ad=ad, readable=False,
                                                   error_code=getattr(exc, "code", None), fetched_at=now))
            return ad
        ad = AdRef(campaign_id=info.campaign_id, campaign_name=info.campaign_name, adset_id=info.adset_id,
                   adset_name=info.adset_name, ad_id=info.ad_id, ad_name=info.ad_name)
        self.cache.put(tenant_id, AdCacheEntry(tenant_id=tenant_id, ad_id=ad_id, ad=ad, readable=True,
                                               fetched_at=now))
        return ad
