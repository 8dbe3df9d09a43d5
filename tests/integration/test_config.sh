#!/usr/bin/env bash
# test_config.sh - lifeboat config check|show: examples/platform.yaml passes;
# a broken file exits 1 with FILE:LINE:COL: key.path on stderr (every error,
# nothing on stdout); --config, LIFEBOAT_CONFIG and the positional FILE are
# honoured; --json reports validity; config show never prints a secret that
# came from the environment.
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
EXAMPLE="$ROOTDIR/examples/platform.yaml"

check "config check examples/platform.yaml exits 0" "$LB" config check "$EXAMPLE"
if grep -qx "$EXAMPLE: ok (2 repositories, 6 components, 5 jobs)" "$TMP/.out"; then
    ok "config check prints a one-line summary"
else
    fail "config check prints a one-line summary"; sed 's/^/#   /' "$TMP/.out"
fi

cat >broken.yaml <<'YAML'
repositories:
  main:
    url: /tmp/lifeboat-repo
    password_command: echo pw
components:
  database:
    type: postgres
    connection: dbname=app
    schedul: "*/15 * * * *"
    retention:
      keep_within: 35x
YAML
"$LB" config check broken.yaml >out.txt 2>err.txt
rc=$?
if [ "$rc" -eq 1 ] && grep -q "^broken.yaml:9:5: components.database.schedul: unknown key (did you mean 'schedule'?)$" err.txt &&
    grep -q "^broken.yaml:11:20: components.database.retention.keep_within: '35x' is not a duration" err.txt &&
    [ ! -s out.txt ]; then
    ok "a broken file exits 1 with every error as FILE:LINE:COL: key.path: reason on stderr"
else
    fail "a broken file exits 1 with FILE:LINE:COL: key.path (rc=$rc)"; sed 's/^/#   /' err.txt out.txt
fi

# where the file comes from: --config, LIFEBOAT_CONFIG, the default
check_rc 1 "config check --config names the file" "$LB" config check --config broken.yaml
grep -q "^broken.yaml:9:5:" "$TMP/.out" && ok "--config broken.yaml is the file read" || fail "--config broken.yaml is the file read"
check "LIFEBOAT_CONFIG names the file" env LIFEBOAT_CONFIG="$EXAMPLE" "$LB" config check
grep -q "^$EXAMPLE: ok" "$TMP/.out" && ok "LIFEBOAT_CONFIG's file is the one checked" || fail "LIFEBOAT_CONFIG's file is the one checked"
check_rc 1 "LIFEBOAT_CONFIG with a broken file exits 1" env LIFEBOAT_CONFIG=broken.yaml "$LB" config check
check_rc 1 "a missing file exits 1" "$LB" config check "$TMP/none.yaml"
grep -q "none.yaml" "$TMP/.out" && ok "a missing file is named" || fail "a missing file is named"

# --json
"$LB" config check --json broken.yaml >json.txt 2>/dev/null
if python3 -c 'import json,sys; d=json.load(open("json.txt")); sys.exit(0 if d["valid"] is False and len(d["errors"])==2 and d["errors"][0].startswith("broken.yaml:9:5: ") else 1)'; then
    ok "config check --json: valid false and every error"
else
    fail "config check --json"; sed 's/^/#   /' json.txt
fi
"$LB" config check --json "$EXAMPLE" >json.txt
python3 -c 'import json,sys; d=json.load(open("json.txt")); sys.exit(0 if d["valid"] and d["errors"]==[] else 1)' &&
    ok "config check --json on the example: valid" || fail "config check --json on the example"

# config show: no secret from the environment
cat >secret.yaml <<'YAML'
repositories:
  main:
    url: /tmp/lifeboat-repo
    password_command: fetch-password --token ${LB_TEST_TOKEN}
components:
  database:
    type: postgres
    connection: ${LB_TEST_PGURL}
YAML
export LB_TEST_TOKEN=tok-Zq81x LB_TEST_PGURL='postgresql://app:pw-Kd72m@db.internal/app'
check "config show exits 0" "$LB" config show secret.yaml
if ! grep -q "tok-Zq81x\|pw-Kd72m" "$TMP/.out" && grep -q "<redacted>" "$TMP/.out"; then
    ok "config show redacts the secrets from the environment"
else
    fail "config show redacts the secrets from the environment"; sed 's/^/#   /' "$TMP/.out"
fi
check "config show of the example exits 0" "$LB" config show "$EXAMPLE"
grep -q "schedule: \"0 0 2 \* \* ?\"" "$TMP/.out" && ok "config show prints the schedules" || fail "config show prints the schedules"
check_rc 1 "config without check or show exits 1" "$LB" config frobnicate

# docs/configuration.md's table of keys is the option table's (and the check can fail)
python3 "$ROOTDIR/scripts/gen-command-docs.py" --check "$LB" >"$TMP/.out" 2>&1
if ! grep -q "configuration.md" "$TMP/.out"; then ok "docs/configuration.md holds the option table's keys"; else
    fail "docs/configuration.md holds the option table's keys"; sed 's/^/#   /' "$TMP/.out"; fi
cp "$ROOTDIR/docs/configuration.md" "$TMP/configuration.md"
sed -i 's/^| `repositories.NAME.s3.region` |.*/| `repositories.NAME.s3.region` | string | | edited by hand |/' "$TMP/configuration.md"
python3 "$ROOTDIR/scripts/gen-command-docs.py" --check "$LB" "$ROOTDIR/docs/commands.md" "$TMP/configuration.md" >"$TMP/.out" 2>&1
if grep -q "configuration.md: the keys of 'file' differ" "$TMP/.out"; then ok "... and the check fails when a key was edited by hand"; else
    fail "... and the check fails when a key was edited by hand"; sed 's/^/#   /' "$TMP/.out"; fi
finish
