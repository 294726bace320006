"""Lead source (3.14.2): every inbound message is classified into a touch, and a person's first
contact within a tenant (or the first after the re-engagement window) becomes a lead with that
touch as its source. Later touches of the same person are kept (the attribution models use them).

Touches, in order of precedence:
- a Click-to-WhatsApp referral → ``ctwa`` (ad resolved to ad set and campaign when possible);
- a tracked-link reference code in the text → ``link`` (with the link's UTM and campaign);
- a keyword of a configured channel in a lead's first message → ``other`` (e.g. "instagram");
- otherwise, for a new lead only, ``organic``. A plain follow-up message is no touch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.attribution import AdRef, Channel, Lead, Touch, contact_key

from ._store import AttributionStore
from .ctwa import AdResolver, ReferralInfo
from .links import find_link_in_text
from .rules import fold, tag_lead

__all__ = ["InboundTouch", "LeadOutcome", "LeadSettings", "LeadTracker", "OtherChannel"]


@dataclass(frozen=True)
class OtherChannel:
    """A tenant-configured source recognised by keywords in the first message (e.g. a flyer)."""

    name: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class LeadSettings:
    #: A person silent for longer than this becomes a new lead when they write again.
    reengagement_window: timedelta = timedelta(days=90)
    other_channels: tuple[OtherChannel, ...] = ()


@dataclass(frozen=True)
class InboundTouch:
    """What the tracker needs of an inbound message (from the event, whatever its version)."""

    tenant_id: str
    from_id: str
    at: datetime
    message_id: str | None = None
    text: str | None = None
    referral: ReferralInfo | None = None


@dataclass
class LeadOutcome:
    lead: Lead
    new_lead: bool
    touch: Touch | None = None
    notes: list[str] = field(default_factory=list)


class LeadTracker(ConciseRepr, fields=("clock",)):
    """Turns inbound messages into touches and leads (idempotent by message id)."""

    def __init__(self, store: AttributionStore, *, resolver: AdResolver | None = None,
                 settings: LeadSettings | None = None) -> None:
        self.store = store
        self.resolver = resolver
        self.settings = settings or LeadSettings()

    def _touch(self, msg: InboundTouch, contact: str, new_lead: bool) -> Touch | None:
        tenant, at, mid = msg.tenant_id, msg.at, msg.message_id
        ref = msg.referral
        if ref is not None:
            ad = AdRef(ad_id=ref.source_id) if ref.is_ad else AdRef()
            if ref.is_ad and self.resolver is not None and ref.source_id:
                ad = self.resolver.resolve(tenant, ref.source_id)
            return Touch(tenant_id=tenant, contact=contact, at=at, message_id=mid, channel=Channel.CTWA, ad=ad,
                         ctwa_clid=ref.ctwa_clid, source_type=ref.source_type, source_id=ref.source_id,
                         source_url=ref.source_url, headline=ref.headline, referral=ref.raw)
        link = find_link_in_text(self.store.tracked_links, tenant, msg.text)
        if link is not None:
            return Touch(tenant_id=tenant, contact=contact, at=at, message_id=mid, channel=Channel.LINK, ad=link.ad,
                         utm=link.utm, link_code=link.code, channel_name=link.channel_name)
        if not new_lead:
            return None
        text = fold(msg.text or "")
        for other in self.settings.other_channels:
            if any(fold(k) in text for k in other.keywords if k.strip()):
                return Touch(tenant_id=tenant, contact=contact, at=at, message_id=mid, channel=Channel.OTHER,
                             channel_name=other.name)
        return Touch(tenant_id=tenant, contact=contact, at=at, message_id=mid, channel=Channel.ORGANIC)

    def _stored_touch(self, msg: InboundTouch, contact: str) -> Touch | None:
        return next((t for t in self.store.touches.find(msg.tenant_id, contact, since=msg.at,
                                                        until=msg.at + timedelta(microseconds=1))
                     if t.message_id == msg.message_id), None)

    def observe(self, msg: InboundTouch) -> LeadOutcome:
        """Record the message's touch and the person's lead; returns the (new or current) lead."""
        contact = contact_key(msg.from_id)
        tenant = msg.tenant_id
        current = self.store.leads.latest(tenant, contact)
        expired = current is not None and msg.at - current.last_touch_at > self.settings.reengagement_window
        new_lead = current is None or expired
        touch = self._touch(msg, contact, new_lead)
        if touch is not None and not self.store.touches.add(tenant, touch):
            # Seen before. If its lead was not written then (a crash in between), write it now from
            # the stored touch; otherwise there is nothing left to do.
            stored = self._stored_touch(msg, contact)
            if current is not None and (not new_lead or stored is None
                                        or current.first_touch_id == stored.touch_id or current.created_at >= msg.at):
                return LeadOutcome(current, new_lead=False, notes=["message already seen"])
            if stored is None:
                raise LookupError(f"the touch of message {msg.message_id} is gone")
            touch = stored
        if not new_lead:
            assert current is not None
            if msg.at > current.last_touch_at:
                current = current.model_copy(update={"last_touch_at": msg.at})
                self.store.leads.save(tenant, current)
            return LeadOutcome(current, new_lead=False, touch=touch)
        assert touch is not None
        lead = Lead(tenant_id=tenant, contact=contact, created_at=msg.at, last_touch_at=msg.at,
                    first_touch_id=touch.touch_id, channel=touch.channel, ad=touch.ad, utm=touch.utm,
                    link_code=touch.link_code, channel_name=touch.channel_name, ctwa_clid=touch.ctwa_clid,
                    source_type=touch.source_type, source_id=touch.source_id, headline=touch.headline)
        lead = tag_lead(self.store, tenant, lead)
        self.store.leads.add(tenant, lead)
        return LeadOutcome(lead, new_lead=True, touch=touch, notes=["re-engaged after the window"] if expired else [])

    def observe_many(self, messages: Sequence[InboundTouch]) -> list[LeadOutcome]:
        return [self.observe(m) for m in messages]
