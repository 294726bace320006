"""Sync and async clients have the same methods and give the same answers and errors."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from cargo_world import ARAS_LIFECYCLE, START, YURTICI_LIFECYCLE

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import NotFound, PayloadError
from invekto_integrations.providers.aras import ArasClient, AsyncArasClient
from invekto_integrations.providers.yurtici import AsyncYurticiClient, YurticiClient
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake


@pytest.mark.parametrize(("sync_cls", "async_cls"), [(ArasClient, AsyncArasClient),
                                                     (YurticiClient, AsyncYurticiClient)])
def test_same_public_methods(sync_cls: type, async_cls: type) -> None:
    for name in ("track", "track_by_reference"):
        assert inspect.signature(getattr(sync_cls, name)) == inspect.signature(getattr(async_cls, name))
        assert inspect.iscoroutinefunction(getattr(async_cls, name))


async def test_aras_parity(aras: ArasClient, aaras: AsyncArasClient, aras_fake: ArasFake,
                           clock: FrozenClock) -> None:
    aras_fake.register_parcel("fake_user", "3500000000017", ARAS_LIFECYCLE, reference="INV2024001")
    for hours in (0, 2, 7, 15, 22, 26):
        clock.set(START + timedelta(hours=hours))
        assert aras.track("3500000000017") == await aaras.track("3500000000017")
        assert aras.track_by_reference("INV2024001") == await aaras.track_by_reference("INV2024001")


async def test_yurtici_parity(yurtici: YurticiClient, ayurtici: AsyncYurticiClient, yurtici_fake: YurticiFake,
                              clock: FrozenClock) -> None:
    yurtici_fake.register_parcel("YKTEST", "ORD1", YURTICI_LIFECYCLE, invoice_key="INV-1")
    for hours in (0, 2, 7, 22, 26):
        clock.set(START + timedelta(hours=hours))
        assert yurtici.track("ORD1") == await ayurtici.track("ORD1")
        assert yurtici.track_by_reference("INV-1") == await ayurtici.track_by_reference("INV-1")


async def test_error_parity(yurtici: YurticiClient, ayurtici: AsyncYurticiClient, aras: ArasClient,
                            aaras: AsyncArasClient, aras_fake: ArasFake) -> None:
    with pytest.raises(NotFound) as sync_err:
        yurtici.track("NOPE")
    with pytest.raises(NotFound) as async_err:
        await ayurtici.track("NOPE")
    assert repr(sync_err.value) == repr(async_err.value)
    for _ in range(2):
        aras_fake.serve_raw(b"<a></b>")  # wrong, not cut (a cut body is read again)
    with pytest.raises(PayloadError) as a:
        aras.track("1")
    with pytest.raises(PayloadError) as b:
        await aaras.track("1")
    assert str(a.value) == str(b.value)
