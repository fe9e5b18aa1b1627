"""A small OTLP/HTTP trace receiver on 127.0.0.1 for the fast tests: decodes what it is sent.

It speaks the real protocol (protobuf `ExportTraceServiceRequest` on POST /v1/traces) and can
be told to answer with an error status or to never answer, for the dead-collector tests.
The end-to-end test against a receiver people use is tests/observability/test_otel_phoenix.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    kind: int
    attributes: dict[str, Any]
    status_code: int
    status_message: str
    links: list[tuple[str, str]]
    resource: dict[str, Any] = field(default_factory=dict)


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def _attrs(items: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in items}


class OTLPReceiver:
    """`with OTLPReceiver() as rx:` then OTEL_EXPORTER_OTLP_ENDPOINT=rx.url; `rx.spans` is what came."""

    def __init__(self, status: int = 200, hang: bool = False) -> None:
        self.status = status
        self.hang = hang
        self.spans: list[Span] = []
        self.requests: list[dict[str, str]] = []  # the headers of each POST
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceRequest,
                    ExportTraceServiceResponse,
                )

                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({k.lower(): v for k, v in self.headers.items()})
                if receiver.hang:
                    receiver._release.wait(60)
                    return
                if receiver.status != 200 or self.path != "/v1/traces":
                    self.send_response(receiver.status if receiver.status != 200 else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for rs in request.resource_spans:
                    resource = _attrs(rs.resource.attributes)
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            receiver.spans.append(
                                Span(
                                    name=s.name,
                                    trace_id=s.trace_id.hex(),
                                    span_id=s.span_id.hex(),
                                    parent_id=s.parent_span_id.hex() or None,
                                    kind=s.kind,
                                    attributes=_attrs(s.attributes),
                                    status_code=s.status.code,
                                    status_message=s.status.message,
                                    links=[(lk.trace_id.hex(), lk.span_id.hex()) for lk in s.links],
                                    resource=resource,
                                )
                            )
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def by_name(self, name: str) -> list[Span]:
        return [s for s in self.spans if s.name == name]
