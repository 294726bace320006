"""The calendar-sync repository contract, on memory and SQLite (in memory and on file)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from invekto_integrations.storage.memory_calendar import MemoryCalendarSync
from invekto_integrations.storage.protocols import CalendarSyncRepository
from invekto_integrations.storage.records import CalendarBusyBlock, CalendarChannel, CalendarConflict, CalendarSyncState
from invekto_integrations.storage.sqlite_calendar import SQLiteCalendarSync

from .gcal_fixtures import AYSE, MEHMET, START, ist


@pytest.fixture
def repo(store: Any) -> CalendarSyncRepository:
    return SQLiteCalendarSync(store.db) if hasattr(store, "db") else MemoryCalendarSync()


def channel(tenant: str, cid: str, n: int = 0, **kw: Any) -> CalendarChannel:
    return CalendarChannel(tenant_id=tenant, calendar_id=AYSE, channel_id=cid, resource_id="r1",
                           address="https://h/x", token_sha256="ab" * 32, expiration=START + timedelta(days=7),
                           last_message_number=n, created_at=START, **kw)


def test_state_roundtrip_and_tenant_isolation(repo: CalendarSyncRepository) -> None:
    assert repo.get_state("t1", AYSE) is None
    state = CalendarSyncState(tenant_id="t1", calendar_id=AYSE, doctor_id="d1", updated_at=START)
    repo.save_state("t1", state)
    repo.save_state("t1", state.model_copy(update={"sync_token": "tok", "full_syncs": 1, "last_full_sync_at": START}))
    repo.save_state("t2", CalendarSyncState(tenant_id="t2", calendar_id=AYSE, doctor_id="x", updated_at=START))
    got = repo.get_state("t1", AYSE)
    assert got is not None and (got.sync_token, got.full_syncs, got.last_full_sync_at) == ("tok", 1, START)
    assert [s.tenant_id for s in repo.find_states("t1")] == ["t1"]


def test_channels_and_message_numbers(repo: CalendarSyncRepository) -> None:
    repo.save_channel("t1", channel("t1", "c1"))
    repo.save_channel("t1", channel("t1", "c2", stopped_at=START))
    repo.save_channel("t2", channel("t2", "c3"))
    assert [c.channel_id for c in repo.find_channels("t1")] == ["c1"]
    assert [c.channel_id for c in repo.find_channels("t1", active_only=False)] == ["c1", "c2"]
    assert repo.get_channel("t2", "c1") is None
    assert repo.advance_message("t1", "c1", 1) and repo.advance_message("t1", "c1", 3)
    assert not repo.advance_message("t1", "c1", 3) and not repo.advance_message("t1", "c1", 2)
    assert not repo.advance_message("t1", "nope", 1) and not repo.advance_message("t2", "c1", 9)
    assert repo.get_channel("t1", "c1").last_message_number == 3  # type: ignore[union-attr]


def test_message_numbers_are_claimed_once_under_concurrency(repo: CalendarSyncRepository) -> None:
    repo.save_channel("t1", channel("t1", "c1"))
    wins: list[bool] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        wins.append(repo.advance_message("t1", "c1", 5))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_busy_mirror(repo: CalendarSyncRepository) -> None:
    def block(eid: str, h1: int, h2: int, cal: str = AYSE, tenant: str = "t1") -> CalendarBusyBlock:
        return CalendarBusyBlock(tenant_id=tenant, calendar_id=cal, event_id=eid, starts_at=ist(2, h1),
                                 ends_at=ist(2, h2))

    for b in (block("e1", 10, 11), block("e2", 13, 14), block("e3", 10, 11, MEHMET), block("e4", 10, 11, tenant="t2")):
        repo.upsert_busy(b.tenant_id, b)
    repo.upsert_busy("t1", block("e1", 9, 10))  # moved
    assert [b.event_id for b in repo.find_busy("t1", AYSE, ist(2, 0), ist(3, 0))] == ["e1", "e2"]
    assert repo.find_busy("t1", AYSE, ist(2, 10), ist(2, 13)) == []  # half-open bounds
    repo.delete_busy("t1", AYSE, "e2")
    assert [b.event_id for b in repo.find_busy("t1", AYSE, ist(2, 0), ist(3, 0))] == ["e1"]
    assert repo.clear_busy("t1", AYSE) == 1
    assert repo.find_busy("t1", AYSE, ist(2, 0), ist(3, 0)) == []
    assert len(repo.find_busy("t1", MEHMET, ist(2, 0), ist(3, 0))) == 1


def test_conflict_log(repo: CalendarSyncRepository) -> None:
    for i, appt in enumerate(("a1", "a2", "a1")):
        repo.add_conflict("t1", CalendarConflict(id=f"c{i}", tenant_id="t1", calendar_id=AYSE, event_id="e",
                                           appointment_id=appt, kind="moved", resolution="calendar_wins",
                                           local_version=2,
                                           google_updated=START, created_at=START + timedelta(seconds=i)))
    assert [c.id for c in repo.find_conflicts("t1")] == ["c0", "c1", "c2"]
    assert [c.id for c in repo.find_conflicts("t1", appointment_id="a1")] == ["c0", "c2"]
    assert repo.find_conflicts("t2") == []


def test_conflict_resolution(repo: CalendarSyncRepository) -> None:
    for tenant, cid in (("t1", "c1"), ("t2", "c2")):
        repo.add_conflict(tenant, CalendarConflict(id=cid, tenant_id=tenant, calendar_id=AYSE, event_id="e",
                                           appointment_id="a1", kind="moved", resolution="manual", created_at=START))
    assert not repo.resolve_conflict("t2", "c1", "calendar_wins", START)  # another tenant's conflict
    assert repo.resolve_conflict("t1", "c1", "clinic_wins", START + timedelta(minutes=5))
    assert not repo.resolve_conflict("t1", "c1", "calendar_wins", START + timedelta(minutes=6))  # settled once
    assert not repo.resolve_conflict("t1", "nope", "calendar_wins", START)
    [done] = repo.find_conflicts("t1")
    assert (done.resolved_at, done.resolved_as) == (START + timedelta(minutes=5), "clinic_wins")
    [other] = repo.find_conflicts("t2")
    assert (other.resolved_at, other.resolved_as) == (None, None)
