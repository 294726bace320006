"""The engine runtime: engines declare the events they consume, a handler and their timers; one
`Runtime` (or `AsyncRuntime`) owns the cursors, leases and durable timers of every tenant.

See docs/runtime.md.
"""

from ._engine import (
    DEFAULT_TIMEZONE,
    BaseEngine,
    DefaultTenantSettings,
    Engine,
    EngineContext,
    TenantSettingsView,
    Timer,
)
from ._runtime import AsyncRuntime, Runtime, RuntimeStore
from ._schedule import Schedule
from ._status import EngineStatus, PairReport, RunReport

__all__ = [
    "DEFAULT_TIMEZONE",
    "AsyncRuntime",
    "BaseEngine",
    "DefaultTenantSettings",
    "Engine",
    "EngineContext",
    "EngineStatus",
    "PairReport",
    "RunReport",
    "Runtime",
    "RuntimeStore",
    "Schedule",
    "TenantSettingsView",
    "Timer",
]
