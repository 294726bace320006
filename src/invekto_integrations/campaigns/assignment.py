"""Deterministic variant assignment: a hash of (campaign, recipient), never a random draw.

The same customer lands in the same arm on every run, on every machine, so a re-run, a second
runtime or a recurring occurrence never reshuffles anyone. The hash gives a number ``u`` in
[0, 1): ``u < holdout`` is the holdout; the rest of the line is cut in proportion to the weights.
A second, independent hash decides whether the customer takes part in the test at all
(``test_fraction``), so the test group is not biased toward one arm.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal

from .models import HOLDOUT, Variant

__all__ = ["assign", "in_test", "unit_hash"]

_SPAN = Decimal(2**64)


def unit_hash(*parts: str) -> Decimal:
    """A uniform number in [0, 1) from ``parts`` (SHA-256, first 64 bits), exact as a Decimal."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / _SPAN


def assign(campaign_id: str, phone: str, variants: Sequence[Variant], *, holdout: Decimal = Decimal(0)) -> str:
    """The variant name (or ``"holdout"``) for ``phone`` in ``campaign_id``."""
    u = unit_hash("assign", campaign_id, phone)
    if u < holdout:
        return HOLDOUT
    total = sum((v.weight for v in variants), Decimal(0))
    # Rescale the part above the holdout to [0, total).
    point = (u - holdout) / (1 - holdout) * total
    edge = Decimal(0)
    for v in variants:
        edge += v.weight
        if point < edge:
            return v.name
    return variants[-1].name


def in_test(campaign_id: str, phone: str, fraction: Decimal | None) -> bool:
    """Whether ``phone`` takes part in the A/B phase (``fraction`` None: everyone)."""
    return fraction is None or unit_hash("test", campaign_id, phone) < fraction
