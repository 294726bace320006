"""What a message belongs to: the campaign and variant a send is counted under.

A `Correlation` travels with an `OutboundMessage` into the outbox (queryable columns), onto
every message event, and to the provider as an opaque string the provider echoes back on its
status webhooks (WhatsApp ``biz_opaque_callback_data``), so a status that reaches a process
without the outbox row still names its campaign and variant.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Correlation"]

# Marks callback data written by us; anything else echoed back is kept as foreign ``raw`` text.
_PREFIX = "inv1:"


class Correlation(BaseModel):
    """Campaign id and variant of a message (both optional: a cargo notice has neither)."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str | None = Field(default=None, max_length=200)
    variant: str | None = Field(default=None, max_length=100)

    @property
    def is_empty(self) -> bool:
        return self.campaign_id is None and self.variant is None

    def to_callback_data(self) -> str | None:
        """The compact string sent as the provider's echo field (``None`` when empty)."""
        if self.is_empty:
            return None
        data: dict[str, str] = {}
        if self.campaign_id is not None:
            data["c"] = self.campaign_id
        if self.variant is not None:
            data["v"] = self.variant
        return _PREFIX + json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_callback_data(cls, text: str | None) -> Correlation | None:
        """Read back what `to_callback_data` wrote; ``None`` for anything else (another sender's
        callback data is not ours to interpret)."""
        if not text or not text.startswith(_PREFIX):
            return None
        try:
            data: Any = json.loads(text[len(_PREFIX):])
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        campaign, variant = data.get("c"), data.get("v")
        if not isinstance(campaign, str | None) or not isinstance(variant, str | None):
            return None
        return cls(campaign_id=campaign, variant=variant)
