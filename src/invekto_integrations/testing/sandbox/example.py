"""A minimal example provider fake ("echo shop"): proves the framework and anchors core tests.

It speaks a tiny JSON API with bearer-token auth (one token per account), page/size paging over
seeded orders and a POST that is safe to repeat only with an ``Idempotency-Key``. State is held
per account with `FakeProvider.per_account`, so two tokens see two different shops. Plugin
authors can read it as the smallest complete fake; ``examples/plugin_echoshop`` is a complete
provider plugin (client, wire, mapping, fake, conformance contract) built the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit

from ._fake import FakeProvider

__all__ = ["EchoShopFake"]


@dataclass
class _Shop:
    orders: list[dict[str, Any]]
    created: dict[str, dict[str, Any]] = field(default_factory=dict)


class EchoShopFake(FakeProvider):
    name: ClassVar[str] = "echoshop"
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit(20, 1.0)

    def __init__(self, *, tokens: dict[str, str] | None = None, orders: int = 25, **kw: Any) -> None:
        super().__init__(**kw)
        self.tokens = tokens or {"token-a": "acct-a", "token-b": "acct-b"}
        self.order_count = orders
        self.shops = self.per_account(self._new_shop)

    def _new_shop(self, account: str) -> _Shop:
        return _Shop([{"id": f"{account}-{i:04d}", "status": "created", "total": f"{100 + i}.50"}
                      for i in range(self.order_count)])

    @property
    def created(self) -> dict[str, dict[str, Any]]:
        """Every order created through the API, across accounts, by idempotency key."""
        return {key: row for account in self.shops for key, row in self.shops.get(account).created.items()}

    def authenticate(self, request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        account = self.tokens.get(header.removeprefix("Bearer ").strip())
        if account is None:
            return JSONResponse({"code": "unauthorized", "message": "invalid token"}, status_code=401)
        return account

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/orders", self._list),
            Route("/orders", self._create, methods=["POST"]),
            Route("/fail/{status:int}", self._fail),
        ]

    async def _list(self, request: Request) -> Response:
        page = int(request.query_params.get("page", 0))
        size = min(int(request.query_params.get("size", 10)), 10)
        rows = self.shops.get(self.account_of(request)).orders
        content = []
        for row in rows[page * size : (page + 1) * size]:
            content.append({"id": row["id"]} if self.maybe_malformed() else row)
        return JSONResponse({"page": page, "size": size, "totalElements": len(rows), "content": content})

    async def _create(self, request: Request) -> Response:
        shop = self.shops.get(self.account_of(request))
        key = request.headers.get("idempotency-key")
        if key and key in shop.created:
            return JSONResponse(shop.created[key], status_code=200)
        body = await request.json()
        row = {"id": f"new-{len(shop.orders) - self.order_count + 1}", **body}
        shop.orders.append(row)
        if key:
            shop.created[key] = row
        return JSONResponse(row, status_code=201)

    async def _fail(self, request: Request) -> Response:
        status = int(request.path_params["status"])
        return JSONResponse({"code": f"E{status}", "message": "as requested"}, status_code=status,
                            headers={"X-Request-Id": "req-123"})
