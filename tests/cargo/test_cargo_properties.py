"""Property tests for the carrier parsers and time rules (hypothesis)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from invekto_integrations.core.errors import PayloadError
from invekto_integrations.providers._carrier import parse_local_datetime, parse_yyyymmdd_hhmmss
from invekto_integrations.providers._soap import parse_xml

IST = ZoneInfo("Europe/Istanbul")
# Turkey has kept UTC+3 all year since September 2016; before that, the autumn DST hour makes
# local wall-clock times (all the carriers send) ambiguous, so round trips only hold from 2017 on.
instants = st.datetimes(min_value=datetime(2017, 1, 1), max_value=datetime(2090, 1, 1),
                        timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))


@given(instants)
def test_yurtici_date_time_roundtrip(when: datetime) -> None:
    local = when.astimezone(IST)
    assert parse_yyyymmdd_hhmmss(local.strftime("%Y%m%d"), local.strftime("%H%M%S")) == when
    assert parse_yyyymmdd_hhmmss(local.strftime("%Y%m%d"), str(int(local.strftime("%H%M%S")))) == when


@given(instants)
def test_aras_local_formats_roundtrip(when: datetime) -> None:
    local = when.astimezone(IST)
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S"):
        assert parse_local_datetime(local.strftime(fmt)) == when
    assert parse_local_datetime(local.strftime("%Y-%m-%dT%H:%M")) == when - timedelta(seconds=when.second)


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_give_a_payload_error(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        parse_xml(data, provider="p")


@settings(max_examples=100)
@given(st.text(max_size=30))
def test_bad_dates_raise_value_error_only(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_local_datetime(text)
    with contextlib.suppress(ValueError):
        parse_yyyymmdd_hhmmss(text, text)
