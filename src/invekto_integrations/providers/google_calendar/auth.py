"""Google credentials (google-auth) behind one `httpx.Auth`, with refresh for sync and async clients.

Two kinds of credentials (fact sheet §1):

- **service account with domain-wide delegation**: ``google.oauth2.service_account.Credentials``
  signed with the account's private key, ``with_subject(<user e-mail>)`` so it acts as that
  Workspace user (a JWT-bearer grant at the token URI);
- **user OAuth**: ``google.oauth2.credentials.Credentials`` from a refresh token (offline access),
  refreshed with a ``refresh_token`` grant.

The token URI is configurable, so the sandbox fake's ``/token`` endpoint can serve either grant.
google-auth's refresh is synchronous and takes a ``google.auth.transport.Request``; we give it one
written over httpx (`HttpxAuthRequest`), so token calls go through the same transport as API calls
(the sandbox's in-process transport in tests). In async code the refresh runs in a worker thread
and its HTTP call is scheduled back onto the caller's event loop (`LoopBridgeRequest`): the loop is
never blocked. A 401 from the API forces one refresh and one retry; a refused refresh (revoked or
expired refresh token, deleted key) raises `AuthenticationError`. Secrets never reach a log line,
an error message or a repr.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from google.auth import exceptions as gexc
from google.auth import transport as gtransport
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from pydantic import SecretStr

from invekto_integrations.core.errors import (
    AuthenticationError,
    ConfigurationError,
    PayloadError,
    ProviderUnavailable,
    RateLimited,
)
from invekto_integrations.core.reprs import ConciseRepr

from .mapping import PROVIDER

__all__ = [
    "DEFAULT_SCOPES",
    "GOOGLE_TOKEN_URI",
    "GoogleAuth",
    "GoogleCredentials",
    "HttpxAuthRequest",
    "LoopBridgeRequest",
    "TokenEndpointBusy",
]

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
# Least privilege: read/write events is enough for sync and watch (fact sheet §1).
DEFAULT_SCOPES = ("https://www.googleapis.com/auth/calendar.events",)


@dataclass(frozen=True)
class GoogleCredentials:
    """What we need to get access tokens. Secrets are `SecretStr` (never in repr or logs).

    ``kind="service_account"``: ``client_email``, ``private_key`` (PEM), optional ``private_key_id``,
    and ``subject`` (the Workspace user to act as: domain-wide delegation).
    ``kind="oauth"``: ``client_id``, ``client_secret``, ``refresh_token``.
    """

    kind: Literal["service_account", "oauth"]
    token_uri: str = GOOGLE_TOKEN_URI
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    client_email: str | None = None
    subject: str | None = None
    private_key: SecretStr | None = field(default=None, repr=False)
    private_key_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = field(default=None, repr=False)
    refresh_token: SecretStr | None = field(default=None, repr=False)

    @classmethod
    def service_account(cls, client_email: str, private_key: SecretStr | str, *, subject: str | None = None,
                        private_key_id: str | None = None, token_uri: str = GOOGLE_TOKEN_URI,
                        scopes: Sequence[str] = DEFAULT_SCOPES) -> GoogleCredentials:
        key = private_key if isinstance(private_key, SecretStr) else SecretStr(private_key)
        return cls(kind="service_account", client_email=client_email, private_key=key, subject=subject,
                   private_key_id=private_key_id, token_uri=token_uri, scopes=tuple(scopes))

    @classmethod
    def service_account_info(cls, info: Mapping[str, Any] | str, *, subject: str | None = None,
                             token_uri: str | None = None,
                             scopes: Sequence[str] = DEFAULT_SCOPES) -> GoogleCredentials:
        """From the JSON key file Google issues (a mapping or its text)."""
        data = json.loads(info) if isinstance(info, str) else dict(info)
        try:
            return cls.service_account(str(data["client_email"]), SecretStr(str(data["private_key"])),
                                       subject=subject, private_key_id=data.get("private_key_id"),
                                       token_uri=token_uri or str(data.get("token_uri") or GOOGLE_TOKEN_URI),
                                       scopes=scopes)
        except KeyError as exc:
            raise ConfigurationError(f"{PROVIDER}: service account key lacks {exc.args[0]!r}") from None

    @classmethod
    def oauth(cls, client_id: str, client_secret: SecretStr | str, refresh_token: SecretStr | str, *,
              token_uri: str = GOOGLE_TOKEN_URI, scopes: Sequence[str] = DEFAULT_SCOPES) -> GoogleCredentials:
        secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        token = refresh_token if isinstance(refresh_token, SecretStr) else SecretStr(refresh_token)
        return cls(kind="oauth", client_id=client_id, client_secret=secret, refresh_token=token,
                   token_uri=token_uri, scopes=tuple(scopes))

    @property
    def principal(self) -> str:
        """Who the calls act as (for rate-limit buckets and logs; not secret)."""
        if self.kind == "service_account":
            return self.subject or self.client_email or "service-account"
        return self.client_id or "oauth-user"

    def build(self) -> Any:
        """The google-auth credentials object."""
        if self.kind == "service_account":
            if not self.client_email or self.private_key is None:
                raise ConfigurationError(f"{PROVIDER}: a service account needs client_email and private_key")
            info = {"client_email": self.client_email, "private_key": self.private_key.get_secret_value(),
                    "token_uri": self.token_uri, "private_key_id": self.private_key_id}
            try:
                creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                    info, scopes=list(self.scopes))
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(f"{PROVIDER}: unusable service account key ({type(exc).__name__})") from None
            return creds.with_subject(self.subject) if self.subject else creds
        if not self.client_id or self.client_secret is None or self.refresh_token is None:
            raise ConfigurationError(f"{PROVIDER}: OAuth needs client_id, client_secret and refresh_token")
        return user_credentials.Credentials(  # type: ignore[no-untyped-call]
            token=None, refresh_token=self.refresh_token.get_secret_value(), token_uri=self.token_uri,
            client_id=self.client_id, client_secret=self.client_secret.get_secret_value(), scopes=list(self.scopes))


class _Response(gtransport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._status = response.status_code
        self._headers = dict(response.headers)
        self._data = response.content

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class TokenEndpointBusy(gexc.TransportError):
    """The token endpoint answered 429 or 5xx. Raised from the transport so that google-auth does not
    retry on its own with real sleeps: `core.retry` retries the whole call on the injected clock."""

    def __init__(self, status: int) -> None:
        super().__init__(f"token endpoint answered HTTP {status}")  # type: ignore[no-untyped-call]
        self.status = status


def _checked(response: httpx.Response) -> _Response:
    if response.status_code == 429 or response.status_code >= 500:
        raise TokenEndpointBusy(response.status_code)
    return _Response(response)


class HttpxAuthRequest(gtransport.Request, ConciseRepr):
    """google-auth's transport interface over a sync `httpx.Client`."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(self, url: str, method: str = "GET", body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float | None = None,
                 **kwargs: Any) -> _Response:
        try:
            response = self._client.request(method, url, content=body, headers=dict(headers or {}),
                                            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            raise gexc.TransportError(  # type: ignore[no-untyped-call]
                f"{type(exc).__name__} while getting a token") from exc
        return _checked(response)


class LoopBridgeRequest(gtransport.Request, ConciseRepr):
    """google-auth's transport interface for a worker thread: each request runs on ``loop`` through an
    `httpx.AsyncClient`, and the thread waits for it (the event loop itself never blocks)."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def __call__(self, url: str, method: str = "GET", body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float | None = None,
                 **kwargs: Any) -> _Response:
        coro = self._client.request(method, url, content=body, headers=dict(headers or {}),
                                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
        try:
            response = asyncio.run_coroutine_threadsafe(coro, self._loop).result()
        except httpx.HTTPError as exc:
            raise gexc.TransportError(  # type: ignore[no-untyped-call]
                f"{type(exc).__name__} while getting a token") from exc
        return _checked(response)


class GoogleAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <access token>``; refreshes when missing or expired, and once more
    when the API answers 401 (then retries the request once)."""

    def __init__(self, credentials: GoogleCredentials, *, transport: httpx.BaseTransport | None = None,
                 async_transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0) -> None:
        self.credentials = credentials
        self._google = credentials.build()
        self._transport = transport
        self._async_transport = async_transport
        self._timeout = timeout
        self._lock = threading.Lock()
        self._sync_client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"GoogleAuth(kind={self.credentials.kind!r}, principal={self.credentials.principal!r}, ***)"

    # -- token handling (runs in the caller's thread or a worker thread) ---------------------------
    def _current(self) -> str | None:
        token = self._google.token
        return str(token) if token and self._google.valid else None

    def _refresh_with(self, request: gtransport.Request, stale: str | None) -> str:
        with self._lock:
            token = self._current()
            if token is not None and token != stale:
                return token  # another caller refreshed meanwhile
            try:
                self._google.refresh(request)
            except gexc.RefreshError as exc:
                if getattr(exc, "retryable", False):  # the token endpoint failed (5xx), not the grant
                    raise ProviderUnavailable("token endpoint unavailable", provider=PROVIDER,
                                              operation="token_refresh") from None
                reason = str(exc.args[0]) if exc.args else "refresh refused"
                raise AuthenticationError(
                    f"token refresh refused ({reason.split(':')[0]}): reconnect the Google account",
                    provider=PROVIDER, operation="token_refresh", code="refresh_failed") from None
            except TokenEndpointBusy as exc:
                if exc.status == 429:
                    raise RateLimited("token endpoint throttled", provider=PROVIDER, operation="token_refresh",
                                      status=429) from None
                raise ProviderUnavailable("token endpoint unavailable", provider=PROVIDER,
                                          operation="token_refresh", status=exc.status) from None
            except gexc.TransportError as exc:
                raise ProviderUnavailable(f"token endpoint unreachable: {exc}", provider=PROVIDER,
                                          operation="token_refresh") from exc
            except gexc.GoogleAuthError as exc:
                raise AuthenticationError(f"token refresh failed ({type(exc).__name__})", provider=PROVIDER,
                                          operation="token_refresh") from None
            except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
                # google-auth indexes the token answer as it comes: a body that is not the documented
                # JSON object (cut short, a list, a string) surfaces as whatever its indexing raised.
                raise PayloadError(f"unreadable token endpoint answer ({type(exc).__name__})", provider=PROVIDER,
                                   field="access_token", operation="token_refresh") from None
            self.refreshes += 1
            token = str(self._google.token)
            if not (token.isascii() and token.isprintable()):  # it goes into a header as it is
                raise PayloadError("the access token is not a printable ASCII string", provider=PROVIDER,
                                   field="access_token", operation="token_refresh")
            return token

    def _sync_request(self) -> HttpxAuthRequest:
        if self._sync_client is None:
            self._sync_client = httpx.Client(transport=self._transport, timeout=self._timeout)
        return HttpxAuthRequest(self._sync_client)

    def token_sync(self, stale: str | None = None) -> str:
        token = self._current()
        if token is not None and token != stale:
            return token
        return self._refresh_with(self._sync_request(), stale)

    async def token_async(self, stale: str | None = None) -> str:
        token = self._current()
        if token is not None and token != stale:
            return token
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(transport=self._async_transport, timeout=self._timeout)
        bridge = LoopBridgeRequest(self._async_client, asyncio.get_running_loop())
        return await asyncio.to_thread(self._refresh_with, bridge, stale)

    # -- httpx flows ---------------------------------------------------------------------------------
    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token_sync()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = self.token_sync(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token_async()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self.token_async(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def close(self) -> None:
        if self._sync_client is not None:
            self._sync_client.close()
            self._sync_client = None

    async def aclose(self) -> None:
        self.close()
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None
