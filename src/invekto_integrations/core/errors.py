"""The typed error hierarchy: the only exceptions the public API raises.

    IntegrationError
    ├── ConfigurationError          bad settings, unknown provider, missing key
    ├── StorageError                a repository could not read or write
    ├── ConsentError                a send that İYS consent or an opt-out forbids
    └── ProviderError               a provider call failed (provider, operation, status, code, request id)
        ├── AuthenticationError     401/403: credentials refused
        ├── RateLimited             429 or the provider's own throttling answer (retry_after)
        ├── NotFound                404 or the provider's "no such record"
        ├── ProviderUnavailable     5xx, timeouts, dropped connections (after retries)
        ├── InvalidRequest          4xx the provider says is our fault (validation)
        │   ├── OutsideServiceWindow    free-form message outside the 24-hour customer-service window
        │   ├── RecipientUnavailable    recipient cannot get messages (not on WhatsApp, opted out, ...)
        │   ├── TemplateUnavailable     template missing, not approved, paused or disabled
        │   └── InvalidParameter        a parameter the provider rejects (count, format, value)
        ├── AccountRestricted       the sender's account is locked, unpaid or blocked (ops must act)
        └── PayloadError            a response that does not match the documented shape
    InvalidArgument (also a ValueError)  bad input to a public method (names provider, field, record)

Foreign exceptions (httpx, pydantic, XML parsers) are translated at one boundary,
`core.http`, with ``raise ... from exc`` so the cause stays visible to a debugger.
"""

from __future__ import annotations

__all__ = [
    "AccountRestricted",
    "AuthenticationError",
    "ConfigurationError",
    "ConsentError",
    "IntegrationError",
    "InvalidParameter",
    "InvalidRequest",
    "NotFound",
    "OutsideServiceWindow",
    "PayloadError",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "RecipientUnavailable",
    "StorageError",
    "TemplateUnavailable",
]


class IntegrationError(Exception):
    """Root of every error this library raises."""


class ConfigurationError(IntegrationError):
    """Settings are missing or inconsistent (unknown provider, no encryption key, ...)."""


class StorageError(IntegrationError):
    """A repository could not complete a read or a write."""


class ConsentError(IntegrationError):
    """A commercial send that consent rules or an opt-out forbid.

    ``reason`` is a short machine-readable word: ``no_consent``, ``consent_rejected``,
    ``opted_out``, ``frequency_cap``, ``outside_window``.
    """

    def __init__(self, message: str, *, recipient: str | None = None, reason: str = "no_consent") -> None:
        super().__init__(message)
        self.recipient = recipient
        self.reason = reason


def _where(record: str | None, field: str | None) -> str:
    """``record=…, field=…`` for the parts that are known (bad-input and bad-payload messages)."""
    parts = [f"record={record}"] if record is not None else []
    if field is not None:
        parts.append(f"field={field}")
    return ", ".join(parts)


class ProviderError(IntegrationError):
    """A call to a provider failed.

    ``str()`` leads with the request id when the provider sent one, so a log line can be matched
    with the provider's support tooling.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        operation: str | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.operation = operation
        self.status = status
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [f"[{self.provider}"]
        if self.operation:
            parts.append(f" {self.operation}")
        if self.status is not None:
            parts.append(f" HTTP {self.status}")
        if self.code:
            parts.append(f" code={self.code}")
        parts.append("]")
        head = "".join(parts)
        prefix = f"Request {self.request_id}: " if self.request_id else ""
        return f"{prefix}{head} {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, operation={self.operation!r}, "
            f"status={self.status!r}, code={self.code!r}, request_id={self.request_id!r})"
        )


class AuthenticationError(ProviderError):
    """The provider refused the credentials (401/403 or its own equivalent)."""


class RateLimited(ProviderError):
    """The provider throttled the call; ``retry_after`` is its hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class NotFound(ProviderError):
    """The provider has no such record."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or answered 5xx, after the retry policy gave up.

    ``unsent`` is true when the request never reached the server (connection refused), which
    makes even a non-idempotent call safe to repeat. ``retry_after`` is a 503's ``Retry-After``
    hint in seconds (how long the server expects to be unavailable), if it sent one.
    """

    unsent: bool = False
    retry_after: float | None = None


