#!/usr/bin/env python3
"""receiver.py - a local HTTP receiver for notification tests.

Listens on 127.0.0.1 on a free port (written to PORT_FILE once bound) and
appends every request to LOG as one JSON line {"path", "content_type",
"body"}. Modes: ok (answer 200), fail (answer 500), hang (read the request,
record it, never answer). Runs until killed.

    receiver.py PORT_FILE LOG [ok|fail|hang]
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, LOG = sys.argv[1], sys.argv[2]
MODE = sys.argv[3] if len(sys.argv) > 3 else "ok"
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        with lock, open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                "mode": MODE, "body": body}) + "\n")
        if MODE == "hang":
            time.sleep(3600)
            return
        code = 500 if MODE == "fail" else 200
        out = b"ok" if code == 200 else b"failing on purpose"
        self.send_response(code)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()
