"""Canned Google Calendar API answers for googleapiclient's HttpMockSequence (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

REASONS = {200: "OK", 204: "No Content", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           409: "Conflict", 410: "Gone", 429: "Too Many Requests", 400: "Bad Request",
           503: "Service Unavailable"}  # fmt: skip
BOUNDARY = "batch_agentcal_test"


def ok(body: dict[str, Any]) -> tuple[dict[str, str], str]:
    return {"status": "200", "content-type": "application/json"}, json.dumps(body)


def error(status: int, reason: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    body = {
        "error": {"code": status, "message": f"{reason} (canned)", "errors": [{"reason": reason}]}
    }
    return {
        "status": str(status),
        "content-type": "application/json",
        **(headers or {}),
    }, json.dumps(body)


def empty(status: int = 204) -> tuple[dict[str, str], str]:
    return {"status": str(status), "content-length": "0"}, ""


def batch(*parts: tuple[str, tuple[dict[str, str], str]]) -> tuple[dict[str, str], str]:
    """A multipart/mixed batch answer: parts are (request id, single answer). CRLF throughout."""
    lines: list[str] = []
    for key, (headers, body) in parts:
        status = int(headers["status"])
        lines += [
            f"--{BOUNDARY}",
            "Content-Type: application/http",
            f"Content-ID: <response-agentcal + {key}>",
            "",
            f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items() if k != "status"]
        lines += ["", body]
    lines.append(f"--{BOUNDARY}--")
    return {
        "status": "200",
        "content-type": f"multipart/mixed; boundary={BOUNDARY}",
    }, "\r\n".join(lines)


def token_json(token: str = "tok-1", expires_in: timedelta = timedelta(hours=1)) -> str:
    expiry = (datetime.now(UTC) + expires_in).replace(tzinfo=None, microsecond=0)
    return json.dumps(
        {
            "token": token,
            "refresh_token": "refresh-1",
            "client_id": "client-1.apps.googleusercontent.com",
            "client_secret": "not-a-real-secret",
            "token_uri": "https://oauth2.googleapis.com/token",
            "scopes": ["https://www.googleapis.com/auth/calendar.events"],
            "expiry": expiry.isoformat() + "Z",
        }
    )


def batch_calls(body: str) -> list[dict[str, Any]]:
    """The calls inside a batch request the client sent: id, method, path, JSON body."""
    text = body.replace("\r\n", "\n")
    boundary = text.lstrip().split("\n", 1)[0].strip()
    calls = []
    for chunk in text.split(boundary)[1:]:
        if chunk.startswith("--"):
            break
        part_headers, http_request = chunk.strip("\n").split("\n\n", 1)
        content_id = next(
            line.split(":", 1)[1].strip()
            for line in part_headers.splitlines()
            if line.lower().startswith("content-id")
        )
        head, _, payload = http_request.partition("\n\n")
        method, path, _ = head.splitlines()[0].split(" ", 2)
        payload = payload.strip()
        calls.append(
            {
                "id": content_id[1:-1].split(" + ", 1)[1],
                "method": method,
                "path": path,
                "body": json.loads(payload) if payload else None,
            }
        )
    return calls
