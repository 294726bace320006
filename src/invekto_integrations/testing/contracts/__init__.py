"""Conformance contracts of the built-in providers (Trendyol, Hepsiburada, Aras, Yurtiçi, Google
Calendar, WhatsApp Cloud, İYS).

Each provider's `ProviderInfo.contract` is a lazy factory that imports its contract from here
(so a provider never imports pytest), and `testing.conformance.registered_suites` runs the shared
suite over every one of them, exactly as for a third-party plugin.
"""

from __future__ import annotations

from .aras import ArasContract
from .hepsiburada import HepsiburadaContract
from .iys import IysContract
from .trendyol import TrendyolContract
from .whatsapp_cloud import WhatsAppCloudContract
from .yurtici import YurticiContract

__all__ = ["ArasContract", "HepsiburadaContract", "IysContract", "TrendyolContract", "WhatsAppCloudContract",
           "YurticiContract"]
