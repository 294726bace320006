"""One description per API route: method, path, summary, handler. The Starlette routes and the
OpenAPI document are both built from this table, so they cannot drift apart."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from invekto_integrations.core.errors import InvalidArgument

__all__ = ["ApiRequest", "ApiRoute", "Param", "Streamed", "body_of", "jsonable"]


@dataclass(frozen=True)
class Param:
    name: str
    where: str = "query"  # path | query
    required: bool = False
    description: str = ""
    schema_type: str = "string"


@dataclass(frozen=True)
class ApiRequest:
    """What a handler sees: the authenticated tenant, path and query parameters, the JSON body."""

    tenant_id: str
    path: Mapping[str, str]
    query: Mapping[str, str]
    body: Any = None
    raw: bytes = b""
    content_type: str = ""

    def q(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)

    def need(self, name: str) -> str:
        value = self.query.get(name)
        if value is None or not value.strip():
            raise InvalidArgument(f"query parameter {name!r} is required", field=name)
        return value

    def day(self, name: str) -> date:
        text = self.need(name)
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise InvalidArgument(f"{name} must be a date (YYYY-MM-DD), got {text[:40]!r}", field=name) from exc

    def instant(self, name: str) -> datetime:
        text = self.need(name)
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise InvalidArgument(f"{name} must be an ISO 8601 time, got {text[:40]!r}", field=name) from exc
        if value.tzinfo is None:
            raise InvalidArgument(f"{name} needs a UTC offset", field=name)
        return value

    def json(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise InvalidArgument("the request body must be a JSON object", field="body")
        return self.body


Handler = Callable[[ApiRequest], Any]


def body_of(model: type[BaseModel], req: ApiRequest) -> Any:
    """The request's JSON object validated by ``model``; the first problem as `InvalidArgument`
    naming its field (``ab.holdout``, ``working_hours.1.0``)."""
    try:
        return TypeAdapter(model).validate_python(req.json())
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else "body"
        message = errors[0]["msg"] if errors else "invalid"
        raise InvalidArgument(f"{where}: {message}", field=where) from None


@dataclass(frozen=True)
class Streamed:
    """A handler's answer sent as NDJSON while it runs: ``run`` gets an ``emit`` for progress
    items (each one line) and returns the final item (the last line)."""

    run: Callable[[Callable[[Any], None]], Any]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # under /v1/tenants/{tenant_id}
    summary: str
    handler: Handler
    tag: str
    params: tuple[Param, ...] = ()
    body: str | None = None  # a short description of the JSON body, for the OpenAPI document
    body_model: type[BaseModel] | None = None  # the body's model: its JSON schema goes into the document
    produces: str = "application/json"
    success: int = 200
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def full_path(self) -> str:
        return "/v1/tenants/{tenant_id}" + self.path


def jsonable(value: Any) -> Any:
    """Models, dataclasses, Decimals (as strings: money never goes through float), dates, enums."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude={"raw", "raw_json"} & set(type(value).model_fields))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in ("providers",):
            if hasattr(value, name) and name not in out:
                out[name] = jsonable(getattr(value, name))
        return out
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
