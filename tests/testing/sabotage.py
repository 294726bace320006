"""Runs sabotaged conformance contracts in an inner pytest and checks each is caught."""

from __future__ import annotations

import pytest

Case = tuple[str, str]  # (test class in the sabotage module, the kit test that must fail)


def assert_each_sabotage_caught(pytester: pytest.Pytester, source: str, cases: list[Case]) -> None:
    """Write ``source`` as ``test_sabotage.py``, run only the named tests, and require that each
    fails: a kit that lets a sabotaged contract pass would be a test that cannot fail."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_sabotage=source)
    selected = " or ".join(f"({cls} and {test})" for cls, test in cases)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", selected)
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    outcomes = {r.nodeid: r.outcome for r in reports if r.when == "call"}
    for cls, test in cases:
        assert outcomes.get(f"test_sabotage.py::{cls}::{test}") == "failed", (cls, test, outcomes)
    assert len(outcomes) == len(cases)
