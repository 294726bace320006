"""The engine runtime: engines declare the events they consume, a handler and their timers; one
`Runtime` (or `AsyncRuntime`) owns the cursors, leases and durable timers of every tenant.

See docs/runtime.md.
"""

from ._engine import BaseEngine, Engine, EngineContext, Timer
from ._runtime import AsyncRuntime, Runtime, RuntimeStore
from ._schedule import Schedule
from ._status import EngineStatus, PairReport, RunReport

__all__ = [
    "AsyncRuntime",
    "BaseEngine",
    "Engine",
    "EngineContext",
    "EngineStatus",
    "PairReport",
    "RunReport",
    "Runtime",
    "RuntimeStore",
    "Schedule",
    "Timer",
]
