"""Servers that fail the way real ones do when they are down, for the fail-fast tests.

`closed_port()`: a port nothing listens on (connections are refused at once).
`SilentServer`: accepts connections and never answers (a hung server, a black-holing proxy).
`HtmlServer`: answers every request with a web page (a URL that is not a CalDAV server).
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.radicale_server import free_port


def closed_port() -> str:
    return f"http://127.0.0.1:{free_port()}/"


class SilentServer:
    """`with SilentServer() as url:`; counts the connections it swallowed."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)  # kept open, never read, never answered

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self.connections:
            conn.close()
        self.sock.close()


class HtmlServer:
    """`with HtmlServer() as url:` a web server that is not CalDAV (200 text/html to all)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _page(self) -> None:
                body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_PROPFIND = do_REPORT = do_DELETE = do_OPTIONS = _page

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
