"""A minimal example provider fake ("echo shop"): proves the framework and anchors core tests.

It speaks a tiny JSON API with bearer-token auth, page/size paging over seeded orders and a
POST that is safe to repeat only with an ``Idempotency-Key``. Third-party plugin authors can read
it as the smallest complete fake.
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit

from ._fake import FakeProvider

__all__ = ["EchoShopFake"]


class EchoShopFake(FakeProvider):
    name: ClassVar[str] = "echoshop"
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit(20, 1.0)

    def __init__(self, *, tokens: dict[str, str] | None = None, orders: int = 25, **kw: Any) -> None:
        super().__init__(**kw)
        self.tokens = tokens or {"token-a": "acct-a", "token-b": "acct-b"}
        self.orders: dict[str, list[dict[str, Any]]] = {
            account: [
                {"id": f"{account}-{i:04d}", "status": "created", "total": f"{100 + i}.50"} for i in range(orders)
            ]
            for account in self.tokens.values()
        }
        self.created: dict[str, dict[str, Any]] = {}

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
        rows = self.orders[self.account_of(request)]
        content = []
        for row in rows[page * size : (page + 1) * size]:
            content.append({"id": row["id"]} if self.maybe_malformed() else row)
        return JSONResponse({"page": page, "size": size, "totalElements": len(rows), "content": content})

    async def _create(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        if key and key in self.created:
            return JSONResponse(self.created[key], status_code=200)
        body = await request.json()
        row = {"id": f"new-{len(self.created) + 1}", **body}
        if key:
            self.created[key] = row
        return JSONResponse(row, status_code=201)

    async def _fail(self, request: Request) -> Response:
        status = int(request.path_params["status"])
        return JSONResponse({"code": f"E{status}", "message": "as requested"}, status_code=status,
                            headers={"X-Request-Id": "req-123"})
