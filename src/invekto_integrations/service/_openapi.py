"""The OpenAPI 3.1 document of the service, built from the same route table as the app."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from invekto_integrations._version import __version__

from ._routes import ApiRoute

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{model}"
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
          "required": ["error"]}


def _operation_id(route: ApiRoute) -> str:
    words = re.sub(r"[{}.]", "", route.path).strip("/").replace("/", "_").replace("-", "_")
    return f"{route.method.lower()}_{words or 'root'}"


def openapi_document(routes: Sequence[ApiRoute]) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {
        "/health": {"get": {"summary": "Liveness", "operationId": "health", "security": [],
                            "responses": {"200": {"description": "alive"}}}},
        "/ready": {"get": {"summary": "Readiness: store reachable, runtime engines alive and their lag",
                           "operationId": "ready", "security": [],
                           "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
        "/r/{code}": {"get": {"summary": "Tracked-link redirect to its wa.me address (records the click)",
                              "operationId": "redirect", "security": [],
                              "parameters": [{"name": "code", "in": "path", "required": True,
                                              "schema": {"type": "string"}}],
                              "responses": {"302": {"description": "to wa.me"},
                                            "404": {"description": "unknown code"}}}},
    }
    for route in routes:
        params: list[dict[str, Any]] = [{"name": "tenant_id", "in": "path", "required": True,
                                         "schema": {"type": "string"}}]
        for p in route.params:
            params.append({"name": p.name, "in": p.where, "required": p.required or p.where == "path",
                           "schema": {"type": p.schema_type}, **({"description": p.description}
                                                                  if p.description else {})})
        op: dict[str, Any] = {
            "summary": route.summary, "operationId": _operation_id(route), "tags": [route.tag],
            "parameters": params,
            "responses": {
                str(route.success): {"description": "OK", "content": {route.produces: {"schema": {}}}},
                "400": {"description": "invalid argument",
                        "content": {"application/json": {"schema": _ERROR}}},
                "401": {"description": "missing or bad token",
                        "content": {"application/json": {"schema": _ERROR}}},
                "404": {"description": "no such resource (or another tenant's)",
                        "content": {"application/json": {"schema": _ERROR}}},
            },
        }
        if route.body is not None:
            media = "text/csv" if route.body == "text/csv" else "application/json"
            schema: dict[str, Any] = {"type": "string"} if media == "text/csv" else {"type": "object"}
            if route.body_model is not None:
                schema = route.body_model.model_json_schema(by_alias=True, ref_template=_REF)
                components.update(schema.pop("$defs", {}))
            op["requestBody"] = {"required": True, "description": route.body,
                                 "content": {media: {"schema": schema}}}
        paths.setdefault(route.full_path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "invekto-integrations service", "version": __version__},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       **({"schemas": components} if components else {})},
        "security": [{"bearer": []}],
        "paths": paths,
    }
