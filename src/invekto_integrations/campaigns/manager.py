"""Campaign management: create, edit while draft, schedule, pause, resume, cancel, complete.

Transitions (anything else is `CampaignStateError`)::

    draft ──schedule──▶ scheduled ──(first occurrence)──▶ running ──complete──▶ completed
      │                    │  ▲                              │  ▲
      │                    pause│resume                     pause│resume
      │                    ▼  │                              ▼  │
      │                  paused ◀────────────────────────── paused
      └──────────────── cancel (from any state but completed/cancelled) ──▶ cancelled

Only a draft can be edited: a scheduled or running campaign's audience, variants and trigger are
frozen (a paused one too), so nobody's audience changes silently under a running test; copy it
(`duplicate`) to change it. Every write is a compare-and-set on ``version``, so two editors never
overwrite each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidArgument, StorageError
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.messaging.base import MessageCategory

from .audience import AudienceContext, ContactProfile, Criterion, Everyone, parse_criteria
from .models import ABSettings, Campaign, CampaignStatus, OneShotTrigger, RecurringTrigger, Trigger, Variant
from .repository import CampaignRepository, ContactProfileRepository
from .schedule import validate_trigger

__all__ = ["AudiencePreview", "CampaignManager", "CampaignStateError"]

_EDITABLE = frozenset({"name", "trigger", "audience", "variants", "ab", "category", "conversion_window"})
_ALLOWED: dict[str, tuple[CampaignStatus, ...]] = {
    "schedule": (CampaignStatus.DRAFT,),
    "pause": (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING),
    "resume": (CampaignStatus.PAUSED,),
    "cancel": (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED),
    "complete": (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED),
}


class CampaignStateError(InvalidArgument):
    """An operation the campaign's status does not allow (names the campaign and the status)."""


class AudiencePreview(BaseModel):
    """A dry run: how many customers the criteria select now, and the first few of them."""

    model_config = ConfigDict(frozen=True)

    count: int
    sample: list[ContactProfile]


