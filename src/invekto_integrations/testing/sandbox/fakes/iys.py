"""A fake İYS API built from the documented wire format (see the İYS fact sheet).

- ``POST /oauth2/token``: password or refresh_token grant, form-encoded or JSON; an hourly limit
  per API user answers ``{"code":"H084",...}``; tokens expire by the sandbox clock.
- ``/sps/{iysCode}/brands/{brandCode}/consents[...]`` with ``Authorization: Bearer``; a missing or
  expired token is a 401 with H351. Consent records live per (iysCode, brandCode).
- Validation: recipient ``+90`` and ten digits (by format, as İYS does; its own examples use ranges
  libphonenumber calls unallocated), enums, optional ``retailerCode`` / ``retailerAccess`` (a list),
  ``consentDate`` ``YYYY-MM-DD HH:mm:ss`` (Turkey
  time), not in the future and not older than 3 business days; the first record of a recipient
  cannot be RET (H175). Errors use ``{"message","status","errors":[{index,location,value,code,message}]}``.
- Batches are answered ``enqueue`` on the first poll and with per-item results after.
- The change feed returns ``{"after": <cursor>, "list": [...]}``; `citizen_change` records a change a
  citizen made on İYS (source IYS), e.g. a RET through the portal.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.testing.sandbox import FakeProvider

__all__ = ["IysFake"]

_TR = ZoneInfo("Europe/Istanbul")
_FMT = "%Y-%m-%d %H:%M:%S"
_PHONE = re.compile(r"\+90[0-9]{10}")
_TYPES = ("MESAJ", "ARAMA", "EPOSTA")
_RTYPES = ("BIREYSEL", "TACIR")
_SOURCES = ("HS_FIZIKSEL_ORTAM", "HS_ISLAK_IMZA", "HS_WEB", "HS_CAGRI_MERKEZI", "HS_SOSYAL_MEDYA", "HS_EPOSTA",
            "HS_MESAJ", "HS_MOBIL", "HS_EORTAM", "HS_ETKINLIK", "HS_2015", "HS_ATM", "HS_KARAR")


def _token_form(request: Request, raw: bytes) -> dict[str, str]:
    """The token request's fields, form-encoded or JSON (clients send either)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            return {k: str(v) for k, v in json.loads(raw).items()}
        except (ValueError, AttributeError):
            return {}
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}


def _business_days_between(start: datetime, end: datetime) -> int:
    days = 0
    day = start.date()
    while day < end.date():
        day += timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


