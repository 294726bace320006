"""WhatsApp Cloud API payloads as Meta sends them (field names as on the wire, extra fields kept)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "WireChange",
    "WireContact",
    "WireContactCard",
    "WireEntry",
    "WireErrorBody",
    "WireGraphError",
    "WireInbound",
    "WireLocation",
    "WireMedia",
    "WireMetadata",
    "WireReaction",
    "WireReferral",
    "WireSendResponse",
    "WireStatus",
    "WireStatusError",
    "WireTemplate",
    "WireTemplateList",
    "WireWebhook",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- send ------------------------------------------------------------------------------------
class WireSendContact(_Wire):
    input: str | None = None
    wa_id: str | None = None


class WireSendMessage(_Wire):
    id: str
    message_status: str | None = None


class WireSendResponse(_Wire):
    messaging_product: str | None = None
    contacts: list[WireSendContact] = Field(default_factory=list)
    messages: list[WireSendMessage] = Field(min_length=1)


class WireGraphError(_Wire):
    message: str | None = None
    type: str | None = None
    code: int | str | None = None
    error_subcode: int | str | None = None
    error_data: dict[str, Any] | None = None
    fbtrace_id: str | None = None


class WireErrorBody(_Wire):
    error: WireGraphError


# --- templates -------------------------------------------------------------------------------
class WireTemplate(_Wire):
    id: str | None = None
    name: str
    language: str
    status: str
    category: str
    components: list[dict[str, Any]] = Field(default_factory=list)


class WireCursors(_Wire):
    before: str | None = None
    after: str | None = None


class WirePaging(_Wire):
    cursors: WireCursors | None = None
    next: str | None = None
    previous: str | None = None


class WireTemplateList(_Wire):
    data: list[dict[str, Any]] = Field(default_factory=list)
    paging: WirePaging | None = None


# --- webhooks --------------------------------------------------------------------------------
class WireMetadata(_Wire):
    display_phone_number: str | None = None
    phone_number_id: str


class WireProfile(_Wire):
    name: str | None = None


class WireContact(_Wire):
    profile: WireProfile | None = None
    wa_id: str


class WireText(_Wire):
    body: str


class WireButton(_Wire):
    payload: str | None = None
    text: str | None = None


class WireReply(_Wire):
    id: str
    title: str | None = None
    description: str | None = None


class WireInteractive(_Wire):
    type: str
    button_reply: WireReply | None = None
    list_reply: WireReply | None = None


class WireMedia(_Wire):
    id: str
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class WireWelcome(_Wire):
    text: str | None = None


class WireReferral(_Wire):
    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None
    welcome_message: WireWelcome | None = None


class WireLocation(_Wire):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class WireReaction(_Wire):
    message_id: str
    emoji: str | None = None  # absent or empty: the reaction was removed


class WireCardName(_Wire):
    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    prefix: str | None = None
    suffix: str | None = None


class WireCardPhone(_Wire):
    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class WireCardEmail(_Wire):
    email: str | None = None
    type: str | None = None


class WireCardAddress(_Wire):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class WireCardOrg(_Wire):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class WireCardUrl(_Wire):
    url: str | None = None
    type: str | None = None


class WireContactCard(_Wire):
    name: WireCardName | None = None
    phones: list[WireCardPhone] = Field(default_factory=list)
    emails: list[WireCardEmail] = Field(default_factory=list)
    addresses: list[WireCardAddress] = Field(default_factory=list)
    org: WireCardOrg | None = None
    urls: list[WireCardUrl] = Field(default_factory=list)
    birthday: str | None = None


class WireSystem(_Wire):
    body: str | None = None
    type: str | None = None
    new_wa_id: str | None = None
    wa_id: str | None = None
    identity: str | None = None


class WireContext(_Wire):
    from_: str | None = Field(default=None, alias="from")
    id: str | None = None


class WireStatusError(_Wire):
    code: int | str
    title: str | None = None
    message: str | None = None
    error_data: dict[str, Any] | None = None


class WireInbound(_Wire):
    from_: str = Field(alias="from")
    id: str
    timestamp: str
    type: str
    text: WireText | None = None
    button: WireButton | None = None
    interactive: WireInteractive | None = None
    image: WireMedia | None = None
    audio: WireMedia | None = None
    video: WireMedia | None = None
    document: WireMedia | None = None
    sticker: WireMedia | None = None
    location: WireLocation | None = None
    contacts: list[WireContactCard] = Field(default_factory=list)
    reaction: WireReaction | None = None
    system: WireSystem | None = None
    errors: list[WireStatusError] = Field(default_factory=list)
    referral: WireReferral | None = None
    context: WireContext | None = None


class WirePricing(_Wire):
    billable: bool | None = None
    pricing_model: str | None = None
    category: str | None = None
    type: str | None = None


class WireStatus(_Wire):
    id: str
    status: str
    timestamp: str
    recipient_id: str | None = None
    conversation: dict[str, Any] | None = None
    pricing: WirePricing | None = None
    errors: list[WireStatusError] = Field(default_factory=list)
    biz_opaque_callback_data: str | None = None


class WireChange(_Wire):
    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class WireEntry(_Wire):
    id: str | None = None
    changes: list[WireChange] = Field(default_factory=list)


class WireWebhook(_Wire):
    object: str
    entry: list[WireEntry] = Field(default_factory=list)
