"""Fuzzing public inputs: whatever arrives, the answer is a value or a typed error, quickly.

Each property runs a bounded number of examples (hypothesis' deadline bounds the time of one);
"typed" means `IntegrationError` (whose `InvalidArgument` is also a ``ValueError``)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from invekto_integrations.attribution.links import record_click
from invekto_integrations.attribution.spend import CsvImportResult, import_spend_csv
from invekto_integrations.campaigns.audience import parse_criteria
from invekto_integrations.core.errors import IntegrationError
from invekto_integrations.core.phone import normalize_phone, try_normalize_phone
from invekto_integrations.storage import MemoryStore

# the deadline catches a runaway input (backtracking, blow-up), with room for a loaded CI machine
FAST = settings(max_examples=200, deadline=2000)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
kinds = st.sampled_from(["and", "or", "not", "everyone", "order_count", "order_total", "last_order", "platform",
                         "product", "tag", "segment", "consent", "niche", "bogus"])


@FAST
@given(st.text(max_size=40))
def test_phone_numbers(raw: str) -> None:
    try:
        out = normalize_phone(raw)
    except IntegrationError:
        assert try_normalize_phone(raw) is None
        return
    assert out.startswith("+") and out[1:].isdigit()
    assert try_normalize_phone(raw) == out


@FAST
@given(st.text(max_size=300), st.booleans())
def test_spend_csv_any_text(text: str, all_or_nothing: bool) -> None:
    store = MemoryStore()
    result = import_spend_csv(store.ad_spend, "t1", text, all_or_nothing=all_or_nothing)
    assert isinstance(result, CsvImportResult)
    if all_or_nothing and result.errors:
        assert result.imported == 0


@FAST
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12)), max_size=6))
def test_spend_csv_rows_with_a_valid_header(rows: list[tuple[str, str, str]]) -> None:
    body = "\n".join(",".join(json.dumps(v) for v in row) for row in rows)
    result = import_spend_csv(MemoryStore().ad_spend, "t1", "date,campaign_id,amount\n" + body)
    assert result.imported + len(result.errors) <= len(rows) + 1


@FAST
@given(json_values | st.fixed_dictionaries({"kind": kinds}, optional={"all": json_values, "any": json_values,
                                                                        "min": json_values, "max": json_values,
                                                                        "values": json_values, "of": json_values}))
def test_audience_criteria(data: object) -> None:
    for form in (data, json.dumps(data)):
        with contextlib.suppress(IntegrationError):
            parse_criteria(form)  # type: ignore[arg-type]


@FAST
@given(st.text(max_size=40), st.none() | st.just("t1"))
def test_tracked_link_codes(code: str, tenant: str | None) -> None:
    store = MemoryStore()
    assert record_click(store.tracked_links, tenant, code, at=datetime(2026, 3, 2, tzinfo=UTC)) is None
