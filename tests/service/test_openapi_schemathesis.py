"""Schemathesis against the OpenAPI document the service serves (``GET /openapi.json``): for every
operation, a bounded number of generated requests (path, query and body values from the document's
schemas) with a valid token of the path's tenant; none may answer 5xx. Bad input is a 4xx naming
the field, an unknown resource a 404 — never a crash.

``INVEKTO_SCHEMATHESIS_EXAMPLES`` sets the examples per operation (default 10: `make test` stays
quick on two cores; raise it locally to search harder).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from invekto_integrations import Integrations  # noqa: E402
from invekto_integrations.service import IntegrationsService, ServiceConfig, WebhookRoute, issue_token  # noqa: E402

EXAMPLES = int(os.environ.get("INVEKTO_SCHEMATHESIS_EXAMPLES", "10"))
TENANT = "moda"


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with Integrations.sandbox(["trendyol", "aras"]) as client:
        fake = client.fakes.trendyol
        seller = fake.provision_account("Moda")
        client.accounts.add(TENANT, "trendyol", seller.credentials, settings=seller.settings)
        now = client.clock.now()
        fake.seed_orders(seller.account_key, 3, start=now - timedelta(days=5), end=now - timedelta(days=1))
        config = ServiceConfig(whatsapp_verify_token=SecretStr("v"),
                               whatsapp_routes={"1000000001": WebhookRoute(TENANT, SecretStr("s"))},
                               meta_app_secret=SecretStr("s"), max_body_bytes=64_000)
        service = IntegrationsService(client, config)
        token, _ = issue_token(service.tokens, TENANT, clock=client.clock)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema = schemathesis.openapi.from_asgi("/openapi.json", service.app)
        yield {"schema": schema, "token": token}


def _operations() -> list[tuple[str, str]]:
    # The route table needs no live client to be listed (handlers use it only when called).
    from types import SimpleNamespace

    from invekto_integrations.service._api import api_routes
    from invekto_integrations.service._api_ops import ops_routes

    client: Any = SimpleNamespace(store=None, clock=None)
    return [(r.method, r.full_path) for r in api_routes(client) + ops_routes(client)]


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: str(v))
def test_no_operation_answers_a_server_error(world: dict[str, Any], method: str, path: str) -> None:
    # Schemathesis's own pytest integration (`from_fixture`) does not run under this pytest; its
    # strategies do, driven by hypothesis here, a bounded run per operation of the served document.
    token = world["token"]
    operation = world["schema"][path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if "tenant_id" in (case.path_parameters or {}):
            case.path_parameters["tenant_id"] = TENANT  # the token's tenant: past the 404 to the handler
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body,
                                            response.status_code, response.text[:300])

    run()
