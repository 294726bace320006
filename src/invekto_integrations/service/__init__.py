"""The optional Integrations service on port 7106 (extra ``service``: Starlette + uvicorn).

See docs/service.md.
"""

from invekto_integrations.messaging.webhook import WebhookRoute

from ._app import DEFAULT_PORT, BodyTooLarge, IntegrationsService, ServiceConfig
from ._openapi import openapi_document
from ._tokens import authenticate, issue_token

__all__ = [
    "DEFAULT_PORT",
    "BodyTooLarge",
    "IntegrationsService",
    "ServiceConfig",
    "WebhookRoute",
    "authenticate",
    "issue_token",
    "openapi_document",
]