class InvalidRequest(ProviderError):
    """The provider rejected the request as invalid (a 4xx that retrying cannot fix)."""


class PayloadError(ProviderError):
    """A provider answer that does not match its documented shape.

    Names the ``field`` and the ``record`` (the provider's id of the record, when one could be
    read) so that one malformed record can be quarantined while the rest of a sync goes on.
    ``truncated``: the body did not decode at all (cut mid-transfer), so a repeat may succeed.
    """

    truncated: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        field: str | None = None,
        record: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            message, provider=provider, operation=operation, status=status, code="payload",
            request_id=request_id,
        )
        self.field = field
        self.record = record

    def __str__(self) -> str:
        where = _where(self.record, self.field)
        loc = f" ({where})" if where else ""
        prefix = f"Request {self.request_id}: " if self.request_id else ""
        return f"{prefix}[{self.provider}] malformed payload{loc}: {self.message}"


# --- messaging (issue 7) ---------------------------------------------------------------------
class OutsideServiceWindow(InvalidRequest):
    """A free-form message outside the 24-hour customer-service window (WhatsApp 131047).

    Raised before any call when the last inbound message is unknown or older than 24 hours.
    """


class RecipientUnavailable(InvalidRequest):
    """The recipient cannot receive the message (WhatsApp 131026, 131050, 131030): do not retry."""


class TemplateUnavailable(InvalidRequest):
    """The template does not exist in that language, is not approved, or is paused/disabled."""


class InvalidParameter(InvalidRequest):
    """A parameter the provider rejects (missing, wrong count, wrong format or value)."""


class AccountRestricted(ProviderError):
    """The sending account is locked, has a payment issue or is blocked for policy: notify ops."""


# --- calendars (issue 8) ---------------------------------------------------------------------
class PermissionDenied(ProviderError):
    """The credentials are valid but may not do this to this resource (Google 403 ``forbidden``,
    ``insufficientPermissions``, ``forbiddenForNonOrganizer``): not retried, and not an
    `AuthenticationError`, so it never marks an account ``invalid_credentials``."""


class SyncTokenExpired(InvalidRequest):
    """An incremental-sync token the provider no longer accepts (Google 410 ``fullSyncRequired``):
    clear the mirror of that calendar and run a full sync."""


class PreconditionFailed(InvalidRequest):
    """A conditional write lost a race: the record changed since its version tag was read
    (HTTP 412 on ``If-Match``). Re-read, apply the conflict rule, retry."""


class AlreadyExists(InvalidRequest):
    """A create with a client-chosen id that is taken (HTTP 409, including deleted ids kept reserved)."""


__all__ += ["AlreadyExists", "PermissionDenied", "PreconditionFailed", "SyncTokenExpired"]


# --- bad input at the public API -------------------------------------------------------------
class InvalidArgument(IntegrationError, ValueError):
    """A caller passed a value the library cannot use (empty id, naive datetime, inverted range, ...).

    Names the ``provider`` (when the call belongs to one), the ``field`` (the parameter) and the
    ``record`` (the id the value belongs to, when there is one). It is also a ``ValueError``, so
    callers that caught the plain ``ValueError`` raised before keep working.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        field: str | None = None,
        record: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.field = field
        self.record = record

    def __str__(self) -> str:
        where = _where(self.record, self.field)
        head = f"[{self.provider}] " if self.provider else ""
        loc = f"invalid argument ({where})" if where else "invalid argument"
        return f"{head}{loc}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"InvalidArgument({self.message!r}, provider={self.provider!r}, field={self.field!r}, "
            f"record={self.record!r})"
        )


__all__ += ["InvalidArgument"]
