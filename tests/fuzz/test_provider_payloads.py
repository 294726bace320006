"""Fuzzing every provider's answers: each registered provider's client talks to its own fake through a
transport that mutates the fake's real answers (a field replaced by any JSON value, a key dropped, a
body cut short, nested thousands deep, an XML element emptied or duplicated, a DTD bomb, another
status), and whatever comes back, the client returns a value or raises a typed `IntegrationError`.

Providers are found through the registry (their conformance contracts build the fake and the
client), so a new provider is fuzzed without touching this file."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import IntegrationError
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.testing.conformance import START, ConformanceEnv, ProviderContract
from invekto_integrations.testing.sandbox import Sandbox

# No "explain" phase: it traces every line, slow here, and trips over the deep-nesting inputs' recursion.
FUZZ = settings(max_examples=25, deadline=2000, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**30, max_value=10**40)
           | st.floats() | st.text(max_size=30) | st.sampled_from(["", "0", "-1", "1e999", "NaN", "2026-13-45",
                                                                   "2026-03-02T25:61:00Z", "İğüşöç", "\x00",
                                                                   "\ud800", "9" * 400]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
DEEP = 100_000  # nesting far beyond any parser's recursion limit


@dataclass(frozen=True)
class Plan:
    """How to rewrite one answer, drawn up front (so the draws never depend on how many requests a
    client happens to make): which node, what to do to it, with what."""

    mutate: bool
    status: int | None
    action: str  # structure | truncate | garbage | empty | bomb | asis
    pick: int
    edit: str  # replace | delete | deep | long (JSON); text | empty | remove | duplicate | child (XML)
    value: Any
    cut: float
    garbage: bytes


printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)
plans = st.builds(
    Plan, mutate=st.booleans(),
    status=st.none() | st.sampled_from([200, 400, 401, 404, 409, 422, 429, 500, 503]),
    action=st.sampled_from(["structure", "structure", "structure", "truncate", "garbage", "empty", "bomb", "asis"]),
    pick=st.integers(0, 10_000),
    edit=st.sampled_from(["replace", "replace", "delete", "deep", "long", "text", "empty", "remove", "duplicate",
                          "child"]),
    value=json_values, cut=st.floats(0, 1), garbage=st.binary(max_size=64))


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:5]):
            yield from _paths(v, (*prefix, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def mutate_json(plan: Plan, body: bytes) -> bytes:
    doc = json.loads(body)
    paths = list(_paths(doc))
    path = paths[plan.pick % len(paths)]
    if plan.edit == "delete" and path:
        return json.dumps(_set(doc, path, None, delete=True)).encode()
    if plan.edit == "deep":
        marker = "\u0000deep\u0000"
        text = json.dumps(_set(doc, path, marker))
        return text.replace(json.dumps(marker), "[" * DEEP + "]" * DEEP, 1).encode()
    if plan.edit == "long":
        return json.dumps(_set(doc, path, "x" * 200_000)).encode()
    return json.dumps(_set(doc, path, plan.value)).encode()


def mutate_xml(plan: Plan, body: bytes) -> bytes:
    root = ET.fromstring(body)
    elements = list(root.iter())
    el = elements[plan.pick % len(elements)]
    parent = next((p for p in elements if el in list(p)), None)
    if plan.edit in ("empty", "delete"):
        el.text = None
        for c in list(el):
            el.remove(c)
    elif plan.edit == "remove" and parent is not None:
        parent.remove(el)
    elif plan.edit == "duplicate" and parent is not None:
        parent.append(el)
    elif plan.edit in ("child", "deep"):
        ET.SubElement(el, "Unknown").text = "x"
    else:
        text = plan.value if isinstance(plan.value, str) else json.dumps(plan.value)
        el.text = "".join(c for c in text if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF)
    return ET.tostring(root)


BOMB = ('<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">' + "".join(
    f'<!ENTITY {c} "&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};">'
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + "]><x>&i;</x>").encode()


def mutate(plan: Plan, response: httpx.Response) -> tuple[int, bytes]:
    body = response.content
    status = plan.status or response.status_code
    xml = body.lstrip().startswith(b"<")
    if plan.action == "asis":
        return status, body
    if plan.action == "truncate":
        return status, body[: int(len(body) * plan.cut)]
    if plan.action == "garbage":
        return status, plan.garbage
    if plan.action == "empty":
        return status, b""
    if plan.action == "bomb":
        return status, BOMB if xml else b"[" * DEEP + b"]" * DEEP
    try:
        return status, mutate_xml(plan, body) if xml else mutate_json(plan, body)
    except ValueError:  # not JSON (or XML) to begin with: cut it instead
        return status, body[: len(body) // 2]


class MutatingTransport(httpx.BaseTransport):
    """The sandbox's transport, with the fake's n-th answer rewritten by the n-th plan."""

    def __init__(self, inner: httpx.BaseTransport, plans: list[Plan]) -> None:
        self.inner = inner
        self.plans = iter(plans)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        plan = next(self.plans, None)
        if plan is None or not plan.mutate:
            return response
        status, body = mutate(plan, response)
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")]
        return httpx.Response(status, headers=headers, content=body, request=request)


def _contracts() -> list[ProviderContract]:
    registry = ProviderRegistry.load()
    return [info.contract() for info in registry.all() if info.contract is not None]


CONTRACTS = {c.name: c for c in _contracts()}


@contextlib.contextmanager
def world(contract: ProviderContract) -> Iterator[ConformanceEnv]:
    """A fresh fake per example: its state (tokens, clock, sync cursors) never carries over."""
    clock = FrozenClock(START)
    fake = contract.make_fake(clock=clock, seed=0)
    env = ConformanceEnv(contract, fake, Sandbox([fake], clock=clock), clock, attempts=2)
    env.ids = contract.seed_records(fake, 3) if contract.supports("seed_records") else []  # type: ignore[attr-defined]
    try:
        yield env
    finally:
        env.close()


def _calls(contract: ProviderContract, env: ConformanceEnv, client: Any) -> None:
    contract.probe(client)
    if contract.supports("list_all"):
        contract.list_all(client)
    elif contract.supports("fetch_records"):
        contract.fetch_records(client, env.ids[:2])  # type: ignore[attr-defined]


def test_every_provider_is_fuzzed() -> None:
    assert {"trendyol", "hepsiburada", "aras", "yurtici", "iys", "meta", "google_calendar",
            "whatsapp_cloud"} <= set(CONTRACTS)


@pytest.mark.parametrize("name", sorted(CONTRACTS))
@FUZZ
@given(plans=st.lists(plans, min_size=1, max_size=6))
def test_mutated_answers_give_values_or_typed_errors(name: str, plans: list[Plan]) -> None:
    contract = CONTRACTS[name]
    with world(contract) as env:
        target = env.target()
        mutating = MutatingTransport(target.transport or httpx.HTTPTransport(), plans)
        client = contract.make_client(dataclasses.replace(target, transport=mutating), "primary")
        try:
            _calls(contract, env, client)
        except IntegrationError:
            pass
        finally:
            contract.close_client(client)


def _plan(**kw: Any) -> Plan:
    base: dict[str, Any] = {"mutate": True, "status": None, "action": "structure", "pick": 0, "edit": "replace",
                            "value": None, "cut": 0.5, "garbage": b""}
    return Plan(**{**base, **kw})


def _token_value(value: Any) -> Plan:  # the token answer's "access_token" is its first key on both fakes
    return _plan(pick=1, value=value)


@pytest.mark.parametrize(("name", "plans"), [
    # found by the fuzzer: an error body nested beyond the recursion limit escaped as RecursionError
    ("hepsiburada", [_plan(status=400, action="bomb")]),
    ("iys", [_plan(mutate=False), _plan(status=400, action="bomb")]),
    # token answers are read inside the auth flow: unreadable ones escaped as TypeError/ValidationError,
    # a non-ASCII token as UnicodeEncodeError when put in the header, a huge lifetime as OverflowError
    ("google_calendar", [_plan(action="empty")]),
    ("google_calendar", [_plan(action="truncate", cut=0.3)]),
    ("google_calendar", [_plan(pick=0, value=["not", "an", "object"])]),
    ("iys", [_plan(action="empty")]),
    ("iys", [_plan(pick=0, value="a string")]),
    ("iys", [_plan(edit="long", pick=0)]),
])
def test_found_by_fuzzing_unreadable_answers_are_payload_errors(name: str, plans: list[Plan]) -> None:
    contract = CONTRACTS[name]
    with world(contract) as env:
        target = env.target()
        client = contract.make_client(dataclasses.replace(target, transport=MutatingTransport(target.transport
                                                                                              or httpx.HTTPTransport(),
                                                                                              plans)), "primary")
        with pytest.raises(IntegrationError):
            contract.probe(client)
        contract.close_client(client)


@pytest.mark.parametrize("name", ["google_calendar", "iys"])
@pytest.mark.parametrize("token", ["ç-token", "tok\u0080en", "line\r\nX-Evil: 1"])
def test_found_by_fuzzing_a_token_that_cannot_go_in_a_header_is_a_payload_error(name: str, token: str) -> None:
    from invekto_integrations.core.errors import PayloadError

    contract = CONTRACTS[name]
    with world(contract) as env:
        target = env.target()
        inner = target.transport or httpx.HTTPTransport()

        class TokenRewrite(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                response = inner.handle_request(request)
                response.read()
                if not request.url.path.endswith("/token") and b"access_token" not in response.content:
                    return response
                doc = json.loads(response.content)
                doc["access_token"] = token
                return httpx.Response(response.status_code, json=doc, request=request)

        client = contract.make_client(dataclasses.replace(target, transport=TokenRewrite()), "primary")
        with pytest.raises(PayloadError, match="access token"):
            contract.probe(client)
        contract.close_client(client)
