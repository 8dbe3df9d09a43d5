#!/usr/bin/env python3
"""faultproxy.py - an HTTP proxy on 127.0.0.1 that breaks every Nth request.

TEST ONLY. It sits between lifeboat and the S3 server so that the S3 driver's
real error handling (HTTP status codes, connections closed mid-body, slow
answers) is exercised, not just the storage-level fault wrapper. Requests are
forwarded unchanged (the Host header too, so SigV4 signatures stay valid).
Every Nth request gets the next fault of --kinds, in turn (default
503,cut,500,slow):
  503   answered "503 SlowDown" without reaching the server;
  cut   forwarded, then the answer is cut: headers and half the body are sent
        and the connection is closed (a body-less answer is not sent at all);
  500   answered "500 InternalError" without reaching the server;
  slow  delayed by --delay seconds, then forwarded;
  429   answered "429 TooManyRequests" without reaching the server;
  reset the connection is closed unanswered (RST) without reaching the server.

usage: faultproxy.py --upstream HOST:PORT --every N [--delay S] [--kinds K,K2]
                     [--log FILE] --port-file F
Listens on a free port of 127.0.0.1, writes it to F, and on SIGTERM writes
"requests=N faults=M" and the faults by kind ("503=N cut=N ...") to F.stats
and exits. With --log, each request's "METHOD PATH" is appended to FILE
(flushed) when it arrives, before it is forwarded (tests/harness/killer.py
kills at such requests).
"""
import argparse
import http.client
import http.server
import signal
import socket
import struct
import sys
import threading
import time

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class State:
    lock = threading.Lock()
    requests = 0
    faults = 0
    by_kind = {}
    log = None


def error_xml(code):
    return ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
            "<Message>injected by faultproxy</Message></Error>" % code).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    every = 5
    delay = 0.3
    kinds = ["503", "cut", "500", "slow"]
    local = threading.local()

    def log_message(self, fmt, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        # headers and body go out in two writes: without this the body waits
        # for the client's delayed ACK of the headers (~40 ms an answer)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
            kind = self.kinds[(n // self.every) % len(self.kinds)] if fault else None
            if fault:
                State.faults += 1
                State.by_kind[kind] = State.by_kind.get(kind, 0) + 1
            if State.log:
                State.log.write("%s %s\n" % (self.command, self.path))
                State.log.flush()
        xml = [("Content-Type", "application/xml")]
        if kind == "503":
            self.send_plain(503, error_xml("SlowDown"), xml)
            return
        if kind == "500":
            self.send_plain(500, error_xml("InternalError"), xml)
            return
        if kind == "429":
            self.send_plain(429, error_xml("TooManyRequests"), xml)
            return
        if kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if kind == "slow":
            time.sleep(self.delay)
        r, data = self.upstream_request(body)
        cut = kind == "cut"
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
    ap.add_argument("--kinds", default="503,cut,500,slow")
    ap.add_argument("--log")
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    Handler.upstream, Handler.every, Handler.delay = a.upstream, max(2, a.every), a.delay
    Handler.kinds = a.kinds.split(",")
    bad = [k for k in Handler.kinds if k not in ("503", "cut", "500", "slow", "429", "reset")]
    if bad:
        sys.exit("faultproxy.py: unknown fault kind(s): " + ",".join(bad))
    if a.log:
        State.log = open(a.log, "a")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True

    def stop(signum, frame):
        with open(a.port_file + ".stats", "w") as f:
            kinds = " ".join("%s=%d" % (k, State.by_kind.get(k, 0)) for k in Handler.kinds)
            f.write("requests=%d faults=%d %s\n" % (State.requests, State.faults, kinds))
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
