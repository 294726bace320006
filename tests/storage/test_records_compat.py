"""The domain models moved out of `storage.records` into `invekto_integrations.models`; the old
import path still names the very same classes."""

from __future__ import annotations

import invekto_integrations.storage.records as records
from invekto_integrations.appointments import models as clinic
from invekto_integrations.models import appointments, calendar_sync, outbox, tracking


def test_old_names_are_the_moved_classes() -> None:
    for module in (appointments, calendar_sync, outbox, tracking):
        for name in module.__all__:
            assert getattr(records, name) is getattr(module, name), name
            assert name in records.__all__
    for name in clinic.__all__:
        assert getattr(clinic, name) is getattr(appointments, name)


def test_storage_keeps_only_its_own_rows() -> None:
    own = {name for name in records.__all__ if getattr(getattr(records, name), "__module__", None) == records.__name__}
    assert own == {"CachedOrder", "Checkpoint", "QuarantinedRecord", "StoredEvent"}
