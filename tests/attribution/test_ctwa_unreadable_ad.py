"""An ad the token may not read (Graph permission error, `PermissionDenied`, which is no longer an
`AuthenticationError` since issue 13) is kept by its id, not raised out of the resolver."""

from __future__ import annotations

from typing import Any

from invekto_integrations.attribution import AdResolver
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.providers.meta import MetaClient
from invekto_integrations.testing.sandbox.fakes.meta import MetaFake

UNREADABLE = "120210000000000001"


def test_a_permission_error_keeps_the_ad_by_id(store: Any, meta: MetaClient, meta_fake: MetaFake,
                                               clock: FrozenClock) -> None:
    meta_fake.unreadable_ads.add(UNREADABLE)
    resolver = AdResolver(store.ad_cache, lambda tenant: meta, clock=clock)
    ad = resolver.resolve("t1", UNREADABLE)
    assert ad.ad_id == UNREADABLE and ad.campaign_id is None
    cached = store.ad_cache.get("t1", UNREADABLE)
    assert cached is not None and not cached.readable
