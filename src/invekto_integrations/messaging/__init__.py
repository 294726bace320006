"""The one send pipeline every engine uses (consent, opt-out, quiet hours, caps, outbox)."""

from .base import (
    MessageCategory,
    MessageDelivery,
    MessageSink,
    OutboundMessage,
    RecordingSink,
    SchedulingSink,
    SendFailure,
    SubmitResult,
    SubmitStatus,
    TemplateRef,
)
from .consent import BulkConsentSource, ConsentDecision, ConsentPolicy, ConsentService, fold_keyword
from .pipeline import DeliveryCounts, DispatchReport, FrequencyCap, MessagingSettings, SendPipeline
from .quiet_hours import QuietHours
from .webhook import MessagingWebhookHandler, WebhookResponse, WebhookRoute

__all__ = [
    "BulkConsentSource",
    "ConsentDecision",
    "ConsentPolicy",
    "ConsentService",
    "DeliveryCounts",
    "DispatchReport",
    "FrequencyCap",
    "MessageCategory",
    "MessageDelivery",
    "MessageSink",
    "MessagingSettings",
    "MessagingWebhookHandler",
    "OutboundMessage",
    "QuietHours",
    "RecordingSink",
    "SchedulingSink",
    "SendFailure",
    "SendPipeline",
    "SubmitResult",
    "SubmitStatus",
    "TemplateRef",
    "WebhookResponse",
    "WebhookRoute",
    "fold_keyword",
]
