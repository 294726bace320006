"""Tags and segments for audiences, from the attribution area's leads (auto-tagging rules).

Attribution labels each lead (``labels``, ``segments``); `import_lead_labels` copies them onto the
audience profiles, so ``Tag``/``Segment`` criteria select them with the same indexed query as the
rest. Structural protocols: no import of ``attribution``. Idempotent (a label is a set member), so
the maintenance timer can re-import an overlapping window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from invekto_integrations.core.phone import try_normalize_phone

from .repository import ContactProfileRepository

__all__ = ["LeadLabels", "LeadSource", "import_lead_labels"]


class LeadLabels(Protocol):
    @property
    def contact(self) -> str: ...
    @property
    def labels(self) -> Sequence[str]: ...
    @property
    def segments(self) -> Sequence[str]: ...


class LeadSource(Protocol):
    """``store.leads`` of the attribution area."""

    def find(self, tenant_id: str, *, since: datetime | None = None,
             until: datetime | None = None) -> Sequence[LeadLabels]: ...


def import_lead_labels(profiles: ContactProfileRepository, leads: LeadSource, tenant_id: str, *,
                       since: datetime | None, at: datetime) -> int:
    """Copy the labels and segments of leads created since ``since`` onto their profiles; returns
    how many leads had any. Contacts that are not phone numbers (``wa:<id>``) are skipped."""
    n = 0
    for lead in leads.find(tenant_id, since=since):
        phone = try_normalize_phone(lead.contact)
        if phone is None or not (lead.labels or lead.segments):
            continue
        if lead.labels:
            profiles.add_labels(tenant_id, phone, "tag", list(lead.labels), at=at)
        if lead.segments:
            profiles.add_labels(tenant_id, phone, "segment", list(lead.segments), at=at)
        n += 1
    return n
