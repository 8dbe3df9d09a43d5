#!/usr/bin/env bash
# test_progress.sh - the progress line of backup on a terminal: drawn on
# stderr when it is a terminal (a pty here), cut to the terminal's width
# (never wrapped), cleared before the summary; absent without a terminal.
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
SRC=$TMP/src
mkdir -p "$SRC/dir"
for i in $(seq 1 40); do head -c $((i * 3000)) /dev/urandom >"$SRC/dir/file$i"; done
check "init repository" new_repo "$REPO"

# run ARGS... on a pty of COLS columns as stderr; print what reached it
on_pty() { # cols args...
    python3 - "$@" <<'PY'
import fcntl, os, pty, struct, subprocess, sys, termios
cols = int(sys.argv[1])
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
p.wait()
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(p.returncode)
PY
}

# the widest segment between carriage returns / newlines, without the
# erase-line sequence, and how many progress segments ("[m:ss] ...") there were
segments() {
    python3 -c '
import re, sys
text = sys.stdin.read().replace("\x1b[K", "")
segs = [s for s in re.split(r"[\r\n]", text) if s]
prog = [s for s in segs if re.match(r"\[\d+:\d\d\] ", s)]
print(len(prog), max((len(s) for s in prog), default=0))'
}

on_pty 30 "$LB" -r "$REPO" backup "$SRC" >"$TMP/narrow.txt" && ok "backup with stderr on a 30-column terminal" ||
    fail "backup with stderr on a 30-column terminal"
read -r count widest < <(segments <"$TMP/narrow.txt")
[ "$count" -ge 1 ] && ok "a progress line is drawn on a terminal ($count)" ||
    fail "a progress line is drawn on a terminal (got $count)"
[ "$widest" -le 29 ] && ok "the progress line fits 30 columns (widest $widest)" ||
    fail "the progress line fits 30 columns (widest $widest)"
grep -q $'\x1b\[K$' "$TMP/narrow.txt" && ok "the line is cleared at the end" || fail "the line is cleared at the end"

on_pty 200 "$LB" -r "$REPO" backup --force "$SRC" >"$TMP/wide.txt" && ok "backup on a 200-column terminal" ||
    fail "backup on a 200-column terminal"
read -r count widest < <(segments <"$TMP/wide.txt")
[ "$widest" -gt 29 ] && grep -q "files" "$TMP/wide.txt" && ok "a wide terminal gets the whole line ($widest)" ||
    fail "a wide terminal gets the whole line ($widest)"

"$LB" -r "$REPO" backup "$SRC" 2>"$TMP/nottyerr.txt" >/dev/null
[ ! -s "$TMP/nottyerr.txt" ] && ok "no progress line without a terminal" || fail "no progress line without a terminal"
on_pty 80 "$LB" -r "$REPO" backup -q "$SRC" >"$TMP/quiet.txt"
read -r count widest < <(segments <"$TMP/quiet.txt")
[ "$count" -eq 0 ] && ok "no progress line with --quiet" || fail "no progress line with --quiet"
finish