class IysFake(FakeProvider):
    name: ClassVar[str] = "iys"
    # ~100 requests/minute (query-one; unverified), bursts of 10 as the connector assumes.
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit(100, 60.0, burst=10)

    def __init__(self, *, users: dict[str, tuple[str, str]] | None = None,
                 brands: dict[str, list[str]] | None = None, token_limit_per_hour: int = 50,
                 token_ttl: int = 7200, refresh_ttl: int = 14400, faults_on_token_endpoint: bool = True,
                 **kw: Any) -> None:
        super().__init__(**kw)
        # Fault injection reaches POST /oauth2/token too unless switched off (the conformance contract
        # does: its probes are the API calls, the token exchange is set-up).
        self.faults_on_token_endpoint = faults_on_token_endpoint
        # API user -> (password, iysCode)
        self.users = users or {"iys-api-a": ("iys-pass-a", "700001"), "iys-api-b": ("iys-pass-b", "700002")}
        self.brands = brands or {code: [code] for _, code in self.users.values()}
        self.token_limit_per_hour = token_limit_per_hour
        self.token_ttl = token_ttl
        self.refresh_ttl = refresh_ttl
        self._init_state()

    def _init_state(self) -> None:
        self.access: dict[str, tuple[str, datetime]] = {}  # token -> (iysCode, expires)
        self.refresh: dict[str, tuple[str, str, datetime]] = {}  # token -> (user, iysCode, expires)
        self.token_log: dict[str, list[datetime]] = {}
        # (iysCode, brand) -> {(type, recipient): record}
        self.consents: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        self.changes: dict[tuple[str, str], list[tuple[int, str, dict[str, Any]]]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._seq = 0

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._init_state()

    # -- test controls --------------------------------------------------------------------------
    def now_tr(self) -> datetime:
        return self.clock.now().astimezone(_TR)

    def seed_consent(self, iys_code: str, brand: str, recipient: str, status: str = "ONAY", *,
                     type: str = "MESAJ", recipient_type: str = "BIREYSEL", source: str = "HS_WEB") -> dict[str, Any]:
        """Put a record in place as if registered earlier (no validation, source HS)."""
        now = self.now_tr().strftime(_FMT)
        record = {"recipient": recipient, "type": type, "source": source, "status": status, "consentDate": now,
                  "recipientType": recipient_type}
        return self._store(iys_code, brand, record, "HS")

    def citizen_change(self, iys_code: str, brand: str, recipient: str, status: str = "RET", *,
                       type: str = "MESAJ", recipient_type: str = "BIREYSEL") -> dict[str, Any]:
        """A citizen changes their consent on İYS (portal, app, 3223): appears with source=IYS."""
        now = self.now_tr().strftime(_FMT)
        record = {"recipient": recipient, "type": type, "source": "IYS", "status": status, "consentDate": now,
                  "recipientType": recipient_type}
        return self._store(iys_code, brand, record, "IYS")

    def inject_raw_change(self, iys_code: str, brand: str, element: dict[str, Any], *, origin: str = "IYS") -> None:
        """Append an element to the change feed exactly as given (e.g. a malformed one), unvalidated."""
        with self._lock:
            self._seq += 1
            self.changes.setdefault((iys_code, brand), []).append((self._seq, origin, dict(element)))

    def record(self, iys_code: str, brand: str, recipient: str, type: str = "MESAJ") -> dict[str, Any] | None:
        return self.consents.get((iys_code, brand), {}).get((type, recipient))

    # -- framework hooks ------------------------------------------------------------------------
    def authenticate_body(self, request: Request, body: bytes) -> str | Response:
        """A password grant with a wrong password is the token endpoint's auth failure (recorded
        ``auth_failed``, like any refused credentials)."""
        if request.url.path.endswith("/oauth2/token"):
            form = _token_form(request, body)
            if form.get("grant_type") == "password" and (
                    form.get("username") not in self.users
                    or self.users[form.get("username", "")][0] != form.get("password")):
                return JSONResponse({"code": "H002", "message": "Kullanıcı adı veya şifre hatalı."}, status_code=401)
        return self.authenticate(request)

    def _decide_outcome(self, account: str) -> str:
        if account == "token-endpoint" and not self.faults_on_token_endpoint:
            return "ok"
        return super()._decide_outcome(account)

    def authenticate(self, request: Request) -> str | Response:
        if request.url.path.endswith("/oauth2/token"):
            return "token-endpoint"
        header = request.headers.get("authorization", "")
        found = self.access.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        if found is None or found[1] <= self.clock.now():
            return self._errors(401, "H351", "Eksik veya geçersiz jeton!")
        return found[0]

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else {}
        return self._errors(429, "H124", "Saniyelik istek limiti aşıldı.", headers=headers)

    def server_error_response(self, status: int) -> Response:
        return self._errors(status, "H103", "Arama işlemi sırasında bir hata oluştu.")

    def routes(self) -> list[BaseRoute]:
        base = "/sps/{iys}/brands/{brand}/consents"
        return [
            Route("/oauth2/token", self._token, methods=["POST"]),
            Route(base, self._add, methods=["POST"]),
            Route(base + "/request", self._batch, methods=["POST"]),
            Route(base + "/request/{rid}", self._batch_status, methods=["GET"]),
            Route(base + "/status", self._query, methods=["POST"]),
            Route(base + "/changes", self._changes, methods=["GET"]),
            Route(base + "/{rtype}/status/{type}", self._query_many, methods=["POST"]),
        ]

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _errors(status: int, code: str, message: str, *, index: int | None = None,
                location: list[str] | None = None, value: Any = None,
                headers: dict[str, str] | None = None) -> Response:
        err: dict[str, Any] = {"code": code, "message": message}
        if index is not None:
            err["index"] = index
        if location is not None:
            err["location"] = location
        if value is not None:
            err["value"] = value
        return JSONResponse({"message": message, "status": status, "errors": [err]}, status_code=status,
                            headers=headers)

    def _store(self, iys: str, brand: str, record: dict[str, Any], origin: str) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            stored = dict(record)
            stored["creationDate"] = self.now_tr().strftime(_FMT)
            stored["transactionId"] = secrets.token_hex(16)
            stored["retailerAccessCount"] = len(record.get("retailerAccess") or [])
            self.consents.setdefault((iys, brand), {})[(record["type"], record["recipient"])] = stored
            self.changes.setdefault((iys, brand), []).append((self._seq, origin, stored))
            return stored

    def _brand_ok(self, request: Request) -> tuple[str, str] | Response:
        iys = request.path_params["iys"]
        brand = request.path_params["brand"]
        if iys != self.account_of(request) or brand not in self.brands.get(iys, []):
            return self._errors(403, "H001", "Bu marka için yetkiniz bulunmamaktadır.")
        return iys, brand

    def _validate(self, iys: str, brand: str, c: Any, index: int, prefix: str) -> Response | None:
        if not isinstance(c, dict):
            return self._errors(422, "H174", "Geçersiz izin kaydı.", index=index, location=[prefix, str(index)])

        def bad(name: str, msg: str) -> Response:
            return self._errors(422, "H174", msg, index=index, location=[prefix, str(index), name],
                                value=c.get(name))

        if c.get("type") not in _TYPES:
            return bad("type", "type MESAJ, ARAMA veya EPOSTA olmalıdır.")
        if c.get("recipientType", "BIREYSEL") not in _RTYPES:
            return bad("recipientType", "recipientType BIREYSEL veya TACIR olmalıdır.")
        if c.get("status") not in ("ONAY", "RET"):
            return bad("status", "status ONAY veya RET olmalıdır.")
        if c.get("source") not in _SOURCES:
            return bad("source", "Geçersiz kaynak (source).")
        recipient = str(c.get("recipient", ""))
        if c["type"] != "EPOSTA" and not _PHONE.fullmatch(recipient):  # by format: +90 and ten digits
            return bad("recipient", "recipient +90XXXXXXXXXX biçiminde olmalıdır.")
        if c.get("retailerCode") is not None and not isinstance(c["retailerCode"], str):
            return bad("retailerCode", "retailerCode metin olmalıdır.")
        access = c.get("retailerAccess")
        if access is not None and not (isinstance(access, list) and all(isinstance(x, str) for x in access)):
            return bad("retailerAccess", "retailerAccess bayi kodlarından oluşan bir liste olmalıdır.")
        try:
            when = datetime.strptime(str(c.get("consentDate")), _FMT).replace(tzinfo=_TR)
        except ValueError:
            return bad("consentDate", "consentDate YYYY-MM-DD HH:mm:ss biçiminde olmalıdır.")
        now = self.now_tr()
        if when > now:
            return bad("consentDate", "consentDate gelecek bir tarih olamaz.")
        if _business_days_between(when, now) > 3:
            return bad("consentDate", "consentDate 3 iş gününden eski olamaz.")
        if c["status"] == "RET" and self.record(iys, brand, recipient, c["type"]) is None:
            return self._errors(422, "H175", "İlk izin kayıt işlemlerinde RET durum (status) bilgisi içeren "
                                "izinler kaydedilmez.", index=index, location=[prefix, str(index), "status"],
                                value="RET")
        return None

    # -- routes ---------------------------------------------------------------------------------
    async def _token(self, request: Request) -> Response:
        form = _token_form(request, await request.body())
        grant = form.get("grant_type")
        now = self.clock.now()
        if grant == "password":
            user = form.get("username", "")
            if self.users.get(user, ("", ""))[0] != form.get("password") or user not in self.users:
                return JSONResponse({"code": "H002", "message": "Kullanıcı adı veya şifre hatalı."}, status_code=401)
            code = self.users[user][1]
        elif grant == "refresh_token":
            found = self.refresh.pop(form.get("refresh_token", ""), None)
            if found is None or found[2] <= now:
                return JSONResponse({"code": "H351", "message": "Eksik veya geçersiz jeton!"}, status_code=401)
            user, code = found[0], found[1]
        else:
            return JSONResponse({"code": "H003", "message": "Geçersiz grant_type."}, status_code=400)
        with self._lock:
            log = [t for t in self.token_log.get(user, []) if now - t < timedelta(hours=1)]
            if len(log) >= self.token_limit_per_hour:
                return JSONResponse({"code": "H084", "message": "Saatlik kimlik doğrulama istek limitine "
                                     "ulaşıldı."}, status_code=429)
            log.append(now)
            self.token_log[user] = log
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self.access[access] = (code, now + timedelta(seconds=self.token_ttl))
            self.refresh[refresh] = (user, code, now + timedelta(seconds=self.refresh_ttl))
        return JSONResponse({"access_token": access, "refresh_token": refresh, "expires_in": self.token_ttl,
                             "refresh_expires_in": self.refresh_ttl, "token_type": "bearer"})

    async def _add(self, request: Request) -> Response:
        ok = self._brand_ok(request)
        if isinstance(ok, Response):
            return ok
        body = json.loads(await request.body() or b"null")
        problem = self._validate(*ok, body, 0, "consents")
        if problem is not None:
            return problem
        stored = self._store(*ok, {k: body[k] for k in ("recipient", "type", "source", "status", "consentDate")}
                             | {"recipientType": body.get("recipientType", "BIREYSEL")}
                             | {k: body[k] for k in ("retailerCode", "retailerAccess") if body.get(k) is not None},
                             "HS")
        return JSONResponse({"transactionId": stored["transactionId"], "creationDate": stored["creationDate"]})

    async def _batch(self, request: Request) -> Response:
        ok = self._brand_ok(request)
        if isinstance(ok, Response):
            return ok
        body = json.loads(await request.body() or b"null")
        if not isinstance(body, list) or not 0 < len(body) <= 1000:
            return self._errors(422, "H174", "Bir istekte 1-1000 izin gönderilebilir.")
        rid = secrets.token_hex(16)
        results = []
        subs = []
        for i, c in enumerate(body):
            sub = secrets.token_hex(8)
            problem = self._validate(*ok, c, i, "consents")
            if problem is not None:
                err = json.loads(bytes(problem.body))["errors"][0]
                results.append({"subRequestId": sub, "index": i, "status": "failure",
                                "error": {"code": err["code"], "message": err["message"]}})
            else:
                stored = self._store(*ok, {k: c[k] for k in ("recipient", "type", "source", "status", "consentDate")}
                                     | {"recipientType": c.get("recipientType", "BIREYSEL")}
                                     | {k: c[k] for k in ("retailerCode", "retailerAccess") if c.get(k) is not None},
                                     "HS")
                results.append({"subRequestId": sub, "index": i, "status": "success",
                                "transactionId": stored["transactionId"], "creationDate": stored["creationDate"]})
            subs.append({**(c if isinstance(c, dict) else {}), "subRequestId": sub,
                         "creationDate": self.now_tr().strftime(_FMT)})
        self.batches[rid] = {"iys": ok, "results": results, "polls": 0}
        return JSONResponse({"requestId": rid, "subRequests": subs})

    async def _batch_status(self, request: Request) -> Response:
        ok = self._brand_ok(request)
        if isinstance(ok, Response):
            return ok
        batch = self.batches.get(request.path_params["rid"])
        if batch is None or batch["iys"] != ok:
            return self._errors(404, "H168", "İstek bulunamadı.")
        batch["polls"] += 1
        if batch["polls"] == 1:
            return JSONResponse([{"subRequestId": r["subRequestId"], "index": r["index"], "status": "enqueue"}
                                 for r in batch["results"]])
        return JSONResponse(batch["results"])

    async def _query(self, request: Request) -> Response:
        ok = self._brand_ok(request)
        if isinstance(ok, Response):
            return ok
        body = json.loads(await request.body() or b"{}")
        found = self.record(*ok, str(body.get("recipient")), str(body.get("type")))
        if found is None or found.get("recipientType") != body.get("recipientType", "BIREYSEL"):
            return self._errors(404, "H168", "Alıcı için izin kaydı bulunamadı.")
        return JSONResponse(found)

    async def _query_many(self, request: Request) -> Response:
        ok = self._brand_ok(request)
        if isinstance(ok, Response):
            return ok
        body = json.loads(await request.body() or b"{}")
        recipients = body.get("recipients") if isinstance(body, dict) else None
        if not isinstance(recipients, list) or len(recipients) > 1000:
            return self._errors(422, "H168", "Alıcı listesi bulunamadı.")
        rows = []
        for r in recipients:
            found = self.record(*ok, str(r), request.path_params["type"])
            if found is not None and found.get("recipientType") == request.path_params["rtype"]:
                rows.append(found)
        return JSONResponse({"list": rows})

    async def _changes(self, request: Request) -> Response:
        ok = self._brand_ok(request)
        if isinstance(ok, Response):
            return ok
        source = request.query_params.get("source", "IYS")
        after = request.query_params.get("after")
        try:
            limit = max(1, min(int(request.query_params.get("limit", 100)), 1000))
            start = int(after.split("_", 1)[1], 16) if after else 0
        except (ValueError, IndexError):
            return self._errors(422, "H174", "Geçersiz after değeri.", value=after)
        rows = [(seq, rec) for seq, origin, rec in self.changes.get(ok, []) if origin == source and seq > start]
        page = rows[:limit]
        cursor = f"{int(self.clock.now().timestamp())}_{page[-1][0]:x}" if page else after
        out = [{**rec, "status": "BOZUK"} if self.maybe_malformed() else rec for _, rec in page]
        return JSONResponse({"after": cursor, "list": out})
