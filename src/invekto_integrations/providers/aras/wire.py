"""Aras Kargo's own payloads (GetQueryJSON results), field names exactly as sent.

The JSON arrives as text inside the SOAP result. Every value is a string; some query types use
Turkish keys with spaces (``KARGO TAKİP NO``), so keys are normalised (ASCII-folded, spaces to
underscores) before validation. ``Cargo`` / ``CargoTransaction`` may be one object or a list.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from invekto_integrations.core.text import fold

__all__ = ["ArasCargo", "ArasCargoTransaction", "as_rows", "normalise_keys"]



def normalise_keys(row: dict[str, Any]) -> dict[str, Any]:
    """``"KARGO TAKİP NO"`` → ``"KARGO_TAKIP_NO"``; values are kept."""
    return {fold(str(k)).upper().replace(" ", "_").replace("-", "_"): v for k, v in row.items()}


def as_rows(value: Any) -> list[dict[str, Any]]:
    """One object, a list of objects, or nothing → a list of normalised rows."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    rows = []
    for item in items:
        if not isinstance(item, dict):
            raise TypeError(f"expected an object, got {type(item).__name__}")
        rows.append(normalise_keys(item))
    return rows


class _ArasRow(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        # Documented as strings; a number (a JSON serializer change) is read as its text.
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{v!r} is not a value")  # NaN/Infinity: never the text "nan"
        if isinstance(v, int | float):
            return str(v)
        if isinstance(v, str):
            return v.strip() or None
        return v


class ArasCargo(_ArasRow):
    """QueryType 1 ``QueryResult.Cargo`` row."""

    MUSTERI_OZEL_KODU: str | None = None
    IRSALIYE_NUMARA: str | None = None
    GONDERICI: str | None = None
    ALICI: str | None = None
    KARGO_TAKIP_NO: str | None = None
    CIKIS_SUBE: str | None = None
    VARIS_SUBE: str | None = None
    CIKIS_TARIH: str | None = None
    TESLIM_ALAN: str | None = None
    TESLIM_TARIHI: str | None = None
    TESLIM_SAATI: str | None = None
    TIP_KODU: str | None = None
    DURUM_KODU: str | None = None
    DURUMU: str | None = None
    IADE_SEBEBI: str | None = None
    KARGO_LINK_NO: str | None = None
    DURUM_EN: str | None = None
    DEVIR_KODU: str | None = None
    ISLEM_TARIHI: str | None = None


class ArasCargoTransaction(_ArasRow):
    """QueryType 9 ``QueryResult.CargoTransaction`` row (one movement)."""

    ISLEM_TARIHI: str | None = None
    BIRIM: str | None = None
    ISLEM: str | None = None
    ACIKLAMA: str | None = None
