#!/usr/bin/env bash
# test_restore_safety.sh - hostile snapshots cannot write outside the target.
#
# lb-craft (tests/harness/craft.c) writes snapshots whose trees hold '..',
# names with '/', absolute names, '.', '', a symlink to an outside directory
# followed by a directory of the same name (at the top and one level down),
# and a non-UTF-8 name with '/'. For each: restore must exit non-zero, name
# the unsafe entry, leave every byte outside the target as it was (an
# inventory of $TMP before and after, with type and mtime), leave the outside
# directory empty, and write nothing into the target either (restore plans
# and validates every tree before writing). `ls` and `check` must report the
# same trees. Benign cases prove the refusal is specific: a crafted but legal
# tree, a normal backup, and restores over symlinks planted in the target.
. "$(dirname "$0")/lib.sh"

CRAFT=${LIFEBOAT_BUILD_DIR:-}/tests/harness/lb-craft
if [ ! -x "$CRAFT" ]; then
    skip "lb-craft not built (add subdir('tests/harness') to meson.build)"
    finish
fi

R=$TMP/repo
OUT=$TMP/outside      # the directory attackers aim at; must stay empty
WORK=$TMP/work        # restore targets live here, so '..' lands in $TMP
INV=$TMP/inv          # our own scratch files (excluded from the inventory)
mkdir -p "$OUT" "$WORK" "$INV"
: >"$TMP/.out"        # check_rc rewrites it; create it now so $TMP's mtime settles
new_repo "$R" || { fail "init repository"; finish; }

# inventory FILE: every path under $TMP with its type, mtime and size, except
# our scratch files and the repository's lock directory (restore takes a lock;
# the first lock also creates locks/, so the repository directory's own mtime
# is left out).
inventory() {
    find "$TMP" \( -path "$INV" -o -path "$R/locks" -o -path "$TMP/.out" \) -prune -o \
        -printf '%p\t%y\t%T@\t%s\n' | awk -F'\t' -v r="$R" 'BEGIN { OFS = "\t" } $1 == r { $3 = "-" } 1' |
        LC_ALL=C sort >"$1"
}

# expected fragment of the error message for each kind (the unsafe name)
declare -A want=(
    [dotdot]="'..'"
    [slash]="'a/b'"
    [absolute]="'$TMP/abs-escape'"
    [symlink-escape]="'evil'"
    [nested-symlink]="'evil'"
    [hex-slash]="/../../pwned'"
    [ctrl-name]="/x'"
    [empty-name]="''"
    [dot]="'.'"
)
kinds=(dotdot slash absolute symlink-escape nested-symlink hex-slash ctrl-name empty-name dot)
declare -A snap

# ---- craft every hostile snapshot ----
for k in "${kinds[@]}"; do
    arg=$OUT
    [ "$k" = absolute ] && arg=$TMP/abs-escape
    id=$("$CRAFT" "$R" "$k" "$arg" 2>"$INV/craft.err")
    if [[ $id =~ ^[0-9a-f]{64}$ ]]; then
        snap[$k]=$id
    else
        fail "lb-craft $k wrote a snapshot"
        sed 's/^/#   /' "$INV/craft.err"
    fi
done
[ "${#snap[@]}" -eq "${#kinds[@]}" ] && ok "lb-craft wrote ${#kinds[@]} hostile snapshots"

# ---- restore refuses each one ----
summaries=""
ansi=""
for k in "${kinds[@]}"; do
    [ -n "${snap[$k]:-}" ] || continue
    target=$WORK/target-$k
    mkdir "$target"
    inventory "$INV/before"
    "$LB" -r "$R" restore "${snap[$k]}" --target "$target" >"$INV/stdout" 2>"$INV/stderr"
    rc=$?
    inventory "$INV/after"
    if [ "$rc" -ne 0 ]; then ok "$k: restore exits non-zero ($rc)"; else fail "$k: restore exits non-zero (exit 0)"; fi
    if grep -aqF -- "${want[$k]}" "$INV/stderr" && grep -aqiE 'unsafe|twice' "$INV/stderr"; then
        ok "$k: the error names the unsafe entry ${want[$k]}"
    else
        fail "$k: the error names the unsafe entry ${want[$k]}"
        sed 's/^/#   /' "$INV/stderr" | cat -v
    fi
    if cmp -s "$INV/before" "$INV/after"; then
        ok "$k: nothing outside the target changed"
    else
        fail "$k: nothing outside the target changed"
        diff "$INV/before" "$INV/after" | sed 's/^/#   /' | head -20
    fi
    if [ -z "$(ls -A "$OUT")" ] && [ ! -e "$TMP/abs-escape" ] && [ ! -e "$WORK/escape" ] && [ ! -e "$WORK/pwned" ] &&
        [ ! -e "$TMP/pwned" ]; then
        ok "$k: the outside directory is still empty and no escape file exists"
    else
        fail "$k: the outside directory is still empty and no escape file exists"
        find "$OUT" "$TMP/abs-escape" "$WORK/escape" "$WORK/pwned" "$TMP/pwned" 2>/dev/null | sed 's/^/#   /'
    fi
    if [ -z "$(ls -A "$target")" ]; then
        ok "$k: nothing was written into the target either (validated before writing)"
    else
        fail "$k: nothing was written into the target either (validated before writing)"
        find "$target" | sed 's/^/#   /'
    fi
    grep -aq '^restored snapshot' "$INV/stdout" && summaries+=" $k"
    grep -aq $'\x1b' "$INV/stderr" && ansi+=" $k"
