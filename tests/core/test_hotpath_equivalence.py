"""The write path's shortcuts give the same results as the straightforward code they replaced."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from ulid import ULID

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry, TokenBucket
from invekto_integrations.models.orders import CargoInfo, Customer, Order, OrderLine, OrderStatus
from invekto_integrations.storage._sqlite_db import from_ts, to_ts
from invekto_integrations.sync.orders import _without_updated_at

text = st.text(alphabet=string.printable + 'çğıöşüÇĞİÖŞÜ"\\{}:,', max_size=30)
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5))]))


@settings(max_examples=150, deadline=None)
@given(name=text, raw_status=text, number=text, company=st.none() | text, ordered=moments, updated=moments,
       price=st.decimals(min_value=0, max_value=10**6, places=2))
def test_hash_input_equals_a_second_dump_without_updated_at(name: str, raw_status: str, number: str,
                                                            company: str | None, ordered: datetime,
                                                            updated: datetime, price: Decimal) -> None:
    order = Order(provider="trendyol", external_id=f'x"{number}', order_number=number, status=OrderStatus.SHIPPED,
                  raw_status=raw_status, ordered_at=ordered, updated_at=updated,
                  customer=Customer(name=name), cargo=CargoInfo(company=company),
                  lines=[OrderLine(name=name or "x", quantity=1, unit_price=price)], total=price, raw={"a": name})
    full = order.model_dump_json(exclude={"raw"})
    assert _without_updated_at(full) == order.model_dump_json(exclude={"raw", "updated_at"})


def test_ids_are_ulids_unique_and_sorted() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # monotonic within a millisecond too
    for value in ids[::1000]:
        assert str(ULID.from_str(value)) == value
        assert abs(ULID.from_str(value).datetime - datetime.now(UTC)) < timedelta(minutes=5)


@given(moments)
def test_timestamps_round_trip_and_keep_the_text_format(moment: datetime) -> None:
    text_ = to_ts(moment)
    assert text_ == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert from_ts(text_) == moment


def test_phone_cache_returns_the_same_and_still_rejects() -> None:
    first = normalize_phone("0532 123 45 67")
    assert normalize_phone("0532 123 45 67") == first == "+905321234567"
    for _ in range(2):  # an error is not cached into a value
        try:
            normalize_phone("0532 12")
        except ValueError:
            pass
        else:  # pragma: no cover
            raise AssertionError("invalid number accepted")


def test_default_registry_buckets_start_with_one_token_and_others_full() -> None:
    from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY

    assert DEFAULT_REGISTRY.initial_tokens == 1.0
    clock = FrozenClock()
    limit = RateLimit(5, 1.0)
    client = RateLimiterRegistry(clock, initial_tokens=1.0).bucket("p", "a", limit)
    assert [client.reserve() for _ in range(3)] == [0.0, 0.2, 0.4]
    for full in (TokenBucket(limit, clock), RateLimiterRegistry(clock).bucket("p", "a", limit)):
        assert [full.reserve() for _ in range(6)] == [0.0] * 5 + [0.2]


def test_raw_payload_with_a_lone_surrogate_still_serializes() -> None:
    import json

    from invekto_integrations.sync.orders import _json_text

    assert json.loads(_json_text({"a": "\ud83d", "b": 1.5})) == {"a": "\ud83d", "b": 1.5}
    assert json.loads(_json_text({"ç": [1, None, True]})) == {"ç": [1, None, True]}
