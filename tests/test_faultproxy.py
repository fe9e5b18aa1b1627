"""The fault proxy used by the reliability suite injects the share of faults it is told to."""

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.faultproxy import FaultProxy


def test_fault_proxy_forwards_and_injects():
    hits = []

    class Upstream(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_PUT(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hits.append((self.path, body))
            self.send_response(201)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxy = FaultProxy(f"http://127.0.0.1:{upstream.server_address[1]}", fault_rate=0.3).start()
    statuses = []
    for i in range(200):
        req = urllib.request.Request(f"{proxy.url}/cal/{i}.ics", data=b"x%d" % i, method="PUT")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                statuses.append(resp.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    proxy.stop()
    upstream.shutdown()
    faults = sum(proxy.faults.values())
    assert statuses.count(201) == proxy.forwarded == len(hits) == 200 - faults
    assert 40 <= faults <= 80  # 30% of 200, seeded
    assert set(proxy.faults) <= {429, 500, 502, 503}
    assert all(body == b"x" + path.split("/")[-1].split(".")[0].encode() for path, body in hits)