done
# a refused restore must not also claim success on stdout
if [ -z "$summaries" ]; then
    ok "refused restores print no 'restored snapshot' success line"
else
    fail "refused restores print no 'restored snapshot' success line (printed for:$summaries)"
fi
# names come from the repository: an error must not replay their control codes
if [ -z "$ansi" ]; then
    ok "error messages do not replay terminal control codes from hostile names"
else
    fail "error messages do not replay terminal control codes from hostile names (raw ESC for:$ansi)"
fi

# ---- ls refuses too ----
for k in dotdot symlink-escape nested-symlink absolute; do
    [ -n "${snap[$k]:-}" ] || continue
    "$LB" -r "$R" ls "${snap[$k]}" >"$INV/stdout" 2>"$INV/stderr"
    rc=$?
    if [ "$rc" -ne 0 ] && grep -aqF -- "${want[$k]}" "$INV/stderr"; then
        ok "$k: ls exits non-zero ($rc) naming ${want[$k]}"
    else
        fail "$k: ls exits non-zero naming ${want[$k]} (exit $rc)"
        sed 's/^/#   /' "$INV/stderr" | cat -v
    fi
done

# ---- check reports every unsafe tree ----
"$LB" -r "$R" check >"$INV/check" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then ok "check exits non-zero on hostile trees ($rc)"; else fail "check exits non-zero on hostile trees (exit 0)"; fi
missing=""
for k in "${kinds[@]}"; do
    grep -aF -- "${want[$k]}" "$INV/check" | grep -aqiE 'unsafe|twice' || missing+=" $k"
done
if [ -z "$missing" ]; then
    ok "check names the unsafe entry of all ${#kinds[@]} hostile trees"
else
    fail "check names the unsafe entry of every hostile tree (silent about:$missing)"
    sed 's/^/#   /' "$INV/check" | cat -v | head -20
fi
n_err=$(grep -acE '^error: tree ' "$INV/check")
if [ "$n_err" -ge "${#kinds[@]}" ]; then ok "check lists $n_err tree errors"; else fail "check lists one error per hostile tree ($n_err < ${#kinds[@]})"; fi

# ---- benign: a crafted but legal tree restores, the symlink is not followed ----
bid=$("$CRAFT" "$R" benign "$OUT" 2>"$INV/craft.err")
target=$WORK/target-benign
mkdir "$target"
inventory "$INV/before"
check "benign crafted snapshot restores (exit 0)" "$LB" -r "$R" restore "$bid" --target "$target"
inventory "$INV/after"
check "benign: sub/pwned holds the payload" grep -qx 'written by lb-craft' "$target/sub/pwned"
check "benign: evil is restored as a symlink to the outside dir" test "$(readlink "$target/evil")" = "$OUT"
if [ -z "$(ls -A "$OUT")" ]; then ok "benign: the outside directory is still empty"; else fail "benign: the outside directory is still empty"; fi
# the only changes may be inside the target (the target itself included)
if diff <(grep -vF "$target" "$INV/before") <(grep -vF "$target" "$INV/after") >"$INV/diff"; then
    ok "benign: nothing outside the target changed"
else
    fail "benign: nothing outside the target changed"
    sed 's/^/#   /' "$INV/diff" | head
fi

