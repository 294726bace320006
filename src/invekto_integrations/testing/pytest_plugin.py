"""pytest plugin (entry point ``pytest11: invekto_sandbox``): sandbox fixtures, the way moto is used.

Installed with the package, so any test suite in the environment gets:

``sandbox``
    A fresh in-process `Sandbox` of every registered provider's fake (or of ``sandbox_fakes``),
    on a `FrozenClock` (``sandbox_clock``) and seed (``sandbox_seed``). Function scope: every test
    starts from clean state. Point clients at ``sandbox.inprocess_url(name)`` with
    ``transport=sandbox.transport()`` (or ``sandbox.async_transport()``).
``live_sandbox``
    The same, started on a loopback port by uvicorn; module scope (one server per test module,
    call ``live_sandbox.reset()`` where a test needs clean state). Use ``live_sandbox.url(name)``.

Override ``sandbox_fakes`` / ``live_sandbox_fakes`` in a conftest to choose the fakes (for
instance a plugin's own fake that is not installed as an entry point). This module imports
nothing from the sandbox until a fixture is used, so loading the plugin costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from invekto_integrations.core.clock import FrozenClock
    from invekto_integrations.testing.sandbox import FakeProvider, Sandbox

__all__ = [
    "live_sandbox",
    "live_sandbox_fakes",
    "sandbox",
    "sandbox_clock",
    "sandbox_fakes",
    "sandbox_seed",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "loopback: starts real HTTP servers on 127.0.0.1")


@pytest.fixture
def sandbox_seed() -> int:
    """The seed of the fakes' generated data (override to vary it)."""
    return 0


@pytest.fixture
def sandbox_clock() -> FrozenClock:
    """The clock the ``sandbox`` fakes run on; advance it to move lifecycles along."""
    from invekto_integrations.core.clock import FrozenClock

    return FrozenClock()


@pytest.fixture
def sandbox_fakes(sandbox_clock: FrozenClock, sandbox_seed: int) -> Sequence[FakeProvider] | None:
    """The fakes of ``sandbox``; ``None`` means every registered provider's fake."""
    return None


@pytest.fixture
def sandbox(sandbox_fakes: Sequence[FakeProvider] | None, sandbox_clock: FrozenClock,
            sandbox_seed: int) -> Iterator[Sandbox]:
    """An in-process sandbox, fresh for every test."""
    from invekto_integrations.testing.sandbox import Sandbox

    sb = Sandbox(sandbox_fakes, clock=sandbox_clock, seed=sandbox_seed)
    yield sb
    sb.reset()


@pytest.fixture(scope="module")
def live_sandbox_fakes() -> Sequence[FakeProvider] | None:
    """The fakes of ``live_sandbox``; ``None`` means every registered provider's fake."""
    return None


@pytest.fixture(scope="module")
def live_sandbox(live_sandbox_fakes: Sequence[FakeProvider] | None) -> Iterator[Sandbox]:
    """A sandbox served on 127.0.0.1 (a free port) for the whole test module."""
    from invekto_integrations.testing.sandbox import Sandbox

    with Sandbox(live_sandbox_fakes) as sb:
        yield sb
