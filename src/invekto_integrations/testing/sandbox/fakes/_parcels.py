"""Scripted parcel lifecycles for carrier fakes, driven by the sandbox clock.

``register_parcel(account, tracking_number, lifecycle=[(timedelta(hours=2), "1"), ...])`` starts
the script at the clock's current time; each step is ``(offset, code)`` or ``(offset, code,
extra)`` where ``extra`` holds carrier fields for that step (Aras ``TIP_KODU``, Yurtiçi
``cargoEventId``/``returnStatus``...). Before the first step the parcel is announced but not
scanned; advancing a `FrozenClock` moves it along.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from invekto_integrations.testing.sandbox._fake import FakeProvider

__all__ = ["CarrierFake", "LifecycleStep", "ScriptedParcel", "Step"]

Step = tuple[timedelta, str] | tuple[timedelta, str, Mapping[str, str]]


@dataclass(frozen=True)
class LifecycleStep:
    at: datetime
    code: str
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ScriptedParcel:
    account: str
    tracking_number: str
    registered_at: datetime
    steps: list[LifecycleStep]
    reference: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, account: str, tracking_number: str, lifecycle: Sequence[Step], start: datetime,
              reference: str | None, details: dict[str, Any]) -> ScriptedParcel:
        steps = []
        for step in lifecycle:
            offset, code = step[0], step[1]
            extra: Mapping[str, str] = step[2] if len(step) > 2 else {}
            steps.append(LifecycleStep(at=start + offset, code=code, extra=dict(extra)))
        steps.sort(key=lambda s: s.at)
        return cls(account, tracking_number, start, steps, reference, details)

    def reached(self, now: datetime) -> list[LifecycleStep]:
        """Steps whose time has come, oldest first."""
        return [s for s in self.steps if s.at <= now]

    def current(self, now: datetime) -> LifecycleStep | None:
        done = self.reached(now)
        return done[-1] if done else None


class CarrierFake(FakeProvider):
    """Base of the SOAP carrier fakes: adds raw canned answers for hostile-input tests."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._canned: deque[tuple[int, bytes]] = deque()

    def serve_raw(self, body: bytes, status: int = 200) -> None:
        """Answer the next request with exactly these bytes (a malformed body, an entity bomb ...)."""
        with self._lock:
            self._canned.append((status, body))

    def take_canned(self) -> Response | None:
        with self._lock:
            if not self._canned:
                return None
            status, body = self._canned.popleft()
        return Response(body, status_code=status, media_type="text/xml; charset=utf-8")

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._canned.clear()
