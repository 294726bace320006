"""What a round did (`RunReport`) and how every engine stands per tenant (`EngineStatus`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["EngineStatus", "PairReport", "RunReport"]


@dataclass
class PairReport:
    """One engine for one tenant in one round."""

    engine: str
    tenant_id: str
    handled: int = 0  # events handled (the cursor moved past them)
    fired: int = 0  # timer occurrences fired
    skipped_events: int = 0  # poison events given up on after ``max_attempts``
    busy: bool = False  # another runtime held the lease: nothing done
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class RunReport:
    """One `run_once`."""

    started_at: datetime
    finished_at: datetime | None = None
    pairs: list[PairReport] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return sum(p.handled for p in self.pairs)

    @property
    def fired(self) -> int:
        return sum(p.fired for p in self.pairs)

    @property
    def errors(self) -> list[str]:
        return [f"{p.engine}/{p.tenant_id}: {e}" for p in self.pairs for e in p.errors]

    @property
    def did_work(self) -> bool:
        return any(p.handled or p.fired or p.skipped_events for p in self.pairs)

    def for_pair(self, engine: str, tenant_id: str) -> PairReport:
        for p in self.pairs:
            if p.engine == engine and p.tenant_id == tenant_id:
                return p
        raise KeyError((engine, tenant_id))


@dataclass(frozen=True)
class EngineStatus:
    """The health of one engine for one tenant, read from the store (any process can show it)."""

    engine: str
    tenant_id: str
    cursor: int | None  # last handled event's position (None: the engine consumes nothing)
    lag: int  # events of its types waiting after the cursor (capped at the runtime's ``lag_cap``)
    lag_capped: bool
    last_run_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failing_seq: int | None  # the event it keeps failing on, if any
    failures: int
    next_timer_at: datetime | None
    pending_timers: int
    lease_owner: str | None
    lease_expires_at: datetime | None
