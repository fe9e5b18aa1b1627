"""Several Google accounts: one stateful fake Google Calendar (tests/google_server.py) per
account, chosen by the OAuth token a request carries, as Google itself routes a request to
the account its credentials belong to.

`AccountRouter` is an httplib2.Http that sends each request to the fake of its bearer token
(a token of no account goes to the first fake, which answers 401 as Google would). Installed
with `monkeypatch.setattr("httplib2.Http", router.http)`, it serves the backends the real
per-user factory builds, with the credentials read from each user's own token file: an event
sent with the wrong user's credentials lands in the wrong fake, where a test sees it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httplib2

from tests.google_server import FakeGoogleCalendar

_Http = httplib2.Http  # the real class, whatever a test later installs in its place


class AccountRouter:
    def __init__(self, accounts: dict[str, FakeGoogleCalendar]) -> None:
        self.accounts = accounts  # access token -> that account's fake Google Calendar
        self.tokens_seen: list[str | None] = []

    def http(self, *args: Any, **kwargs: Any) -> Any:
        router = self

        class Routed(_Http):  # type: ignore[misc,valid-type]
            def request(self, uri: str, method: str = "GET", body: Any = None,  # type: ignore[override]
                        headers: dict[str, str] | None = None, *a: Any, **kw: Any) -> Any:  # fmt: skip
                auth = {k.lower(): v for k, v in (headers or {}).items()}.get("authorization", "")
                token = auth.removeprefix("Bearer ").strip() or None
                router.tokens_seen.append(token)
                fake = router.accounts.get(token or "") or next(iter(router.accounts.values()))
                parts = urlsplit(uri)
                target = (
                    fake.url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
                )
                return super().request(target, method, body, headers, *a, **kw)

        return Routed(timeout=kwargs.get("timeout", 10))
