#!/usr/bin/env bash
# test_cli.sh - what a user touches on the command line: init, --stdin,
# --stdin-from-command, excludes, tags/host/component/time and the filters
# that use them, ls, diff, key management, stats, unreadable files (exit 3),
# exit codes 10/11/12, JSON output and the progress line.
. "$(dirname "$0")/lib.sh"

ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1
nsnaps() { # repo [filters...]: number of snapshots
    local r=$1; shift
    "$LB" -r "$r" snapshots --json "$@" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
jq_py() { # python expression over the JSON on stdin, bound to `j`
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$@"
}
expect_eq() { # description want got
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1"; note "want: $2"; note "got:  $3"; fi
}

# ---------------------------------------------------------------- init
R=$TMP/repo
check "init" new_repo "$R"
cfg_before=$(sha256sum "$R/config")
check_rc 1 "init twice on the same directory fails" "$LB" -r "$R" init --kdf-n 1024
if last_output | grep -q "already exists"; then ok "init twice: message says the repository already exists"; else
    fail "init twice: message says the repository already exists"; last_output | sed 's/^/#   /'; fi
expect_eq "init twice: the existing config is untouched" "$cfg_before" "$(sha256sum "$R/config")"
check_rc 0 "the repository still opens after a second init" "$LB" -r "$R" snapshots
check_rc 10 "no repository: exit 10" "$LB" -r "$TMP/nothing-here" snapshots
if last_output | grep -q "no repository"; then ok "no repository: message says so"; else fail "no repository: message says so"; fi
check_rc 12 "wrong password: exit 12" env LIFEBOAT_PASSWORD=wrong "$LB" -r "$R" snapshots
check_rc 10 "repository given by LIFEBOAT_REPOSITORY is used" env LIFEBOAT_REPOSITORY="$TMP/nothing-here" "$LB" snapshots
# chunk sizes: bad values name the option and the value, and create nothing
for bad in "64K,16K,1M:avgSize" "8K,abc,1M:'abc' is not a size" "8K,32K:expected MIN,AVG,MAX" "8K,32K,128K,1M:expected MIN,AVG,MAX" "8,16,32:below the minimum" "1M,2M,128M:exceeds the maximum"; do
    val=${bad%%:*}
    check_rc 1 "init --dump-chunk-size $val fails" "$LB" -r "$TMP/badchunk" init --kdf-n 1024 --dump-chunk-size "$val"
    if last_output | grep -qF -- "lifeboat: init: option '--dump-chunk-size' value '$val': " &&
        last_output | grep -q -- "${bad#*:}"; then
        ok "... the message names init, --dump-chunk-size and '$val' and says '${bad#*:}'"
    else
        fail "... the message names init, --dump-chunk-size and '$val' and says '${bad#*:}'"
        last_output | sed 's/^/#   /'
    fi
    check "... and leaves no repository" test ! -e "$TMP/badchunk/config"
done
check_rc 1 "init --chunk-size with --copy-chunker-params fails" "$LB" -r "$TMP/badchunk" init --kdf-n 1024 \
    --chunk-size 64K,256K,1M --copy-chunker-params --from-repo "$R"
check "init --chunk-size 64K,256K,1M --dump-chunk-size 4KiB,16KiB,64KiB" \
    "$LB" -r "$TMP/sized" init --kdf-n 1024 -q --chunk-size 64K,256K,1M --dump-chunk-size 4KiB,16KiB,64KiB
head -c 4000000 /dev/urandom >"$TMP/sized.bin"
"$LB" -r "$TMP/sized" backup "$TMP/sized.bin" -q
nblobs=$("$LB" -r "$TMP/sized" snapshots --json | jq_py 'j[-1]["summary"]["blobs_new"]')
# 8..61: the default sizes (512 KiB minimum) could not make more than 7
if [ "$nblobs" -ge 8 ] && [ "$nblobs" -le 61 ]; then ok "--chunk-size 64K,256K,1M: 4 MB in $nblobs chunks (8..61)"; else
    fail "--chunk-size 64K,256K,1M: 4 MB in $nblobs chunks (8..61)"; fi

# ---------------------------------------------------------------- --stdin
{ printf 'line one\n\0binary\xff\xfe\n'; head -c 300000 /dev/urandom; printf 'tail without newline'; } >"$TMP/stdin.bin"
check "backup --stdin --stdin-filename" sh -c '"$1" -r "$2" backup --stdin --stdin-filename db.dump -q <"$3"' _ "$LB" "$R" "$TMP/stdin.bin"
expect_eq "--stdin: snapshot lists exactly /db.dump" "/db.dump" "$("$LB" -r "$R" ls latest 2>&1)"
expect_eq "--stdin: snapshot paths are [/db.dump]" "['/db.dump']" "$("$LB" -r "$R" snapshots --json | jq_py 'j[-1]["paths"]')"
check "--stdin: restore" "$LB" -r "$R" restore latest --target "$TMP/r-stdin" -q
if cmp "$TMP/stdin.bin" "$TMP/r-stdin/db.dump"; then ok "--stdin: restored bytes are exactly the input"; else fail "--stdin: restored bytes are exactly the input"; fi
expect_eq "--stdin: restore holds only that file" "./db.dump" "$(cd "$TMP/r-stdin" && find . -mindepth 1)"
check_rc 1 "--stdin-filename with a slash is refused" sh -c 'echo x | "$1" -r "$2" backup --stdin --stdin-filename a/b' _ "$LB" "$R"
check_rc 1 "--stdin combined with paths is refused" sh -c 'echo x | "$1" -r "$2" backup --stdin "$3"' _ "$LB" "$R" "$TMP"

# ---------------------------------------------------------------- --stdin-from-command
before=$(nsnaps "$R")
check_rc 0 "--stdin-from-command (exit 0) succeeds" "$LB" -r "$R" backup -q --stdin-filename configs.yaml --stdin-from-command -- sh -c 'echo configs; exit 0'
expect_eq "--stdin-from-command: one more snapshot" "$((before + 1))" "$(nsnaps "$R")"
check "--stdin-from-command: restore" "$LB" -r "$R" restore latest --target "$TMP/r-cmd" -q
expect_eq "--stdin-from-command: restored content is the command's output" "configs" "$(cat "$TMP/r-cmd/configs.yaml" 2>&1)"
check_rc 0 "--stdin-from-command without --stdin-filename" "$LB" -r "$R" backup -q --stdin-from-command -- printf 'abc'
expect_eq "--stdin-from-command: default file name is the command's" "/printf" "$("$LB" -r "$R" ls latest 2>&1)"

before=$(nsnaps "$R")
check_rc 1 "--stdin-from-command: a command exiting 3 fails the backup" "$LB" -r "$R" backup --stdin-from-command -- sh -c 'echo partial; exit 3'
if last_output | grep -q "'sh'" && last_output | grep -q "status 3"; then ok "failed command: message names the command and its exit status"; else
    fail "failed command: message names the command and its exit status"; last_output | sed 's/^/#   /'; fi
expect_eq "failed command: no new snapshot" "$before" "$(nsnaps "$R")"
check_rc 1 "--stdin-from-command: a command killed by a signal fails the backup" "$LB" -r "$R" backup --stdin-from-command -- sh -c 'echo partial; kill -9 $$'
expect_eq "killed command: no new snapshot" "$before" "$(nsnaps "$R")"
check_rc 1 "--stdin-from-command: a missing command fails the backup" "$LB" -r "$R" backup --stdin-from-command -- /nonexistent/command arg
if last_output | grep -q "/nonexistent/command"; then ok "missing command: message names it"; else fail "missing command: message names it"; last_output | sed 's/^/#   /'; fi
expect_eq "missing command: no new snapshot" "$before" "$(nsnaps "$R")"
check_rc 1 "--stdin-from-command without a command is refused" "$LB" -r "$R" backup --stdin-from-command
check_rc 0 "check after the failed command backups" "$LB" -r "$R" check --read-data -q

# ---------------------------------------------------------------- --exclude / --exclude-file
E=$TMP/ex
mkdir -p "$E/sub/deeper" "$E/cache/x"
for f in keep.txt debug.log sub/app.log sub/keep2.txt sub/deeper/k.txt cache/blob cache/x/y tmpfile.tmp sub/x.tmp \
    sub/deeper/notes.TMP; do echo "$f" >"$E/$f"; done
cat >"$TMP/excludes" <<EOF
# a comment line: ignored (it would match nothing anyway)
*.tmp

# another comment, then an absolute pattern
$E/cache
#*.txt
EOF
RE=$TMP/repo-ex
new_repo "$RE"
check "backup with --exclude and --exclude-file" "$LB" -r "$RE" backup "$E" --exclude '*.log' --exclude-file "$TMP/excludes" -q
got=$("$LB" -r "$RE" ls latest "$E" 2>&1 | sed "s|^$E|E|" | LC_ALL=C sort | tr '\n' ' ')
expect_eq "excludes leave out *.log, *.tmp and the cache dir (comments ignored)" \
    "E E/keep.txt E/sub E/sub/deeper E/sub/deeper/k.txt E/sub/deeper/notes.TMP E/sub/keep2.txt " "$got"
expect_eq "snapshot records its exclude patterns" "['*.log', '*.tmp', '$E/cache']" \
    "$("$LB" -r "$RE" snapshots --json | jq_py 'j[-1].get("excludes")')"
check_rc 1 "missing --exclude-file fails" "$LB" -r "$RE" backup "$E" --exclude-file "$TMP/no-such-file"

# ---------------------------------------------------------------- tags, host, component, time
RT=$TMP/repo-tags
new_repo "$RT"
T=$TMP/tagged
mkdir -p "$T"
echo one >"$T/f"
# --time is UTC whatever the local time zone
check "backup --tag --host --component --time" env TZ=Asia/Tokyo "$LB" -r "$RT" backup "$T" --tag daily,db --tag extra --host hostA \
    --component database --time '2020-01-02 03:04:05' -q
echo two >"$T/f"
check "backup with another host/tag/component" "$LB" -r "$RT" backup "$T" --tag weekly --host hostB --component uploads -q
echo three >"$T/f"
check "backup with defaults" "$LB" -r "$RT" backup "$T" -q
"$LB" -r "$RT" snapshots --json >"$TMP/snaps.json" 2>&1
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/snaps.json"; then ok "snapshots --json parses as JSON"; else
    fail "snapshots --json parses as JSON"; head -c 500 "$TMP/snaps.json" | sed 's/^/#   /'; fi
s1=$(python3 -c '
import json, sys
j = [s for s in json.load(open(sys.argv[1])) if s["hostname"] == "hostA"]
print(len(j), j[0]["time"][:19] if j else "", j[0]["tags"] if j else "", j[0].get("component") if j else "")
' "$TMP/snaps.json" 2>&1)
expect_eq "--time/--tag/--component recorded (time shows as 2020-01-02T03:04:05)" \
    "1 2020-01-02T03:04:05 ['daily', 'db', 'extra'] database" "$s1"
expect_eq "snapshots --host hostA" 1 "$(nsnaps "$RT" --host hostA)"
expect_eq "snapshots --tag weekly" 1 "$(nsnaps "$RT" --tag weekly)"
expect_eq "snapshots --tag db" 1 "$(nsnaps "$RT" --tag db)"
expect_eq "snapshots --component database" 1 "$(nsnaps "$RT" --component database)"
expect_eq "snapshots --host nosuch" 0 "$(nsnaps "$RT" --host nosuch)"
expect_eq "snapshots (all)" 3 "$(nsnaps "$RT")"
expect_eq "snapshots --host hostB --component uploads" "hostB uploads" \
    "$("$LB" -r "$RT" snapshots --json --host hostB --component uploads | jq_py '" ".join(s["hostname"] + " " + s["component"] for s in j)')"
# `latest` honours the filters; without them it is the newest by time, not the 2020 one
check "restore latest" "$LB" -r "$RT" restore latest --target "$TMP/rt-latest" -q
expect_eq "restore latest picks the newest snapshot" three "$(cat "$TMP/rt-latest$T/f" 2>&1)"
check "restore latest --host hostA" "$LB" -r "$RT" restore latest --host hostA --target "$TMP/rt-a" -q
expect_eq "restore latest --host hostA restores that host's snapshot" one "$(cat "$TMP/rt-a$T/f" 2>&1)"
check "restore latest --tag weekly" "$LB" -r "$RT" restore latest --tag weekly --target "$TMP/rt-w" -q
expect_eq "restore latest --tag weekly restores the tagged snapshot" two "$(cat "$TMP/rt-w$T/f" 2>&1)"
check_rc 1 "restore latest --host nosuch fails" "$LB" -r "$RT" restore latest --host nosuch --target "$TMP/rt-none"
check_rc 1 "--time with a bad value is refused" "$LB" -r "$RT" backup "$T" --time 'yesterday'
expect_eq "no snapshot from the refused --time" 3 "$(nsnaps "$RT")"

# ---------------------------------------------------------------- --tag means the same everywhere
# backup --tag a,b adds a and b; as a filter --tag a,b selects snapshots with
# both, and repeated --tag options are alternatives (restic's rule)
RG=$TMP/repo-tag-groups
new_repo "$RG"
echo g >"$T/f"
check "backup --tag a,b" "$LB" -r "$RG" backup "$T" --tag a,b -q
check "backup --tag c (a second snapshot)" "$LB" -r "$RG" backup "$T" --tag c -q
expect_eq "backup --tag a,b recorded tags a and b" "['a', 'b']" \
    "$("$LB" -r "$RG" snapshots --json --tag c,a --tag a | jq_py '[s["tags"] for s in j][0]')"
expect_eq "snapshots --tag a,b selects it" 1 "$(nsnaps "$RG" --tag a,b)"
expect_eq "snapshots --tag a,c selects nothing" 0 "$(nsnaps "$RG" --tag a,c)"
expect_eq "snapshots --tag a,c --tag b selects it" 1 "$(nsnaps "$RG" --tag a,c --tag b)"
expect_eq "snapshots --tag a --tag c selects both" 2 "$(nsnaps "$RG" --tag a --tag c)"
check "restore --tag a,b latest" "$LB" -r "$RG" restore --tag a,b latest --target "$TMP/rg-ab" -q
check_rc 1 "restore --tag a,c latest finds nothing" "$LB" -r "$RG" restore --tag a,c latest --target "$TMP/rg-ac"
check "restore --tag a,c --tag b latest" "$LB" -r "$RG" restore --tag a,c --tag b latest --target "$TMP/rg-acb" -q
forget_count() { # forget --dry-run with a policy that keeps nothing: snapshots it would remove
    "$LB" -r "$RG" forget --keep-tag nosuch --dry-run --json "$@" | jq_py 'sum(len(g["remove"]) for g in j["groups"])'
}
expect_eq "forget --tag a,b --dry-run considers it" 1 "$(forget_count --tag a,b)"
expect_eq "forget --tag a,c --dry-run considers nothing" 0 "$(forget_count --tag a,c)"
expect_eq "forget --tag a,c --tag b --dry-run considers it" 1 "$(forget_count --tag a,c --tag b)"
for sel in "a,b:1" "a,c:0" "a,c b:1"; do
    dst=$TMP/repo-tag-copy-$RANDOM
    new_repo "$dst"
    tags=()
    for t in ${sel%%:*}; do tags+=(--tag "$t"); done
    env LIFEBOAT_FROM_PASSWORD="$LIFEBOAT_PASSWORD" "$LB" -r "$dst" copy --from-repo "$RG" "${tags[@]}" -q >"$TMP/.out" 2>&1
    expect_eq "copy ${tags[*]} copies ${sel#*:} snapshot(s)" "${sel#*:}" "$(nsnaps "$dst")"
done

# ---------------------------------------------------------------- option errors (exit 1, named)
opt_err() { # description "expected message part" command...
    local d=$1 want=$2; shift 2
    check_rc 1 "$d" "$@"
    if last_output | grep -qF -- "$want"; then ok "... says: $want"; else fail "... says: $want"; last_output | sed 's/^/#   /'; fi
}
opt_err "unknown option" "lifeboat: snapshots: option '--nope': unknown option" "$LB" -r "$RG" snapshots --nope
opt_err "unknown short option" "lifeboat: snapshots: option '-Z': unknown option" "$LB" -r "$RG" snapshots -Z
opt_err "missing value" "lifeboat: restore: option '--target': needs a value" "$LB" -r "$RG" restore latest --target
opt_err "bad integer" "lifeboat: init: option '--compression' value '25': expected a whole number from 1 to 19" \
    "$LB" -r "$TMP/badopt" init --compression 25
opt_err "bad enum" "lifeboat: backup --pg-physical: option '--checkpoint' value 'slow': expected one of fast, spread" \
    "$LB" -r "$RG" backup --pg-physical --checkpoint slow
opt_err "a value for a flag" "lifeboat: backup: option '--force': takes no value" "$LB" -r "$RG" backup "$T" --force=yes
opt_err "an option of another variant" "lifeboat: backup --pg: option '--exclude': does not apply to 'backup --pg'" \
    "$LB" -r "$RG" backup --pg "host=/nonexistent" --exclude x
opt_err "an option of another verb" "lifeboat: snapshots: option '--keep-last': unknown option" \
    "$LB" -r "$RG" snapshots --keep-last 1
opt_err "unknown command" "lifeboat: unknown command 'bakup'" "$LB" bakup
check "--x=v and -xV forms: --tag=a,b and -Hh1" "$LB" -r "$RG" backup "$T" --tag=a,b -Hh1 -q
expect_eq "... recorded host h1 with tags a and b" 1 "$(nsnaps "$RG" --host=h1 --tag a,b)"
check "bundled short flags: -qf" "$LB" -r "$RG" backup "$T" -qf
check "global options after the verb and -r before" "$LB" snapshots -r "$RG" --json -q
check "-- ends the options: a path named like an option" bash -c "cd '$T' && mkdir -p -- -odd && '$LB' -r '$RG' backup -q -- -odd"

# ---------------------------------------------------------------- ls
RL=$TMP/repo-ls
new_repo "$RL"
L=$TMP/lsrc
mkdir -p "$L/b"
echo a >"$L/a"
echo c >"$L/b/c"
chmod 0755 "$L"
chmod 0644 "$L/a"
chmod 0750 "$L/b"
chmod 4755 "$L/b/c"
ln -s a "$L/link"
check "backup for ls" "$LB" -r "$RL" backup "$L" -q
expect_eq "ls latest lists every path" "/tmp $TMP $L $L/a $L/b $L/b/c $L/link " \
    "$("$LB" -r "$RL" ls latest 2>&1 | tr '\n' ' ')"
expect_eq "ls latest PATH lists below PATH" "$L/b $L/b/c " "$("$LB" -r "$RL" ls latest "$L/b" 2>&1 | tr '\n' ' ')"
"$LB" -r "$RL" ls -l latest "$L" >"$TMP/ls-l.out" 2>&1
modes=$(awk -v L="$L" '{ for (i = 1; i <= NF; i++) if (index($i, L) == 1) { p = $i; sub(L, "L", p); print $1, p } }' "$TMP/ls-l.out" | tr '\n' ',')
expect_eq "ls -l shows modes" "drwxr-xr-x L,-rw-r--r-- L/a,drwxr-x--- L/b,-rwsr-xr-x L/b/c,lrwxrwxrwx L/link," "$modes"
if grep -q "$L/link -> a\$" "$TMP/ls-l.out"; then ok "ls -l shows the symlink target"; else fail "ls -l shows the symlink target"; sed 's/^/#   /' "$TMP/ls-l.out"; fi
"$LB" -r "$RL" ls --json latest "$L/b/c" >"$TMP/ls.json" 2>&1
expect_eq "ls --json: one object per entry with path, type, mode" "$L/b/c file 2541 2" \
    "$(python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read()); print(j["path"], j["type"], j["mode"], j["size"] if "size" in j else "")' "$TMP/ls.json" 2>&1)"
check_rc 1 "ls of a path not in the snapshot fails" "$LB" -r "$RL" ls latest "$L/nope"

# ---------------------------------------------------------------- diff
RD=$TMP/repo-diff
new_repo "$RD"
D=$TMP/dsrc
mkdir -p "$D/sub"
for f in keep remove-me change-me meta sub/inner; do echo "$f" >"$D/$f"; done
chmod 644 "$D/meta"
A=$("$LB" -r "$RD" backup "$D" --json 2>/dev/null | jq_py 'j["snapshot_id"]')
rm "$D/remove-me"
rm -r "$D/sub"
echo "changed content" >"$D/change-me"
echo new >"$D/new-file"
mkdir "$D/newdir"
echo f >"$D/newdir/f"
chmod 600 "$D/meta"
B=$("$LB" -r "$RD" backup "$D" --json 2>/dev/null | jq_py 'j["snapshot_id"]')
if [ ${#A} -eq 64 ] && [ ${#B} -eq 64 ] && [ "$A" != "$B" ]; then ok "diff: two snapshots"; else fail "diff: two snapshots ($A / $B)"; fi
"$LB" -r "$RD" diff "$A" "$B" >"$TMP/diff.out" 2>&1
rc=$?
expect_eq "diff exits 0" 0 "$rc"
got=$(grep -E "^[-+MU] +$D/" "$TMP/diff.out" | sed "s|$D/|D/|" | LC_ALL=C sort | tr -s ' ' | tr '\n' ',')
expect_eq "diff shows +, -, M and U lines for the changed entries only" \
    "+ D/new-file,+ D/newdir,+ D/newdir/f,- D/remove-me,- D/sub,- D/sub/inner,M D/change-me,U D/meta," "$got"
if grep -q "^3 added, 3 removed, 1 modified" "$TMP/diff.out"; then ok "diff prints a summary line"; else fail "diff prints a summary line"; sed 's/^/#   /' "$TMP/diff.out"; fi
expect_eq "diff of a snapshot with itself is empty" "0 added, 0 removed, 0 modified, 0 metadata changed" \
    "$("$LB" -r "$RD" diff "$A" "$A" 2>&1 | sed '/^$/d')"
check "diff with short IDs" "$LB" -r "$RD" diff "${A:0:8}" "${B:0:8}"

# ---------------------------------------------------------------- keys
RK=$TMP/repo-keys
new_repo "$RK"
echo "second-password" >"$TMP/pw2"
echo "third-password" >"$TMP/pw3"
current_key() { # password: ID of the key that password opens
    LIFEBOAT_PASSWORD=$1 "$LB" -r "$RK" key list --json | jq_py '[k["id"] for k in j if k["current"]][0]'
}
first_key=$(current_key test-password-123)
check "key add --new-password-file" "$LB" -r "$RK" key add --new-password-file "$TMP/pw2"
check "the new password opens the repository" env LIFEBOAT_PASSWORD=second-password "$LB" -r "$RK" snapshots
check "the old password still opens it" "$LB" -r "$RK" snapshots
n=$("$LB" -r "$RK" key list --json | jq_py 'len(j)')
expect_eq "key list shows 2 keys" 2 "$n"
expect_eq "key list marks exactly one key current" 1 "$("$LB" -r "$RK" key list --json | jq_py 'sum(1 for k in j if k["current"])')"
second_key=$(current_key second-password)
if [ ${#first_key} -eq 64 ] && [ ${#second_key} -eq 64 ] && [ "$first_key" != "$second_key" ]; then
    ok "each password opens its own key"; else fail "each password opens its own key ($first_key / $second_key)"; fi
check_rc 1 "removing the key in use is refused" env LIFEBOAT_PASSWORD=second-password "$LB" -r "$RK" key remove "$second_key"
if last_output | grep -q "in use"; then ok "refused key removal: message says the key is in use"; else
    fail "refused key removal: message says the key is in use"; last_output | sed 's/^/#   /'; fi
expect_eq "the refused removal kept both keys" 2 "$("$LB" -r "$RK" key list --json | jq_py 'len(j)')"
check "key remove of the other key" env LIFEBOAT_PASSWORD=second-password "$LB" -r "$RK" key remove "${first_key:0:8}"
expect_eq "key list now shows 1 key" 1 "$(LIFEBOAT_PASSWORD=second-password "$LB" -r "$RK" key list --json | jq_py 'len(j)')"
check_rc 12 "the removed key's password no longer opens the repository" "$LB" -r "$RK" snapshots
check "key passwd --new-password-file" env LIFEBOAT_PASSWORD=second-password "$LB" -r "$RK" key passwd --new-password-file "$TMP/pw3"
check "the changed password opens the repository" env LIFEBOAT_PASSWORD=third-password "$LB" -r "$RK" snapshots
check_rc 12 "the password before passwd fails with exit 12" env LIFEBOAT_PASSWORD=second-password "$LB" -r "$RK" snapshots
expect_eq "still exactly 1 key after passwd" 1 "$(LIFEBOAT_PASSWORD=third-password "$LB" -r "$RK" key list --json | jq_py 'len(j)')"
check "password from LIFEBOAT_PASSWORD_FILE" env -u LIFEBOAT_PASSWORD LIFEBOAT_PASSWORD_FILE="$TMP/pw3" "$LB" -r "$RK" snapshots

# ---------------------------------------------------------------- stats
"$LB" -r "$RT" stats --json >"$TMP/stats.json" 2>&1
files_total=$(find "$RT" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
packs=$(find "$RT/data" -type f | wc -l)
got=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
snaps = json.load(open(sys.argv[2]))
print(s["snapshots_count"] == len(snaps), s["repository_size"], s["packs_count"],
      s["data_blobs"] >= 1 and s["tree_blobs"] >= 3, s["stored_blob_size"] <= s["repository_size"],
      s["snapshots_total_size"] == sum(x["summary"]["total_bytes"] for x in snaps))
' "$TMP/stats.json" "$TMP/snaps.json" 2>&1)
expect_eq "stats --json: snapshot count, repository_size = sum of file sizes, packs, blobs, totals" \
    "True $files_total $packs True True True" "$got"

# ---------------------------------------------------------------- check
expect_eq "check --json: ok, every pack listed, none read" "True True 0" "$("$LB" -r "$RT" check --json |
    jq_py '"%s %s %d" % (j["ok"], j["packs"] == int(sys.argv[2]), j["packs_read"])' "$packs" 2>&1)"
expect_eq "check --read-data --json: every pack read" "True $packs" "$("$LB" -r "$RT" check --read-data --json |
    jq_py '"%s %d" % (j["ok"], j["packs_read"])' 2>&1)"
expect_eq "check --read-data-subset 50%: some packs read, not more than all" "True True" "$("$LB" -r "$RT" check \
    --read-data-subset 50% --json | jq_py '"%s %s" % (j["ok"], 0 < j["packs_read"] <= int(sys.argv[2]))' "$packs" 2>&1)"
check_rc 1 "check --read-data-subset 0% is refused" "$LB" -r "$RT" check --read-data-subset 0%
check_rc 1 "check --read-data-subset abc is refused" "$LB" -r "$RT" check --read-data-subset abc

# ---------------------------------------------------------------- locks (exit 11)
mkfifo "$TMP/pipe"
exec 7<>"$TMP/pipe" # keeps a writer open: the backup below blocks reading stdin
"$LB" -r "$RT" backup --stdin --stdin-filename slow -q <"$TMP/pipe" >"$TMP/slow.out" 2>&1 7>&- &
slow=$!
for _ in $(seq 1 50); do [ -n "$(ls -A "$RT/locks" 2>/dev/null)" ] && break; sleep 0.1; done
check_rc 11 "an exclusive command on a repository in use exits 11" "$LB" -r "$RT" check
if last_output | grep -q "already locked"; then ok "locked: message says the repository is locked"; else fail "locked: message says the repository is locked"; fi
check_rc 0 "a shared lock (restore) is allowed meanwhile" "$LB" -r "$RT" restore latest --target "$TMP/r-locked" -q
echo "slow data" >&7
exec 7>&-
wait "$slow"
expect_eq "the backup holding the lock completes" 0 "$?"
check_rc 0 "check works once the lock is released" "$LB" -r "$RT" check
expect_eq "no lock left behind" "" "$(ls -A "$RT/locks" 2>&1)"

# ---------------------------------------------------------------- unlock
nlocks() { find "$RT/locks" -type f | wc -l; }
start_holder() { # a backup that holds a shared lock while it waits on a FIFO
    rm -f "$TMP/pipe2"
    mkfifo "$TMP/pipe2"
    exec 8<>"$TMP/pipe2"
    "$LB" -r "$RT" backup --stdin --stdin-filename held -q <"$TMP/pipe2" >/dev/null 2>&1 8>&- &
    holder=$!
    for _ in $(seq 1 50); do [ "$(nlocks)" -gt 0 ] && break; sleep 0.1; done
}
stop_holder() { kill -9 "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; exec 8>&-; }
start_holder
expect_eq "unlock: a live process holds one lock" 1 "$(nlocks)"
expect_eq "unlock keeps the lock of a live process" '{"removed":0}' "$("$LB" -r "$RT" unlock --json 2>&1)"
expect_eq "unlock: the live lock is still there" 1 "$(nlocks)"
stop_holder
expect_eq "a killed process leaves its lock behind" 1 "$(nlocks)"
check_rc 0 "unlock removes the stale lock" "$LB" -r "$RT" unlock
if last_output | grep -q "removed 1 stale lock"; then ok "unlock reports the removed lock"; else fail "unlock reports the removed lock"; last_output | sed 's/^/#   /'; fi
expect_eq "no lock left after unlock" 0 "$(nlocks)"
start_holder
stop_holder
expect_eq "a killed process leaves its lock behind (again)" 1 "$(nlocks)"
check_rc 0 "an exclusive command ignores the lock of a dead process on this host" "$LB" -r "$RT" check
expect_eq "... and removes it" 0 "$(nlocks)"
start_holder
expect_eq "unlock --remove-all removes a live lock too" '{"removed":1}' "$("$LB" -r "$RT" unlock --remove-all --json 2>&1)"
expect_eq "no lock left after unlock --remove-all" 0 "$(nlocks)"
stop_holder
expect_eq "the interrupted backups wrote no snapshot" 4 "$(nsnaps "$RT")"

# ---------------------------------------------------------------- unreadable files (exit 3)
if [ "$ROOT" -eq 1 ]; then
    if ! command -v setpriv >/dev/null; then
        skip "unreadable file: exit 3 (setpriv missing)"
    else
        chmod 711 "$TMP"
        NB=$TMP/nb
        mkdir -p "$NB/tree/sub"
        echo readable >"$NB/tree/ok.txt"
        echo readable >"$NB/tree/sub/ok2.txt"
        chown -R nobody "$NB"
        echo secret >"$NB/tree/secret.txt"       # root-owned, 0600: nobody cannot read it
        chmod 600 "$NB/tree/secret.txt"
        mkdir "$NB/tree/private"                  # root-owned, 0700: nobody cannot list it
        echo x >"$NB/tree/private/inside"
        chmod 700 "$NB/tree/private"
        as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
        check "init as nobody" as_nobody "$LB" -r "$NB/repo" init --kdf-n 1024 -q
        as_nobody "$LB" -r "$NB/repo" backup "$NB/tree" >"$TMP/unr.out" 2>"$TMP/unr.err"
        expect_eq "backup with unreadable files exits 3" 3 "$?"
        if grep -q "$NB/tree/secret.txt" "$TMP/unr.err" && grep -q "$NB/tree/private" "$TMP/unr.err"; then
            ok "the unreadable paths are listed on stderr"; else fail "the unreadable paths are listed on stderr"; sed 's/^/#   /' "$TMP/unr.err"; fi
        expect_eq "the snapshot exists despite unreadable files" 1 "$(as_nobody "$LB" -r "$NB/repo" snapshots --json | jq_py 'len(j)')"
        got=$(as_nobody "$LB" -r "$NB/repo" ls latest "$NB/tree" 2>&1 | sed "s|^$NB/||" | LC_ALL=C sort | tr '\n' ' ')
        expect_eq "the snapshot holds the readable files" "tree tree/ok.txt tree/private tree/sub tree/sub/ok2.txt " "$got"
        expect_eq "the snapshot's summary counts 2 unreadable entries" 2 \
            "$(as_nobody "$LB" -r "$NB/repo" snapshots --json | jq_py 'j[0]["summary"]["files_unreadable"]')"
        as_nobody "$LB" -r "$NB/repo" backup "$NB/tree" --json >"$TMP/unr.json" 2>/dev/null
        expect_eq "backup --json with unreadable files exits 3" 3 "$?"
        expect_eq "the --json summary lists the unreadable paths" "2 True True" "$(jq_py '"%d %s %s" % (j["files_unreadable"],
            any(u.startswith(sys.argv[2] + "/tree/secret.txt") for u in j["unreadable"]),
            any(u.startswith(sys.argv[2] + "/tree/private") for u in j["unreadable"]))' "$NB" <"$TMP/unr.json" 2>&1)"
    fi
else
    U=$TMP/unreadable
    mkdir -p "$U"
    echo readable >"$U/ok.txt"
    echo secret >"$U/secret.txt"
    chmod 000 "$U/secret.txt"
    RU=$TMP/repo-unr
    new_repo "$RU"
    "$LB" -r "$RU" backup "$U" >"$TMP/unr.out" 2>"$TMP/unr.err"
    expect_eq "backup with an unreadable file exits 3" 3 "$?"
    if grep -q "$U/secret.txt" "$TMP/unr.err"; then ok "the unreadable path is listed on stderr"; else fail "the unreadable path is listed on stderr"; fi
    expect_eq "the snapshot exists despite the unreadable file" 1 "$(nsnaps "$RU")"
    expect_eq "the snapshot holds the readable file" "$U/ok.txt" "$("$LB" -r "$RU" ls latest "$U/ok.txt" 2>&1)"
fi

# ---------------------------------------------------------------- output contract (docs/commands.md, "Output")
# one_doc DESC CMD...: exit 0 and stdout is exactly one JSON document
one_doc() {
    local d=$1; shift
    "$@" >"$TMP/doc.out" 2>"$TMP/doc.err"
    local rc=$?
    if [ "$rc" -eq 0 ] && python3 -c 'import json,sys; json.load(sys.stdin)' <"$TMP/doc.out" 2>/dev/null; then
        ok "$d: one JSON document"; else
        fail "$d: one JSON document (exit $rc)"; head -c 600 "$TMP/doc.out" "$TMP/doc.err" | sed 's/^/#   /'; fi
}
# json_lines DESC LAST CMD...: exit 0, every stdout line a JSON object with a
# message_type, at least one line, the last one of type LAST (any when "")
json_lines() {
    local d=$1 last=$2; shift 2
    "$@" >"$TMP/doc.out" 2>"$TMP/doc.err"
    local rc=$?
    if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
assert lines and all(isinstance(j, dict) and "message_type" in j for j in lines)
assert not sys.argv[2] or lines[-1]["message_type"] == sys.argv[2]
' "$TMP/doc.out" "$last" 2>/dev/null; then
        ok "$d: JSON Lines"; else
        fail "$d: JSON Lines (exit $rc)"; head -c 600 "$TMP/doc.out" "$TMP/doc.err" | sed 's/^/#   /'; fi
}
# err_doc RC CODE DESC CMD...: exit RC, stdout exactly the error object naming CODE and RC
err_doc() {
    local want=$1 code=$2 d=$3; shift 3
    "$@" >"$TMP/doc.out" 2>"$TMP/doc.err"
    local rc=$?
    if [ "$rc" -eq "$want" ] && python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["message_type"] == "error" and j["code"] == sys.argv[2] and j["exit_code"] == int(sys.argv[3]), j
assert isinstance(j["message"], str) and j["message"], j
' "$TMP/doc.out" "$code" "$want" 2>/dev/null; then
        ok "$d: exit $want and the error object ($code)"; else
        fail "$d: exit $want and the error object ($code) (exit $rc)"; head -c 600 "$TMP/doc.out" "$TMP/doc.err" | sed 's/^/#   /'; fi
}
RO=$TMP/repo-out
O=$TMP/out-src
LONGHOST=a-very-long-host-name.db.example.internal
mkdir -p "$O"
echo a >"$O/a"
head -c 123456 /dev/urandom >"$O/big"
one_doc "init --json" "$LB" -r "$RO" init --kdf-n 1024 --json
"$LB" -r "$RO" backup "$O" --host "$LONGHOST" --component database-physical --tag x -q
ls "$RO/index" >"$TMP/ro-index1"
echo b >"$O/b"
"$LB" -r "$RO" backup "$O" --host h -q
one_doc "snapshots --json" "$LB" -r "$RO" snapshots --json
OA=$("$LB" -r "$RO" snapshots --json | jq_py 'j[0]["id"]')
OB=$("$LB" -r "$RO" snapshots --json | jq_py 'j[1]["id"]')
one_doc "stats --json" "$LB" -r "$RO" stats --json
one_doc "check --json" "$LB" -r "$RO" check --json
one_doc "unlock --json" "$LB" -r "$RO" unlock --json
one_doc "key list --json" "$LB" -r "$RO" key list --json
echo "second-key" >"$TMP/pw2"
one_doc "key add --json" env LIFEBOAT_NEW_PASSWORD_FILE="$TMP/pw2" "$LB" -r "$RO" key add --json
one_doc "forget --dry-run --json" "$LB" -r "$RO" forget --keep-last 1 --dry-run --json
one_doc "prune --dry-run --json" "$LB" -r "$RO" prune --dry-run --json
new_repo "$TMP/repo-out2"
one_doc "copy --json" env LIFEBOAT_FROM_PASSWORD="$LIFEBOAT_PASSWORD" "$LB" -r "$TMP/repo-out2" copy --from-repo "$RO" --json
json_lines "ls --json" "" "$LB" -r "$RO" ls latest --json
json_lines "diff --json" statistics "$LB" -r "$RO" diff "$OA" "$OB" --json
expect_eq "diff --json: the statistics line counts the change" "1 0" \
    "$(tail -1 "$TMP/doc.out" | jq_py '"%d %d" % (j["added"], j["removed"])')"
one_doc "forget --prune --json (forget and prune in one object)" "$LB" -r "$TMP/repo-out2" forget --keep-last 1 --group-by paths --prune --json
expect_eq "forget --prune --json: removed and prune's summary" "1 prune" \
    "$(jq_py '"%d %s" % (j["removed"], j["prune"]["message_type"])' <"$TMP/doc.out")"
# errors under --json: the error object on stdout, its exit code
err_doc 10 no-repository "snapshots --json without a repository" "$LB" -r "$TMP/no-repo-here" snapshots --json
err_doc 12 wrong-password "stats --json with a wrong password" env LIFEBOAT_PASSWORD=wrong "$LB" -r "$RO" stats --json
err_doc 1 usage "forget --json without a policy" "$LB" -r "$RO" forget --json
err_doc 1 not-found "ls --json of an unknown snapshot" "$LB" -r "$RO" ls 0000dead --json
err_doc 1 usage "key --json with an unknown subcommand" "$LB" -r "$RO" key frobnicate --json
# ls and diff load the index tolerantly: a damaged index file is a warning,
# and only what nothing else names is missing
RX=$TMP/repo-damaged-index
cp -a "$RO" "$RX"
second=$(ls "$RX/index" | grep -vxF -f "$TMP/ro-index1")
if [ "$(echo "$second" | wc -w)" -eq 1 ]; then
    printf 'garbage' | dd of="$RX/index/$second" bs=1 seek=40 conv=notrunc 2>/dev/null
    "$LB" -r "$RX" ls "$OA" >"$TMP/lsx.out" 2>"$TMP/lsx.err"
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q "$O/a" "$TMP/lsx.out" && grep -q "${second:0:8}" "$TMP/lsx.err"; then
        ok "ls with a damaged index file: the intact snapshot lists, with a warning naming the file"; else
        fail "ls with a damaged index file: the intact snapshot lists, with a warning naming the file (exit $rc)"
        sed 's/^/#   /' "$TMP/lsx.err" | head -5; fi
    check_rc 1 "ls of the snapshot only the damaged index file names fails" "$LB" -r "$RX" ls "$OB"
    check_rc 0 "diff of the intact snapshot with itself despite the damaged index file" "$LB" -r "$RX" diff "$OA" "$OA"
else
    fail "the second backup wrote one index file (got: $second)"
fi
# human tables: columns sized to their content
"$LB" -r "$RO" snapshots >"$TMP/table.out" 2>&1
if python3 -c '
import sys
lines = open(sys.argv[1]).read().splitlines()
head, rows = lines[0], [l for l in lines[1:] if "/" in l]
assert len(rows) == 2, lines
assert rows[0].index(sys.argv[2]) == head.index("Host"), lines
assert rows[0].index("database-physical") == head.index("Component"), lines
assert rows[0].index(" x ") + 1 == head.index("Tags"), lines
assert all(r.index(" /") + 1 == head.index("Paths") for r in rows), lines
' "$TMP/table.out" "$LONGHOST"; then
    ok "snapshots table: a long host and component keep every column aligned"; else
    fail "snapshots table: a long host and component keep every column aligned"; sed 's/^/#   /' "$TMP/table.out"; fi
"$LB" -r "$RO" ls -l latest >"$TMP/lsl.out" 2>&1
if python3 -c '
import sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 3 and len({l.index(" /") for l in lines}) == 1, lines
assert any(" 123456 " in l for l in lines), lines
' "$TMP/lsl.out"; then
    ok "ls -l: paths start in one column"; else
    fail "ls -l: paths start in one column"; sed 's/^/#   /' "$TMP/lsl.out"; fi
"$LB" -r "$RO" stats >"$TMP/stats.out" 2>&1
if python3 -c '
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 7 and len({re.match(r"[^:]*:\s+", l).end() for l in lines}) == 1, lines
' "$TMP/stats.out"; then
    ok "stats: the values start in one column"; else fail "stats: the values start in one column"; sed 's/^/#   /' "$TMP/stats.out"; fi

# -v and -vv (docs/commands.md, "Output")
"$LB" -r "$RO" ls latest 2>"$TMP/v0.err" >/dev/null
"$LB" -r "$RO" -vv ls latest 2>"$TMP/v2.err" >/dev/null
if ! grep -q "^debug: " "$TMP/v0.err" && grep -q "^debug: loading tree" "$TMP/v2.err"; then ok "-vv adds debug lines on stderr, none without it"; else
    fail "-vv adds debug lines on stderr, none without it"; sed 's/^/#   /' "$TMP/v0.err" "$TMP/v2.err" | head -5; fi
"$LB" -r "$RO" forget --keep-last 1 --group-by paths -v >/dev/null 2>"$TMP/v1.err"
if grep -q "^removed snapshot ${OA:0:8}" "$TMP/v1.err" && ! grep -q "^debug: " "$TMP/v1.err"; then ok "forget -v names each snapshot it removes"; else
    fail "forget -v names each snapshot it removes"; sed 's/^/#   /' "$TMP/v1.err" | head -5; fi

# ---------------------------------------------------------------- progress line
P=$TMP/prog
mkdir -p "$P"
head -c 3000000 /dev/urandom >"$P/data"
RP=$TMP/repo-prog
new_repo "$RP"
{
    "$LB" -r "$RP" backup "$P"
    "$LB" -r "$RP" restore latest --target "$TMP/r-prog"
    "$LB" -r "$RP" check --read-data
} >"$TMP/prog.out" 2>"$TMP/prog.err"
if [ -s "$TMP/prog.out" ] && ! grep -q $'\r' "$TMP/prog.out" "$TMP/prog.err" && ! grep -q $'\033' "$TMP/prog.out" "$TMP/prog.err"; then
    ok "no progress line (no \\r, no escape) when not on a terminal"; else
    fail "no progress line (no \\r, no escape) when not on a terminal"; od -c "$TMP/prog.err" | head -5 | sed 's/^/#   /'; fi
if command -v script >/dev/null; then
    script -qec "'$LB' -r '$RP' backup '$P' --force" /dev/null </dev/null >"$TMP/tty.out" 2>&1
    if grep -q $'\r\033\[K' "$TMP/tty.out"; then ok "a progress line appears on a terminal"; else
        fail "a progress line appears on a terminal"; od -c "$TMP/tty.out" | head -5 | sed 's/^/#   /'; fi
else
    skip "a progress line appears on a terminal (no script(1))"
fi

finish