class CampaignManager(ConciseRepr, fields=("clock",)):
    def __init__(self, campaigns: CampaignRepository, profiles: ContactProfileRepository | None = None, *,
                 clock: Clock | None = None, timezone: str = "Europe/Istanbul") -> None:
        self.campaigns = campaigns
        self.profiles = profiles
        self.clock = clock or SystemClock()
        self.timezone = timezone

    # -- create and edit ----------------------------------------------------------------------------
    def create(self, tenant_id: str, name: str, *, trigger: Trigger, variants: Sequence[Variant],
               audience: Criterion | dict[str, Any] | str | None = None, ab: ABSettings | None = None,
               category: MessageCategory = MessageCategory.MARKETING,
               conversion_window: timedelta = timedelta(days=7)) -> Campaign:
        """A new draft. Bad input is `InvalidArgument` naming the field."""
        if not tenant_id:
            raise InvalidArgument("tenant_id is required", field="tenant_id")
        now = self.clock.now()
        cid = new_id()
        tree = parse_criteria(audience, record=cid) if audience is not None else Everyone()
        campaign = self._build(dict(id=cid, tenant_id=tenant_id, name=name, trigger=trigger, audience=tree,
                                    variants=list(variants), ab=ab or ABSettings(), category=category,
                                    conversion_window=conversion_window, created_at=now, updated_at=now))
        validate_trigger(campaign.trigger, self.timezone)
        self.campaigns.add(tenant_id, campaign)
        return campaign

    @staticmethod
    def _build(data: dict[str, Any]) -> Campaign:
        try:
            return Campaign.model_validate(data)
        except ValueError as exc:
            errors = getattr(exc, "errors", None)
            loc = errors()[0].get("loc", ()) if callable(errors) and errors() else ()
            raise InvalidArgument(f"campaign: {exc}", field=".".join(str(p) for p in loc) or None,
                                  record=str(data.get("id"))) from exc

    def get(self, tenant_id: str, campaign_id: str) -> Campaign:
        campaign = self.campaigns.get(tenant_id, campaign_id)
        if campaign is None:
            raise InvalidArgument(f"no campaign {campaign_id!r}", field="campaign_id", record=campaign_id)
        return campaign

    def edit(self, tenant_id: str, campaign_id: str, **changes: Any) -> Campaign:
        """Change a draft (name, trigger, audience, variants, ab, category, conversion_window)."""
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise InvalidArgument(f"not editable: {', '.join(sorted(unknown))}", field=sorted(unknown)[0],
                                  record=campaign_id)
        campaign = self.get(tenant_id, campaign_id)
        if campaign.status != CampaignStatus.DRAFT:
            raise CampaignStateError(
                f"campaign is {campaign.status.value}: only a draft can be edited (its audience and variants "
                "are frozen once scheduled)", field="status", record=campaign_id)
        if "audience" in changes:
            changes["audience"] = parse_criteria(changes["audience"], record=campaign_id)
        data = campaign.model_dump()
        data.update(changes)
        updated = self._build(data | {"version": campaign.version + 1, "updated_at": self.clock.now()})
        validate_trigger(updated.trigger, self.timezone)
        return self._store(campaign, updated)

    def duplicate(self, tenant_id: str, campaign_id: str, *, name: str | None = None) -> Campaign:
        """A new draft with the same settings (the way to change a running campaign)."""
        c = self.get(tenant_id, campaign_id)
        return self.create(tenant_id, name or f"{c.name} (kopya)", trigger=c.trigger, variants=c.variants,
                           audience=c.audience, ab=c.ab, category=c.category, conversion_window=c.conversion_window)

    # -- transitions ----------------------------------------------------------------------------------
    def schedule(self, tenant_id: str, campaign_id: str) -> Campaign:
        campaign = self.get(tenant_id, campaign_id)
        self._allowed("schedule", campaign)
        if isinstance(campaign.trigger, OneShotTrigger) and campaign.trigger.at < self.clock.now() - timedelta(hours=1):
            raise InvalidArgument("one_shot.at is in the past", field="trigger.at", record=campaign_id)
        if isinstance(campaign.trigger, RecurringTrigger) and campaign.trigger.until is not None and \
                campaign.trigger.until < self.clock.now():
            raise InvalidArgument("recurring.until is in the past", field="trigger.until", record=campaign_id)
        return self._transition(campaign, CampaignStatus.SCHEDULED)

    def pause(self, tenant_id: str, campaign_id: str) -> Campaign:
        campaign = self.get(tenant_id, campaign_id)
        self._allowed("pause", campaign)
        return self._transition(campaign, CampaignStatus.PAUSED,
                                stats={**campaign.stats, "paused_from": campaign.status.value})

    def resume(self, tenant_id: str, campaign_id: str) -> Campaign:
        campaign = self.get(tenant_id, campaign_id)
        self._allowed("resume", campaign)
        back = CampaignStatus(campaign.stats.get("paused_from", CampaignStatus.SCHEDULED.value))
        stats = {k: v for k, v in campaign.stats.items() if k != "paused_from"}
        # A one-shot timer that fired while paused found nothing to do: the engine arms a new one
        # (its key counts the resumes); one that had not fired yet fires too, harmlessly (the
        # occurrence enters each customer once).
        stats["resumes"] = int(stats.get("resumes", 0)) + 1
        return self._transition(campaign, back, stats=stats)

    def cancel(self, tenant_id: str, campaign_id: str) -> Campaign:
        campaign = self.get(tenant_id, campaign_id)
        self._allowed("cancel", campaign)
        return self._transition(campaign, CampaignStatus.CANCELLED)

    def complete(self, tenant_id: str, campaign_id: str) -> Campaign:
        campaign = self.get(tenant_id, campaign_id)
        self._allowed("complete", campaign)
        return self._transition(campaign, CampaignStatus.COMPLETED)

    def mark_running(self, tenant_id: str, campaign_id: str) -> Campaign:
        """scheduled → running (the engine calls it at the first occurrence); a no-op otherwise."""
        campaign = self.get(tenant_id, campaign_id)
        if campaign.status != CampaignStatus.SCHEDULED:
            return campaign
        return self._transition(campaign, CampaignStatus.RUNNING)

    def update_stats(self, tenant_id: str, campaign_id: str, **stats: Any) -> Campaign:
        """Merge figures into ``stats_json`` (retrying the compare-and-set on a concurrent write)."""
        for _ in range(5):
            campaign = self.get(tenant_id, campaign_id)
            updated = campaign.model_copy(update={"stats": {**campaign.stats, **stats},
                                                  "version": campaign.version + 1, "updated_at": self.clock.now()})
            if self.campaigns.replace(tenant_id, updated, expected_version=campaign.version):
                return updated
        raise StorageError(f"campaign {campaign_id} keeps changing; stats not saved")

    def _allowed(self, op: str, campaign: Campaign) -> None:
        if campaign.status not in _ALLOWED[op]:
            raise CampaignStateError(f"cannot {op} a {campaign.status.value} campaign", field="status",
                                     record=campaign.id)

    def _transition(self, campaign: Campaign, status: CampaignStatus, *, stats: dict[str, Any] | None = None,
                    **extra: Any) -> Campaign:
        update: dict[str, Any] = {"status": status, "version": campaign.version + 1, "updated_at": self.clock.now(),
                                  **extra}
        if stats is not None:
            update["stats"] = stats
        return self._store(campaign, campaign.model_copy(update=update))

    def _store(self, before: Campaign, after: Campaign) -> Campaign:
        if not self.campaigns.replace(after.tenant_id, after, expected_version=before.version):
            raise CampaignStateError("the campaign was changed by someone else; reload and try again",
                                     field="version", record=before.id)
        return after

    # -- audience dry run -----------------------------------------------------------------------------
    def preview(self, tenant_id: str, audience: Criterion | dict[str, Any] | str, *, sample: int = 20,
                niche: str | None = None, brand_code: str | None = None) -> AudiencePreview:
        """Count the audience now and show its first ``sample`` profiles (by phone)."""
        if self.profiles is None:
            raise InvalidArgument("no profile repository configured", field="profiles")
        tree = parse_criteria(audience)
        ctx = AudienceContext(now=self.clock.now(), niche=niche, brand_code=brand_code)
        phones = self.profiles.select(tenant_id, tree, ctx, limit=sample)
        profiles = [p for p in (self.profiles.get(tenant_id, ph) for ph in phones) if p is not None]
        return AudiencePreview(count=self.profiles.count(tenant_id, tree, ctx), sample=profiles)
