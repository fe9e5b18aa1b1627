"""A scripted OpenAI-compatible server on 127.0.0.1 for tests: speaks /v1/chat/completions.

Each request takes the next scripted reply: a text answer, tool calls (arguments as JSON text,
possibly broken), an HTTP error status, a stall of some seconds, or a hold (the reply waits
until the test releases it: a slow model whose answer cannot come early, whatever the load);
once the script is used up, a `responder` function may answer (tests/scripted_model.py).
Streaming requests get SSE chunks and, when `stream_options.include_usage` is set, a final
usage chunk, then `data: [DONE]`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "gpt-4o-mini-2024-07-18"
HOLD_LIMIT = 60.0


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)  # (name, arguments JSON text)
    prompt_tokens: int = 100
    completion_tokens: int = 20
    cached_tokens: int = 0
    model: str = MODEL
    status: int = 200
    stall: float = 0.0
    # Sent only once the test sets this event (or after HOLD_LIMIT seconds, so a broken client
    # cannot hang the suite): "the model has not answered yet" for as long as the test needs.
    hold: threading.Event | None = None
    sent: bool = False  # set by the server once this reply has gone out (or the client left)

    def usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }


def text(content: str, **kw: Any) -> Reply:
    return Reply(content=content, **kw)


def call(name: str, args: dict[str, Any] | str, **kw: Any) -> Reply:
    raw = args if isinstance(args, str) else json.dumps(args)
    return Reply(tool_calls=[(name, raw)], **kw)


def error(status: int) -> Reply:
    return Reply(status=status)


class LoopbackOpenAI:
    """Start with `with LoopbackOpenAI([...]) as server:`; `server.base_url` goes in OPENAI_BASE_URL."""

    def __init__(
        self,
        script: list[Reply] | None = None,
        responder: Callable[[dict[str, Any]], Reply] | None = None,
    ) -> None:
        self.script: list[Reply] = list(script or [])
        # Answers every request once the script is used up (a model for long conversations).
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.cpu_seconds = 0.0  # CPU the server's handlers used (bench/bench_agent.py)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def __enter__(self) -> LoopbackOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self.script:
                return self.script.pop(0)
        if self.responder is not None:
            return self.responder(body)
        return Reply(content="(script exhausted)")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                c0 = time.thread_time()
                try:
                    self._post()
                finally:
                    with server._lock:
                        server.cpu_seconds += time.thread_time() - c0

            def _post(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                reply = server._next(body, {k.lower(): v for k, v in self.headers.items()})
                if reply.stall:
                    time.sleep(reply.stall)
                if reply.hold is not None:
                    reply.hold.wait(HOLD_LIMIT)
                # The client may have given up already (a timeout test).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._respond(body, reply)
                reply.sent = True

            def _respond(self, body: dict[str, Any], reply: Reply) -> None:
                if reply.status != 200:
                    payload = json.dumps(
                        {
                            "error": {
                                "message": f"scripted {reply.status}",
                                "type": "test",
                                "code": None,
                            }
                        }
                    ).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._plain(reply)

            def _message(self, reply: Reply) -> dict[str, Any]:
                message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
                if reply.tool_calls:
                    message["tool_calls"] = [
                        {
                            "id": f"call_{i}",
                            "type": "function",
                            "function": {"name": n, "arguments": a},
                        }
                        for i, (n, a) in enumerate(reply.tool_calls)
                    ]
                return message

            def _plain(self, reply: Reply) -> None:
                payload = json.dumps(
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": reply.model,
                        "choices": [
                            {
                                "index": 0,
                                "message": self._message(reply),
                                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                            }
                        ],
                        "usage": reply.usage(),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                        "created": int(time.time()), "model": reply.model}  # fmt: skip

                def send(choices: list[Any], **extra: Any) -> None:
                    chunk = {**base, "choices": choices, **extra}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                send(
                    [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": ""},
                            "finish_reason": None,
                        }
                    ]
                )
                # The answer arrives in pieces, as a real server sends it.
                words = reply.content.split(" ")
                for i, word in enumerate(words if reply.content else []):
                    piece = word if i == 0 else " " + word
                    send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
                for i, (name, args) in enumerate(reply.tool_calls):
                    half = len(args) // 2
                    send([{"index": 0, "delta": {"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args[:half]}}]}, "finish_reason": None}])  # fmt: skip
                    send([{"index": 0, "delta": {"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]}, "finish_reason": None}])  # fmt: skip
                send(
                    [
                        {
                            "index": 0,
                            "delta": {},
                            "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                        }
                    ]
                )
                if (body.get("stream_options") or {}).get("include_usage"):
                    send([], usage=reply.usage())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def closed_port_url() -> str:
    """A base URL where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
