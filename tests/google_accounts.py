"""Several Google accounts behind one fake Calendar API, told apart by their OAuth token.

An httplib2-compatible transport (what `GoogleCalendar` sends through): it keeps each account's
calendars and events, so a test can check that an event reached its owner's account and no
other. A request signed with a token of no account is refused with 401, as Google would.
Installed with `monkeypatch.setattr("httplib2.Http", lambda *a, **k: accounts)`, it serves the
backends the real per-user factory builds, with the credentials read from each user's file.

(When the stateful Google Calendar fake server of issue 10 lands, the isolation tests can run
against two instances of it instead.)
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any
from urllib.parse import unquote, urlsplit

import httplib2

from tests.google_fakes import batch, batch_calls, empty, error, ok

_EVENTS = re.compile(r"/calendar/v3/calendars/([^/]+)/events(?:/([^/?]+))?$")


class GoogleAccounts:
    def __init__(self, *tokens: str) -> None:
        # token -> calendar id -> event id -> resource
        self.accounts: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
            t: defaultdict(dict) for t in tokens
        }
        self.requests: list[tuple[str | None, str, str]] = []  # (token, method, uri)

    def events(self, token: str, calendar_id: str = "primary") -> list[dict[str, Any]]:
        """The live events of one account's calendar."""
        cal = self.accounts[token].get(calendar_id, {})
        return [e for e in cal.values() if e.get("status") != "cancelled"]

    def request(  # the httplib2.Http signature
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        auth = {k.lower(): v for k, v in (headers or {}).items()}.get("authorization", "")
        token = auth.removeprefix("Bearer ") or None
        self.requests.append((token, method, uri))
        if isinstance(body, bytes):
            body = body.decode()
        path = urlsplit(uri).path
        if token not in self.accounts:
            head, content = error(401, "authError")
        elif path.endswith("/batch/calendar/v3"):
            answers = [
                (c["id"], self._call(token, c["method"], c["path"], c["body"]))
                for c in batch_calls(body)
            ]
            head, content = batch(*answers)
        else:
            query = urlsplit(uri).query
            payload = json.loads(body) if body else None
            head, content = self._call(token, method, f"{path}?{query}", payload)
        return httplib2.Response(head), content.encode()

    def _call(self, token: str, method: str, target: str, body: Any) -> tuple[dict[str, str], str]:
        parts = urlsplit(target)
        match = _EVENTS.search(parts.path)
        if match is None:
            return error(404, "notFound")
        cal = self.accounts[token][unquote(match[1])]
        event_id = unquote(match[2]) if match[2] else None
        if method == "POST":
            if body["id"] in cal:
                return error(409, "duplicate")
            cal[body["id"]] = {"kind": "calendar#event", "status": "confirmed", **body}
            return ok(cal[body["id"]])
        if method == "GET" and event_id is None:  # events.list: the whole calendar, one page
            return ok({"kind": "calendar#events", "items": list(cal.values())})
        if event_id not in cal:
            return error(404, "notFound")
        if method == "GET":
            return ok(cal[event_id])
        if method == "PATCH":
            cal[event_id].update(body)
            return ok(cal[event_id])
        if method == "DELETE":
            cal[event_id]["status"] = "cancelled"
            return empty()
        return error(400, "badRequest")
