"""The one send pipeline every engine uses (consent, opt-out, quiet hours, caps, outbox)."""

from .base import MessageCategory, MessageSink, OutboundMessage, RecordingSink, SubmitResult, TemplateRef
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
    "MessageSink",
    "MessagingSettings",
    "MessagingWebhookHandler",
    "OutboundMessage",
    "QuietHours",
    "RecordingSink",
    "SendPipeline",
    "SubmitResult",
    "TemplateRef",
    "WebhookResponse",
    "WebhookRoute",
    "fold_keyword",
]
