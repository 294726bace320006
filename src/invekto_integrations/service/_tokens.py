"""Per-tenant API tokens: issued once in clear, stored as digests, checked by digest lookup."""

from __future__ import annotations

import secrets

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.ids import new_id
from invekto_integrations.storage.api_tokens import ApiToken, ApiTokenRepository, token_digest

__all__ = ["TOKEN_PREFIX", "authenticate", "issue_token"]

TOKEN_PREFIX = "inv_"  # noqa: S105 - a public marker, not a secret


def issue_token(repo: ApiTokenRepository, tenant_id: str, *, label: str = "api",
                clock: Clock | None = None) -> tuple[str, ApiToken]:
    """A new token for ``tenant_id``: the clear text (show it once) and the stored record."""
    if not tenant_id or not tenant_id.strip():
        raise InvalidArgument("tenant_id is required", field="tenant_id")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(tenant_id=tenant_id, token_id=new_id(), digest=token_digest(clear), label=label,
                      created_at=(clock or SystemClock()).now())
    repo.add(tenant_id, record)
    return clear, record


def authenticate(repo: ApiTokenRepository, authorization: str | None) -> ApiToken | None:
    """The live token a ``Bearer`` header presents, or ``None`` (missing, malformed, unknown, revoked)."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        return None
    return repo.find_by_digest(token_digest(value))
