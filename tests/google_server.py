"""A stateful fake of the Google Calendar API v3 on 127.0.0.1, for the tests and the benchmark.

googleapiclient talks to it over real HTTP (`AGENTCAL_GOOGLE_API_ENDPOINT=fake.url`). It keeps
the events of each calendar and answers as Google does, so a body Google would refuse is refused
here too:

* event ids must match `[a-v0-9]{5,1024}`; inserting an id that exists (even deleted) is 409
  `duplicate`; deleting a deleted event is 410 `deleted`; an unknown id is 404 `notFound`;
* `start`/`end` need a `date` or a `dateTime`; a `dateTime` without a UTC offset needs an IANA
  `timeZone`; an end that is not after the start is 400 `timeRangeEmpty`;
* `events.patch` merges objects and replaces arrays (a `""` clears a field), as Google does;
* times come back in the calendar's own zone (its offset), with the event's `timeZone` kept;
* the batch endpoint (`/batch/calendar/v3`, at most 1000 calls) answers each part on its own.

Tests can inject failures (`fail(...)`: 429 with Retry-After, 403 rateLimitExceeded or
quotaExceeded, 5xx, 401; per call or per HTTP request, a number of times or until `recover()`),
delay every request (`latency`), and act as the user in Google Calendar (`user_edit`,
`user_move`, `user_delete`, `user_event`). `http_requests` counts the HTTP requests received.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$", re.IGNORECASE
)
REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 409: "Conflict", 410: "Gone",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}  # fmt: skip
EVENT_PATH = re.compile(r"^/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?$")
BATCH_PATH = "/batch/calendar/v3"
TOKEN_PATH = "/token"
TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/calendar.events"


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.headers = status, reason, message, headers

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"domain": "global", "reason": self.reason, "message": self.message}],
            }
        }


@dataclass
class Fault:
    status: int
    reason: str
    times: int | None  # None: until recover()
    retry_after: str | None = None
    scope: str = (
        "call"  # "call": one API call (also inside a batch); "request": a whole HTTP request
    )
    when: Callable[[Call], bool] | None = None


@dataclass
class Call:
    """One API call the fake received (a single request or one part of a batch)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    in_batch: bool
    status: int = 0

    @property
    def event_id(self) -> str | None:
        m = EVENT_PATH.match(self.path)
        return unquote(m.group(2)) if m and m.group(2) else None


@dataclass
class Stored:
    resource: dict[str, Any]  # everything but start/end, as Google keeps it
    start: tuple[datetime | date, str | None]  # instant (UTC) or all-day date, event's zone
    end: tuple[datetime | date, str | None]


def token_json(token: str = "tok-1", expires_in: timedelta = timedelta(hours=1)) -> str:
    """A saved sign-in as google-auth writes it (access + refresh token)."""
    expiry = (datetime.now(UTC) + expires_in).replace(tzinfo=None, microsecond=0)
    return json.dumps(
        {
            "token": token,
            "refresh_token": "refresh-1",
            "client_id": "client-1.apps.googleusercontent.com",
            "client_secret": "not-a-real-secret",
            "token_uri": TOKEN_URI,
            "scopes": [SCOPE],
            "expiry": expiry.isoformat() + "Z",
        }
    )


def _parse_time(value: Any, field_name: str) -> tuple[datetime | date, str | None]:
    """A Google EventDateTime -> (UTC instant or date, IANA zone or None), or a 400."""
    label = "start" if field_name == "start" else "end"
    if not isinstance(value, dict):
        raise ApiError(400, "required", f"Missing {label} time.")
    zone = value.get("timeZone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ApiError(
                400, "invalid", f"Invalid time zone definition for {label} time."
            ) from None
    if value.get("dateTime"):
        m = RFC3339.match(str(value["dateTime"]))
        if m is None:
            raise ApiError(
                400, "invalid", f"Invalid value for: Invalid format: {value['dateTime']}"
            )
        naive = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}")
        if m.group(4):
            offset = m.group(4).upper().replace("Z", "+00:00")
            return datetime.fromisoformat(naive.isoformat() + offset).astimezone(UTC), zone
        if zone is None:
            raise ApiError(400, "required", f"Missing time zone definition for {label} time.")
        return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), zone
    if value.get("date"):
        try:
            return date.fromisoformat(str(value["date"])), zone
        except ValueError:
            raise ApiError(400, "invalid", f"Invalid value for: {value['date']}") from None
    raise ApiError(400, "required", f"Missing {label} time.")


