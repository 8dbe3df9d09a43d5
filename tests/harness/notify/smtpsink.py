#!/usr/bin/env python3
"""smtpsink.py - a local SMTP sink for notification tests (no dependency).

Listens on 127.0.0.1 on a free port (written to PORT_FILE once bound),
speaks enough ESMTP for libcurl (EHLO, AUTH PLAIN/LOGIN accepting any
credentials, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no STARTTLS offered), and
writes each message to DIR/NNN.eml with its envelope in DIR/NNN.json
({"from", "to", "user"}). Runs until killed.

    smtpsink.py PORT_FILE DIR
"""
import base64
import json
import os
import socketserver
import sys
import threading

PORT_FILE, DIR = sys.argv[1], sys.argv[2]
os.makedirs(DIR, exist_ok=True)
lock = threading.Lock()
count = [0]


class Handler(socketserver.StreamRequestHandler):
    def say(self, line):
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        self.say("220 sink ESMTP")
        env = {"from": None, "to": [], "user": None}
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            cmd = line[:4].upper()
            if cmd in ("EHLO", "HELO"):
                self.wfile.write(b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
            elif cmd == "AUTH":
                parts = line.split()
                if parts[1].upper() == "PLAIN":
                    data = parts[2] if len(parts) > 2 else None
                    if data is None:
                        self.say("334 ")
                        data = self.rfile.readline().decode().strip()
                    fields = base64.b64decode(data).split(b"\0")
                    env["user"] = fields[1].decode() if len(fields) > 1 else None
                else:
                    self.say("334 VXNlcm5hbWU6")
                    env["user"] = base64.b64decode(self.rfile.readline().strip()).decode()
                    self.say("334 UGFzc3dvcmQ6")
                    self.rfile.readline()
                self.say("235 ok")
            elif cmd == "MAIL":
                env["from"] = line.split(":", 1)[1].strip()
                env["to"] = []
                self.say("250 ok")
            elif cmd == "RCPT":
                env["to"].append(line.split(":", 1)[1].strip())
                self.say("250 ok")
            elif cmd == "DATA":
                self.say("354 go on")
                data = []
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    data.append(l[1:] if l.startswith(b"..") else l)
                with lock:
                    count[0] += 1
                    base = os.path.join(DIR, "%03d" % count[0])
                    with open(base + ".eml", "wb") as f:
                        f.write(b"".join(data))
                    with open(base + ".json", "w") as f:
                        json.dump(env, f)
                self.say("250 queued")
            elif cmd == "QUIT":
                self.say("221 bye")
                return
            elif cmd in ("RSET", "NOOP"):
                self.say("250 ok")
            else:
                self.say("502 not implemented")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()
