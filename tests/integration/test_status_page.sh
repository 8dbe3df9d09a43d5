#!/usr/bin/env bash
# test_status_page.sh - the daemon's status page in headless Chromium (issue
# 13, Done-when 4): examples/platform.yaml with its repositories replaced by
# local ones (and its sources by local folders and commands, so the files
# and command components can run here), a few runs, then the daemon with
# monitoring.listen on a free loopback port. Chromium (Debian chromium)
# loads `/`, saves a screenshot and dumps the DOM; every component of
# examples/platform.yaml must be shown with its health and achieved RPO, and
# /api/status must carry the same. The page must load no external asset.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    skip "status page: no chromium (Debian package chromium)"
    finish
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
STATE=$TMP/state
CFG=$TMP/platform.yaml
printf 'status-page-password\n' >"$TMP/pass"
chmod 600 "$TMP/pass"
unset LIFEBOAT_PASSWORD
mkdir -p "$TMP/src/etc" "$TMP/src/log"
echo "listen: 8080" >"$TMP/src/etc/app.conf"
echo "started" >"$TMP/src/log/app.log"
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN_NOTE="loopback listener without a token"

# The example's components and jobs as they are; repositories, state and
# sources replaced; the listener added.
$PY - "$ROOT/examples/platform.yaml" "$CFG" "$TMP" "$PORT" <<'EOF'
import re, sys
src, dst, tmp, port = sys.argv[1:]
text = open(src).read()
text = text.replace("state: /var/lib/lifeboat", "state: %s/state" % tmp)
start = text.index("\nrepositories:")
end = text.index("\ncomponents:")
repos = """
repositories:
  main:
    url: %s/repo-main
    default: true
    password_file: %s/pass
  dr:
    url: %s/repo-dr
    password_file: %s/pass
""" % (tmp, tmp, tmp, tmp)
text = text[:start] + repos + text[end:]
text = text.replace("/etc/zbinnovation", tmp + "/src/etc").replace("/var/log/zbinnovation", tmp + "/src/log")
text = text.replace('command: [kubectl, get, "all,configmaps,secrets", -A, -o, yaml]',
                    'command: [sh, -c, "echo kind: List"]')
text = re.sub(r"\nmonitoring:.*?(?=\n\S|\Z)", "", text, flags=re.S)
text += "\nmonitoring:\n  listen: 127.0.0.1:%s\n" % port
open(dst, "w").write(text)
EOF
components=$($PY - "$ROOT/examples/platform.yaml" <<'EOF'
import sys
names, inside = [], False
for line in open(sys.argv[1]):
    if line.startswith("components:"):
        inside = True
        continue
    if inside and line[:1] not in (" ", "#", "\n"):
        break
    if inside and line.startswith("  ") and not line.startswith("   ") and line.strip().endswith(":"):
        names.append(line.strip()[:-1])
print(" ".join(names))
EOF
)
[ "$(echo "$components" | wc -w)" -ge 5 ] && ok "examples/platform.yaml lists its components ($components)" ||
    fail "components of examples/platform.yaml: '$components'"

export LIFEBOAT_PASSWORD_FILE=$TMP/pass
check "config check of the adapted plan" "$LB" config check "$CFG"
check "init main" "$LB" -r "$TMP/repo-main" init --kdf-n 1024 -q
check "init dr" "$LB" -r "$TMP/repo-dr" init --kdf-n 1024 -q
"$LB" run config logs cluster --config "$CFG" -q >"$TMP/run.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok "lifeboat run config logs cluster" || fail "run: exit $rc: $(tail -5 "$TMP/run.out")"

"$LB" daemon --config "$CFG" >"$TMP/daemon.log" 2>&1 &
DPID=$!
cleanup_hooks+=("kill $DPID 2>/dev/null; wait $DPID 2>/dev/null")
up=0
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PORT/api/status" -o "$TMP/status.json" 2>/dev/null; then
        up=1
        break
    fi
    sleep 0.2
