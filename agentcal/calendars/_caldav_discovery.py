"""Which calendar collection a CalDAV backend writes to, found with three PROPFINDs.

The URL itself if it is a calendar that holds events, else the user's calendar home, then the
calendar named by AGENTCAL_CALDAV_CALENDAR or the first one that supports VEVENT (a tasks-only
list is never picked), else a new one (MKCALENDAR).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin
from xml.sax.saxutils import escape

from agentcal.calendars import outages
from agentcal.calendars._caldav_http import Connection, Failure

DEFAULT_CALENDAR_NAME = "agentcal"
DAV = "{DAV:}"
CAL = "{urn:ietf:params:xml:ns:caldav}"
PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>'
    "<d:resourcetype/><d:displayname/><d:current-user-principal/>"
    "<c:calendar-home-set/><c:supported-calendar-component-set/>"
    "</d:prop></d:propfind>"
)
MKCALENDAR = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
    "<d:displayname>{name}</d:displayname>"
    '<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>'
    "</d:prop></d:set></c:mkcalendar>"
)


@dataclass(frozen=True)
class Collection:
    """A calendar collection on the server, as a PROPFIND describes it."""

    url: str
    name: str
    components: frozenset[str]  # empty: the server did not say, which means all (RFC 4791)

    @property
    def holds_events(self) -> bool:
        return not self.components or "VEVENT" in self.components


def _config_failure(message: str) -> Failure:
    return Failure(message, outage=True, retry_after=outages.AUTH_RETRY_SECONDS)


def propfind(conn: Connection, url: str, depth: str) -> list[tuple[str, dict[str, Any]]]:
    """(href, {property tag: element}) per resource; a clear failure if the server does
    not speak WebDAV/CalDAV there."""
    answer = conn.request(
        url, "PROPFIND", PROPFIND, {"Depth": depth, "Content-Type": "application/xml"}
    )
    if answer.status == 404:
        raise conn.stop(
            _config_failure(f"nothing at {url} (404 Not Found): check AGENTCAL_CALDAV_URL")
        )
    tree = getattr(answer, "tree", None)
    if answer.status != 207 or tree is None or tree.tag != DAV + "multistatus":
        kind = str(answer.headers.get("Content-Type", "")).split(";")[0] or "no content type"
        raise conn.stop(
            _config_failure(
                f"{url} is not a CalDAV server (it answered {answer.status} {kind} to "
                "a calendar query): check AGENTCAL_CALDAV_URL"
            )
        )
    out = []
    for response in tree.findall(DAV + "response"):
        href = response.findtext(DAV + "href") or ""
        props: dict[str, Any] = {}
        for propstat in response.findall(DAV + "propstat"):
            if " 200 " in (propstat.findtext(DAV + "status") or " 200 "):
                for prop in propstat.findall(DAV + "prop"):
                    props.update({child.tag: child for child in prop})
        out.append((urljoin(url, href), props))
    return out


def _as_collection(url: str, props: dict[str, Any]) -> Collection | None:
    kind = props.get(DAV + "resourcetype")
    if kind is None or kind.find(CAL + "calendar") is None:
        return None
    comps = props.get(CAL + "supported-calendar-component-set")
    names = frozenset(str(c.get("name", "")).upper() for c in (comps if comps is not None else []))
    name = (props.get(DAV + "displayname") is not None and props[DAV + "displayname"].text) or ""
    return Collection(url if url.endswith("/") else url + "/", name, names)


def discover(conn: Connection, wanted: str | None) -> Collection:
    """The collection events go to: `wanted` (a display name or a URL's last part) if set."""
    [(url, props)] = propfind(conn, conn.url, "0")[:1] or [(conn.url, {})]
    here = _as_collection(url, props)
    if here is not None and here.holds_events and not wanted:
        return here
    home = calendar_home(conn, url, props)
    calendars = [
        c
        for u, p in propfind(conn, home, "1")
        if (c := _as_collection(u, p)) is not None and u.rstrip("/") != home.rstrip("/")
    ]
    if here is not None and here.holds_events and wanted in (here.name, _slug(here.url)):
        return here
    if wanted:
        named = [c for c in calendars if wanted in (c.name, _slug(c.url))]
        if named and not named[0].holds_events:
            raise conn.stop(
                _config_failure(
                    f"the CalDAV calendar {wanted!r} holds only "
                    f"{', '.join(sorted(named[0].components))} (no events): set "
                    "AGENTCAL_CALDAV_CALENDAR to a calendar for events, or to a new name"
                )
            )
        return named[0] if named else make_calendar(conn, home, wanted)
    for c in calendars:
        if c.holds_events:
            return c
    return make_calendar(conn, home, DEFAULT_CALENDAR_NAME)


def calendar_home(conn: Connection, url: str, props: dict[str, Any]) -> str:
    """The user's calendar home: from the URL's properties, else via the principal."""
    for tag in (CAL + "calendar-home-set", DAV + "current-user-principal"):
        element = props.get(tag)
        href = element.findtext(DAV + "href") if element is not None else None
        if href and tag == CAL + "calendar-home-set":
            return urljoin(url, href)
        if href:
            [(_, principal)] = propfind(conn, urljoin(url, href), "0")[:1] or [("", {})]
            return calendar_home(conn, urljoin(url, href), {
                k: v for k, v in principal.items() if k == CAL + "calendar-home-set"
            })  # fmt: skip
    raise conn.stop(
        _config_failure(
            f"{conn.url} did not say where your calendars are (no calendar-home-set): "
            "set AGENTCAL_CALDAV_URL to the calendar's own URL"
        )
    )


def make_calendar(conn: Connection, home: str, name: str) -> Collection:
    url = urljoin(home if home.endswith("/") else home + "/", quote(_slugify(name)) + "/")
    answer = conn.request(
        url, "MKCALENDAR", MKCALENDAR.format(name=escape(name)), {"Content-Type": "application/xml"}
    )
    if answer.status in (405, 409):
        # Another agentcal process (a second daemon) made it meanwhile: use theirs.
        for u, p in propfind(conn, home, "1"):
            made = _as_collection(u, p)
            if made is not None and made.url == url and made.holds_events:
                return made
    if answer.status not in (200, 201):
        raise conn.stop(
            _config_failure(
                f"cannot create the CalDAV calendar {name!r} at {url} ({answer.status})"
            )
        )
    return Collection(url, name, frozenset({"VEVENT"}))


def _slug(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _slugify(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-").lower() or DEFAULT_CALENDAR_NAME
