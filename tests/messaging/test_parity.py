"""The async connectors have exactly the sync connectors' methods, with the same parameters.

Both clients of a provider run the same `*Endpoints` request builders; this test fails as soon
as a method is added to one flavour only or its parameters drift.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from invekto_integrations.providers.iys import AsyncIysClient, IysClient, IysEndpoints
from invekto_integrations.providers.whatsapp_cloud import (
    AsyncWhatsAppCloudClient,
    WhatsAppCloudClient,
    WhatsAppCloudEndpoints,
)

# sync name -> async name where the Python protocol differs
_RENAMED = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}
_DUNDERS = {"__init__", "__enter__", "__exit__", "__aenter__", "__aexit__"}


def _public(cls: type) -> dict[str, Any]:
    return {name: member for name, member in vars(cls).items()
            if callable(member) and (not name.startswith("_") or name in _DUNDERS)}


def _params(fn: Any) -> list[tuple[str, Any, Any]]:
    sig = inspect.signature(fn)
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


PAIRS = [(WhatsAppCloudClient, AsyncWhatsAppCloudClient), (IysClient, AsyncIysClient)]


@pytest.mark.parametrize(("sync_cls", "async_cls"), PAIRS, ids=["whatsapp_cloud", "iys"])
def test_same_methods_and_parameters(sync_cls: type, async_cls: type) -> None:
    sync_methods = _public(sync_cls)
    async_methods = _public(async_cls)
    assert {_RENAMED.get(n, n) for n in sync_methods} == set(async_methods)
    for name, fn in sync_methods.items():
        twin = async_methods[_RENAMED.get(name, name)]
        if name == "__init__":
            # transports differ in type only
            assert [p[0] for p in _params(fn)] == [p[0] for p in _params(twin)]
            continue
        assert _params(fn) == _params(twin), name
        if name.startswith("iter_"):
            assert not inspect.iscoroutinefunction(twin)  # an async iterator, used with `async for`
        else:
            assert inspect.iscoroutinefunction(twin), f"{async_cls.__name__}.{name} is not async"


@pytest.mark.parametrize(("sync_cls", "async_cls", "endpoints"), [
    (WhatsAppCloudClient, AsyncWhatsAppCloudClient, WhatsAppCloudEndpoints),
    (IysClient, AsyncIysClient, IysEndpoints),
], ids=["whatsapp_cloud", "iys"])
def test_one_request_builder_for_both(sync_cls: type, async_cls: type, endpoints: type) -> None:
    """Neither client builds requests itself: every wire operation is described once, in `endpoints`."""
    for cls in (sync_cls, async_cls):
        source = inspect.getsource(cls)
        assert "httpx.Request(" not in source and "json={" not in source
    ops = {n for n in vars(endpoints) if not n.startswith("_")}
    shared = ops & set(_public(sync_cls))
    assert shared, "the clients should expose the endpoint operations"
    assert shared <= set(_public(async_cls))