done
[ "$up" -eq 1 ] && ok "the daemon serves /api/status on 127.0.0.1:$PORT ($TOKEN_NOTE)" ||
    fail "no /api/status: $(tail -5 "$TMP/daemon.log")"

timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$TMP/chromium" --window-size=1280,2400 --screenshot="$TMP/status.png" \
    "http://127.0.0.1:$PORT/" >"$TMP/chromium-shot.log" 2>&1
[ -s "$TMP/status.png" ] && ok "chromium saved a screenshot ($(stat -c %s "$TMP/status.png") bytes)" ||
    fail "screenshot: $(tail -3 "$TMP/chromium-shot.log")"
mkdir -p "$ROOT/build/test-artifacts" 2>/dev/null && cp "$TMP/status.png" "$ROOT/build/test-artifacts/status-page.png" 2>/dev/null
timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$TMP/chromium" --dump-dom "http://127.0.0.1:$PORT/" >"$TMP/dom.html" 2>"$TMP/chromium-dom.log"
[ -s "$TMP/dom.html" ] && ok "chromium dumped the DOM" || fail "dump-dom: $(tail -3 "$TMP/chromium-dom.log")"

# From the rendered DOM: each component's element, its health, its achieved RPO.
$PY - "$TMP/dom.html" "$TMP/status.json" $components >"$TMP/dom.check" <<'EOF'
import html.parser, json, sys
dom, status, names = sys.argv[1], sys.argv[2], sys.argv[3:]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.found, self.external = [], {}, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        comp = a.get("data-component")
        cur = self.stack[-1] if self.stack else None
        if comp is not None and tag not in ("script", "style"):
            self.found.setdefault(comp, {"health": a.get("data-health"), "rpo": ""})
            cur = comp
        for k in ("src", "href"):
            v = a.get(k) or ""
            if v.startswith("http://") or v.startswith("https://") or v.startswith("//"):
                self.external.append(v)
        self.rpo = "rpo-achieved" in (a.get("class") or "").split()
        self.stack.append(cur if tag not in ("br", "img", "meta", "link", "input", "hr") else None)
        if tag in ("br", "img", "meta", "link", "input", "hr"):
            self.stack.pop()
        self.inrpo = self.rpo and cur is not None
        if self.inrpo:
            self.rpocomp = cur
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
        self.inrpo = False
    def handle_data(self, data):
        if getattr(self, "inrpo", False) and data.strip():
            self.found[self.rpocomp]["rpo"] += data.strip()
p = P()
p.feed(open(dom).read())
doc = json.load(open(status))
api = json.dumps(doc)
for n in names:
    f = p.found.get(n)
    if f is None:
        print("FAIL %s: not shown" % n)
    elif f["health"] not in ("ok", "warning", "critical"):
        print("FAIL %s: health %r" % (n, f["health"]))
    elif not f["rpo"]:
        print("FAIL %s: no achieved RPO shown" % n)
    else:
        print("OK %s: health %s, achieved RPO %s" % (n, f["health"], f["rpo"]))
    if '"%s"' % n not in api:
        print("FAIL %s: not in /api/status" % n)
print("EXTERNAL %d %s" % (len(p.external), " ".join(p.external[:3])))
EOF
while read -r verdict rest; do
    case $verdict in
    OK) ok "status page: $rest" ;;
    FAIL) fail "status page: $rest" ;;
    EXTERNAL) set -- $rest; [ "$1" -eq 0 ] && ok "the page loads no external asset" || fail "external assets: $rest" ;;
    esac
done <"$TMP/dom.check"
grep -q "status-page-password" "$TMP/dom.html" "$TMP/status.json" "$TMP/daemon.log" &&
    fail "the repository password reached the page" || ok "the repository password is in neither the page nor the log"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/api/status")
[ "$code" = 405 ] && ok "the status page is read-only (POST: 405)" || fail "POST /api/status: $code"
finish