# ---- benign: a normal backup with an outward symlink restores byte for byte ----
SRC=$TMP/src
mkdir -p "$SRC/evil" "$SRC/dir/deeper"
echo "pwned? no, legit" >"$SRC/evil/pwned"
head -c 100000 /dev/urandom >"$SRC/dir/deeper/blob.bin"
echo hello >"$SRC/file.txt"
ln -s "$OUT" "$SRC/link-out"
ln -s ../file.txt "$SRC/dir/rel-link"
check "backup of a normal tree" "$LB" -r "$R" backup "$SRC" -q
normal=$WORK/target-normal
check "normal snapshot restores (exit 0)" "$LB" -r "$R" restore latest --target "$normal"
check "normal restore is identical to the source" diff -r --no-dereference "$SRC" "$normal$SRC"
if [ -z "$(ls -A "$OUT")" ]; then ok "normal: the outside directory is still empty"; else fail "normal: the outside directory is still empty"; fi

# ---- symlinks planted in the target are replaced, never followed ----
planted=$WORK/target-planted
mkdir -p "$planted$SRC"
ln -s "$OUT" "$planted$SRC/evil"                  # a directory name -> outside dir
ln -s "$OUT/victim" "$planted$SRC/file.txt"       # a file name -> outside file
ln -s "$OUT" "$planted$SRC/dir"                   # a parent of deeper files -> outside
check "restore over planted symlinks exits 0" "$LB" -r "$R" restore latest --target "$planted"
if [ -z "$(ls -A "$OUT")" ]; then
    ok "planted symlinks: nothing was written through them"
else
    fail "planted symlinks: nothing was written through them"
    find "$OUT" | sed 's/^/#   /'
fi
check "planted symlinks: the restored tree is identical to the source" \
    diff -r --no-dereference "$SRC" "$planted$SRC"

# the planted-symlink trick on a subdirectory restore (SNAP:SUB)
sub=$WORK/target-sub
mkdir -p "$sub"
ln -s "$OUT" "$sub/deeper"
check "subpath restore over a planted symlink exits 0" "$LB" -r "$R" restore "latest:$SRC/dir" --target "$sub"
if [ -z "$(ls -A "$OUT")" ] && cmp -s "$sub/deeper/blob.bin" "$SRC/dir/deeper/blob.bin" && [ ! -L "$sub/deeper" ]; then
    ok "subpath restore replaced the planted symlink and wrote nothing outside"
else
    fail "subpath restore replaced the planted symlink and wrote nothing outside"
    find "$OUT" "$sub" | sed 's/^/#   /'
fi

# ---- SNAP:PATH puts PATH's entries into the target; the target keeps its own mode ----
keep=$WORK/target-keep
mkdir -p "$keep"
chmod 0751 "$keep"
chmod 0700 "$SRC/dir" # differs from the target's
check "SNAP:PATH restore into an existing directory exits 0" "$LB" -r "$R" restore "latest:$SRC/dir" --target "$keep"
kept="$(stat -c '%a' "$keep")"
if [ "$kept" = 751 ] && [ -f "$keep/deeper/blob.bin" ]; then
    ok "SNAP:PATH: the entries of PATH land in the target, which keeps its mode 751, not PATH's 700 (as with restic)"
else
    fail "SNAP:PATH: the entries land in the target, which keeps its own mode (got '$kept')"
fi

# ---- file capabilities survive the owner being set (the kernel drops them on chown) ----
if ! command -v setcap >/dev/null || ! command -v getcap >/dev/null; then
    skip "file capabilities: setcap/getcap missing (Debian package libcap2-bin)"
elif [ "$(id -u)" -ne 0 ]; then
    skip "file capabilities: restoring an owner needs root"
else
    CAPS=$TMP/caps-src
    mkdir -p "$CAPS"
    printf 'ping' >"$CAPS/ping"
    chown 1234:1234 "$CAPS/ping"
    if setcap cap_net_raw+ep "$CAPS/ping" 2>"$INV/setcap.err"; then
        want=$(cd "$CAPS" && getcap ping)
        check "file capabilities: backup" "$LB" -r "$R" backup "$CAPS" -q
        capt=$WORK/target-caps
        check "file capabilities: restore as root (exit 0)" "$LB" -r "$R" restore latest --target "$capt"
        got=$(cd "$capt$CAPS" 2>/dev/null && getcap ping)
        owner=$(stat -c %u:%g "$capt$CAPS/ping" 2>/dev/null)
        if [ -n "$want" ] && [ "$got" = "$want" ] && [ "$owner" = 1234:1234 ]; then
            ok "file capabilities: '$got' kept on a file restored as owner $owner"
        else
            fail "file capabilities: kept on a file owned by 1234 (want '$want', got '$got', owner $owner)"
        fi
    else
        skip "file capabilities: setcap refused here ($(head -c 200 "$INV/setcap.err"))"
    fi
fi

finish