def _check_fields(body: dict[str, Any]) -> None:
    for name in ("summary", "description", "location", "colorId", "status", "transparency"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise ApiError(400, "invalid", f"Invalid value for: {name}")
    props = body.get("extendedProperties")
    if props is not None:
        if not isinstance(props, dict):
            raise ApiError(400, "invalid", "Invalid value for: extendedProperties")
        for kind, values in props.items():
            if kind not in ("private", "shared") or not isinstance(values, dict):
                raise ApiError(400, "invalid", f"Invalid value for: extendedProperties.{kind}")
            for k, v in values.items():
                if not isinstance(v, str) or len(k) > 44 or len(v) > 1024:
                    raise ApiError(400, "invalid", "Invalid extended property value.")
    if "attendees" in body and not isinstance(body["attendees"], list):
        raise ApiError(400, "invalid", "Invalid value for: attendees")
    reminders = body.get("reminders")
    if reminders is not None and not isinstance(reminders, dict):
        raise ApiError(400, "invalid", "Invalid value for: reminders")


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Google's patch semantics: objects merge key by key, anything else (arrays too) replaces."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = copy.deepcopy(value)


class FakeGoogleCalendar:
    """`with FakeGoogleCalendar(zone=...) as fake:`; point AGENTCAL_GOOGLE_API_ENDPOINT at fake.url."""

    def __init__(
        self, zone: str = "America/New_York", tokens: tuple[str, ...] = ("tok-1",)
    ) -> None:
        self.zone = zone  # the calendar's own time zone: answers use its offsets
        self.calendars: dict[str, dict[str, Stored]] = {}
        self.tokens = set(tokens)
        self.refresh_tokens = {"refresh-1"}
        self.codes = {"good-code"}  # authorization codes the installed-app flow may exchange
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.http_requests = 0
        self.latency = 0.0  # seconds each HTTP request waits (an emulated round trip)
        self.max_page = 2500  # events.list answers at most this many items per page
        self._lock = threading.RLock()
        self._seq = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def start(self) -> FakeGoogleCalendar:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeGoogleCalendar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults -------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        reason: str = "",
        *,
        times: int | None = 1,
        retry_after: str | None = None,
        scope: str = "call",
        when: Callable[[Call], bool] | None = None,
    ) -> None:
        """Answer the next `times` calls (None: all, until recover()) with this error."""
        reason = reason or {401: "authError", 429: "rateLimitExceeded"}.get(status, "backendError")
        with self._lock:
            self.faults.append(Fault(status, reason, times, retry_after, scope, when))

    def recover(self) -> None:
        with self._lock:
            self.faults.clear()

    def _fault(self, scope: str, call: Call | None) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.scope != scope or (f.when is not None and (call is None or not f.when(call))):
                    continue
                if f.times is not None:
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                return f
        return None

    # -- the user, in the Google Calendar app ---------------------------------------------------

    def events(self, calendar: str = "primary", *, deleted: bool = False) -> list[dict[str, Any]]:
        """The calendar's events as events.get would return them (deleted ones on request)."""
        with self._lock:
            return [
                self._render(s, self.zone)
                for s in self.calendars.get(calendar, {}).values()
                if deleted or s.resource.get("status") != "cancelled"
            ]

    def event(self, event_id: str, calendar: str = "primary") -> dict[str, Any]:
        with self._lock:
            return self._render(self.calendars[calendar][event_id], self.zone)

    def user_edit(self, event_id: str, calendar: str = "primary", **fields: Any) -> None:
        """Change fields as the user would in the app (patch semantics)."""
        with self._lock:
            stored = self.calendars[calendar][event_id]
            self._apply_patch(stored, fields)

    def user_move(self, event_id: str, by: timedelta, calendar: str = "primary") -> None:
        with self._lock:
            stored = self.calendars[calendar][event_id]
            (a, za), (b, zb) = stored.start, stored.end
            assert isinstance(a, datetime) and isinstance(b, datetime)
            stored.start, stored.end = (a + by, za), (b + by, zb)
            self._touch(stored, sequence=True)

    def user_delete(self, event_id: str, calendar: str = "primary") -> None:
        with self._lock:
            stored = self.calendars[calendar][event_id]
            stored.resource["status"] = "cancelled"
            self._touch(stored)

    def user_event(self, calendar: str = "primary", **body: Any) -> dict[str, Any]:
        """An event the user created themselves (for busy time)."""
        with self._lock:
            return self._insert(calendar, body)

    # -- the API --------------------------------------------------------------------------------

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _touch(self, stored: Stored, *, sequence: bool = False) -> None:
        n = self._next()
        stored.resource["etag"] = f'"{n}"'
        stored.resource["updated"] = datetime.now(UTC).isoformat(timespec="milliseconds")
        if sequence:
            stored.resource["sequence"] = int(stored.resource.get("sequence", 0)) + 1

    def _render(self, stored: Stored, view_zone: str) -> dict[str, Any]:
        out = copy.deepcopy(stored.resource)
        for name, (value, zone) in (("start", stored.start), ("end", stored.end)):
            if isinstance(value, datetime):
                when: dict[str, Any] = {
                    "dateTime": value.astimezone(ZoneInfo(view_zone)).isoformat()
                }
            else:
                when = {"date": value.isoformat()}
            if zone:
                when["timeZone"] = zone
            out[name] = when
        return out

    @staticmethod
    def _check_range(start: tuple[Any, Any], end: tuple[Any, Any]) -> None:
        a, b = start[0], end[0]
        if isinstance(a, datetime) != isinstance(b, datetime):
            raise ApiError(
                400, "invalid", "Start and end times must either both be date or both be dateTime."
            )
        if b <= a:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")

    def _insert(self, calendar: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "parseError", "Parse Error")
        events = self.calendars.setdefault(calendar, {})
        event_id = body.get("id")
        if event_id is None:
            event_id = "".join(
                secrets.choice("abcdefghijklmnopqrstuv0123456789") for _ in range(26)
            )
        if not isinstance(event_id, str) or not ID_RE.match(event_id):
            raise ApiError(400, "invalid", "Invalid resource id value.")
        if event_id in events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        _check_fields(body)
        start = _parse_time(body.get("start"), "start")
        end = _parse_time(body.get("end"), "end")
        self._check_range(start, end)
        resource = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("start", "end")}
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        resource.update(
            kind="calendar#event",
            id=event_id,
            status=body.get("status") or "confirmed",
            created=now,
            iCalUID=f"{event_id}@google.com",
            sequence=0,
            htmlLink=f"https://www.google.com/calendar/event?eid={event_id}",
        )
        resource.setdefault("reminders", {"useDefault": True})
        stored = Stored(resource, start, end)
        self._touch(stored)
        events[event_id] = stored
        return self._render(stored, self.zone)

    def _apply_patch(self, stored: Stored, body: dict[str, Any]) -> None:
        _check_fields(body)
        merged = self._render(stored, "UTC")
        _merge(merged, {k: v for k, v in body.items() if k not in ("id", "etag", "kind")})
        start = _parse_time(merged.get("start"), "start")
        end = _parse_time(merged.get("end"), "end")
        self._check_range(start, end)
        moved = (start, end) != (stored.start, stored.end)
        stored.resource = {k: v for k, v in merged.items() if k not in ("start", "end")}
        stored.start, stored.end = start, end
        self._touch(stored, sequence=moved)

    def _stored(self, calendar: str, event_id: str) -> Stored:
        stored = self.calendars.get(calendar, {}).get(event_id)
        if stored is None:
            raise ApiError(404, "notFound", "Not Found")
        return stored

    def _list(self, calendar: str, query: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str | None:
            return query[name][0] if name in query else None

        bounds = {}
        for name in ("timeMin", "timeMax"):
            value = one(name)
            if value is not None:
                m = RFC3339.match(value)
                if m is None or not m.group(4):
                    raise ApiError(400, "badRequest", f"Bad Request: {name} needs an offset")
                bounds[name] = _parse_time({"dateTime": value}, "start")[0]
        if one("orderBy") == "startTime" and one("singleEvents") != "true":
            raise ApiError(400, "badRequest", "orderBy=startTime needs singleEvents=true")
        wanted = [p.split("=", 1) for p in query.get("privateExtendedProperty", [])]
        show_deleted = one("showDeleted") == "true"
        view = one("timeZone") or self.zone
        rows = []
        for stored in self.calendars.get(calendar, {}).values():
            if stored.resource.get("status") == "cancelled" and not show_deleted:
                continue
            private = (stored.resource.get("extendedProperties") or {}).get("private") or {}
            if any(private.get(k) != v for k, v in wanted):
                continue
            a, b = (_instant(v, z or self.zone) for v, z in (stored.start, stored.end))
            if "timeMin" in bounds and b <= bounds["timeMin"]:
                continue
            if "timeMax" in bounds and a >= bounds["timeMax"]:
                continue
            rows.append((a, stored))
        rows.sort(key=lambda r: r[0])
        size = min(int(one("maxResults") or 250), 2500, self.max_page)
        offset = int(one("pageToken") or 0)
        page = rows[offset : offset + size]
        out: dict[str, Any] = {
            "kind": "calendar#events",
            "timeZone": self.zone,
            "items": [self._render(s, view) for _, s in page],
        }
        if offset + size < len(rows):
            out["nextPageToken"] = str(offset + size)
        return out

    def dispatch(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        """Run one API call: (status, JSON body or None, extra headers)."""
        try:
            fault = self._fault("call", call)
            if fault is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                raise ApiError(fault.status, fault.reason, f"{fault.reason} (injected)", **headers)
            token = call.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if token not in self.tokens:
                raise ApiError(401, "authError", "Invalid Credentials")
            m = EVENT_PATH.match(call.path)
            if m is None:
                raise ApiError(404, "notFound", f"no such API path {call.path}")
            calendar = unquote(m.group(1))
            event_id = unquote(m.group(2)) if m.group(2) else None
            with self._lock:
                return self._route(call, calendar, event_id)
        except ApiError as exc:
            return exc.status, exc.body(), exc.headers

    def _route(
        self, call: Call, calendar: str, event_id: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        view = call.query.get("timeZone", [self.zone])[0]
        if event_id is None:
            if call.method == "POST":
                return 200, self._insert(calendar, call.body), {}
            if call.method == "GET":
                return 200, self._list(calendar, call.query), {}
            raise ApiError(405, "methodNotAllowed", "Method Not Allowed")
        stored = self._stored(calendar, event_id)
        if call.method == "GET":
            return 200, self._render(stored, view), {}
        if call.method == "DELETE":
            if stored.resource.get("status") == "cancelled":
                raise ApiError(410, "deleted", "Resource has been deleted")
            stored.resource["status"] = "cancelled"
            self._touch(stored)
            return 204, None, {}
        if call.method in ("PATCH", "PUT"):
            if not isinstance(call.body, dict):
                raise ApiError(400, "parseError", "Parse Error")
            if call.method == "PUT":
                keep = {k: stored.resource[k] for k in ("kind", "id", "iCalUID", "created",
                        "htmlLink", "sequence", "etag", "updated") if k in stored.resource}  # fmt: skip
                stored.resource = {**keep, "status": call.body.get("status", "confirmed")}
            self._apply_patch(stored, call.body)
            return 200, self._render(stored, view), {}
        raise ApiError(405, "methodNotAllowed", "Method Not Allowed")

    def _token(self, form: dict[str, list[str]]) -> tuple[int, Any]:
        """The OAuth token endpoint: a refresh, or the code of the installed-app flow."""
        grant = form.get("grant_type", [""])[0]
        answer: dict[str, Any] = {"expires_in": 3599, "token_type": "Bearer", "scope": SCOPE}
        with self._lock:
            if grant == "refresh_token":
                if form.get("refresh_token", [""])[0] not in self.refresh_tokens:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "Token has been expired or revoked."}  # fmt: skip
            elif grant == "authorization_code" and form.get("code", [""])[0] in self.codes:
                refresh = f"refresh-{self._next()}"
                self.refresh_tokens.add(refresh)
                answer["refresh_token"] = refresh
            else:
                return 400, {"error": "invalid_grant"}
            token = f"tok-refreshed-{self._next()}"
            self.tokens.add(token)
        return 200, {"access_token": token, **answer}

    def transport(self, timeout: float = 10.0) -> Any:
        """An httplib2.Http that sends google-auth's token refreshes (always addressed to
        Google's fixed token URI) to this fake instead."""
        import httplib2

        local = self.url.rstrip("/") + TOKEN_PATH

        class Http(httplib2.Http):
            def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                return super().request(local if uri == TOKEN_URI else uri, *args, **kwargs)

        return Http(timeout=timeout)

    # -- HTTP -----------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status, REASONS.get(status))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
                body = b"" if data is None else json.dumps(data).encode()
                extra = {"Content-Type": "application/json; charset=UTF-8"} if body else {}
                self._reply(status, body, {**extra, **(headers or {})})

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.http_requests += 1
                if fake.latency:
                    time.sleep(fake.latency)
                parts = urlsplit(self.path)
                fault = fake._fault("request", None)
                if fault is not None:
                    err = ApiError(fault.status, fault.reason, f"{fault.reason} (injected)")
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    self._json(fault.status, err.body(), extra)
                    return
                if parts.path == TOKEN_PATH:
                    status, data = fake._token(parse_qs(raw.decode()))
                    self._json(status, data)
                    return
                if parts.path == BATCH_PATH and self.command == "POST":
                    self._batch(raw)
                    return
                call = fake._call(self.command, self.path, raw, dict(self.headers), False)
                status, data, extra = fake.dispatch(call)
                call.status = status
                self._json(status, data, extra)

            def _batch(self, raw: bytes) -> None:
                ctype = self.headers.get("Content-Type", "")
                try:
                    calls = fake._split_batch(ctype, raw, dict(self.headers))
                except ValueError as exc:
                    self._json(400, ApiError(400, "badRequest", str(exc)).body())
                    return
                if len(calls) > 1000:
                    err = ApiError(400, "badRequest", "too many calls in one batch (max 1000)")
                    self._json(400, err.body())
                    return
                boundary = f"batch_{secrets.token_hex(8)}"
                out: list[str] = []
                for content_id, call in calls:
                    status, data, extra = fake.dispatch(call)
                    call.status = status
                    body = "" if data is None else json.dumps(data)
                    lines = [
                        f"--{boundary}",
                        "Content-Type: application/http",
                        f"Content-ID: <response-{content_id}>",
                        "",
                        f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
                    ]
                    if body:
                        lines.append("Content-Type: application/json; charset=UTF-8")
                    lines += [f"{k}: {v}" for k, v in extra.items()]
                    lines += [f"Content-Length: {len(body.encode())}", "", body]
                    out.extend(lines)
                out.append(f"--{boundary}--")
                payload = "\r\n".join(out).encode()
                self._reply(200, payload, {"Content-Type": f"multipart/mixed; boundary={boundary}"})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler

    def _call(
        self, method: str, target: str, raw: bytes, headers: dict[str, str], in_batch: bool
    ) -> Call:
        parts = urlsplit(target)
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        call = Call(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query),
            body=body,
            headers={k.lower(): v for k, v in headers.items()},
            in_batch=in_batch,
        )
        with self._lock:
            self.calls.append(call)
        return call

    def _split_batch(self, ctype: str, raw: bytes, outer: dict[str, str]) -> list[tuple[str, Call]]:
        if not ctype.startswith("multipart/mixed"):
            raise ValueError("a batch must be multipart/mixed")
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + raw
        )
        out = []
        outer_auth = {k.lower(): v for k, v in outer.items()}.get("authorization", "")
        for part in message.iter_parts():
            content_id = str(part.get("Content-ID", "")).strip()
            if not (content_id.startswith("<") and content_id.endswith(">")):
                raise ValueError("each batch part needs a Content-ID")
            payload = part.get_payload(decode=True) or b""
            text = payload.decode("utf-8").replace("\r\n", "\n")
            head, _, body = text.partition("\n\n")
            request_line, *header_lines = head.split("\n")
            method, target, _ = request_line.split(" ", 2)
            headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
            if "authorization" not in {k.lower() for k in headers} and outer_auth:
                headers["Authorization"] = outer_auth
            call = self._call(method, target, body.encode(), headers, True)
            out.append((content_id[1:-1], call))
        return out

    # -- what tests read ----------------------------------------------------------------------

    def calls_since(self, mark: int) -> list[Call]:
        with self._lock:
            return self.calls[mark:]

    @contextmanager
    def counting(self) -> Iterator[dict[str, int]]:
        """`with fake.counting() as n:` -> n["requests"], n["calls"] made inside the block."""
        counts: dict[str, int] = {}
        r0, c0 = self.http_requests, len(self.calls)
        try:
            yield counts
        finally:
            counts["requests"] = self.http_requests - r0
            counts["calls"] = len(self.calls) - c0


def _instant(value: datetime | date, zone: str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)
