#!/usr/bin/env python3
"""faultproxy.py - an HTTP proxy on 127.0.0.1 that breaks every Nth request.

TEST ONLY. It sits between lifeboat and the S3 server so that the S3 driver's
real error handling (HTTP status codes, connections closed mid-body, slow
answers) is exercised, not just the storage-level fault wrapper. Requests are
forwarded unchanged (the Host header too, so SigV4 signatures stay valid).
Every Nth request, in turn:
  0. answered "503 SlowDown" without reaching the server;
  1. forwarded, then the answer is cut: headers and half the body are sent
     and the connection is closed (a body-less answer is not sent at all);
  2. answered "500 InternalError" without reaching the server;
  3. delayed by --delay seconds, then forwarded.

usage: faultproxy.py --upstream HOST:PORT --every N [--delay S] --port-file F
Listens on a free port of 127.0.0.1, writes it to F, and on SIGTERM writes
"requests=N faults=M" to F.stats and exits.
"""
import argparse
import http.client
import http.server
import signal
import socket
import sys
import threading
import time

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class State:
    lock = threading.Lock()
    requests = 0
    faults = 0


def error_xml(code):
    return ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
            "<Message>injected by faultproxy</Message></Error>" % code).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    every = 5
    delay = 0.3
    local = threading.local()

    def log_message(self, fmt, *args):  # quiet
        pass

    def conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            host, port = self.upstream.rsplit(":", 1)
            c = http.client.HTTPConnection(host, int(port), timeout=120)
            self.local.conn = c
        return c

    def upstream_request(self, body):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        for attempt in range(2):  # a kept-alive upstream connection may have gone stale
            c = self.conn()
            try:
                c.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    c.putheader(k, v)
                c.endheaders(body if body else None)
                r = c.getresponse()
                data = r.read()
                return r, data
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.conn = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")

    def send_plain(self, status, data, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with State.lock:
            n = State.requests
            State.requests += 1
            fault = n % self.every == self.every - 1
            kind = (n // self.every) % 4
            if fault:
                State.faults += 1
        if fault and kind == 0:
            self.send_plain(503, error_xml("SlowDown"), [("Content-Type", "application/xml")])
            return
        if fault and kind == 2:
            self.send_plain(500, error_xml("InternalError"), [("Content-Type", "application/xml")])
            return
        if fault and kind == 3:
            time.sleep(self.delay)
        r, data = self.upstream_request(body)
        cut = fault and kind == 1
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        declared = r.getheader("Content-Length")
        if self.command == "HEAD" and declared is not None:
            self.send_header("Content-Length", declared)
        else:
            self.send_header("Content-Length", str(len(data)))
        if cut and (self.command == "HEAD" or len(data) < 2):
            # nothing to cut in the middle of: drop the connection unanswered
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--delay", type=float, default=0.3)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    Handler.upstream, Handler.every, Handler.delay = a.upstream, max(2, a.every), a.delay
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True

    def stop(signum, frame):
        with open(a.port_file + ".stats", "w") as f:
            f.write("requests=%d faults=%d\n" % (State.requests, State.faults))
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
