#!/usr/bin/env bash
# test_help.sh - the help and the option lists of docs/commands.md come from
# the option table: every command (and form of a command) listed by
# `lifeboat --help` answers `--help`, `-h` and `help COMMAND` with exit 0,
# lists exactly the options the table gives it (as `help --markdown` prints
# them), accepts each of them and refuses every other option; and
# docs/commands.md holds the same tables.
ROOTDIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

check "lifeboat --help exits 0" "$LB" --help
"$LB" --help >"$TMP/top.txt" 2>&1
# the commands: the lines under "commands:" up to the first blank line
sed -n '/^commands:/,/^$/p' "$TMP/top.txt" | sed -n 's/^  \([a-z-]*\( --[a-z-]*\)\?\)  .*/\1/p' >"$TMP/commands"
n=$(wc -l <"$TMP/commands")
if [ "$n" -ge 20 ] && grep -qx 'backup --pg' "$TMP/commands" && grep -qx 'restore --pg-physical' "$TMP/commands"; then
    ok "lifeboat --help lists $n commands and forms"
else
    fail "lifeboat --help lists the commands and forms"; sed 's/^/#   /' "$TMP/top.txt"
fi
check_rc 1 "lifeboat without a command exits 1" "$LB"

# every option of the table (the union of every command's markdown table)
"$LB" help --markdown >"$TMP/all.md"
sed -n 's/^| `\(-[a-zA-Z], \)\?--\([a-z0-9-]*\).*/\2/p' "$TMP/all.md" | sort -u >"$TMP/all-options"
nall=$(wc -l <"$TMP/all-options")
if [ "$nall" -ge 90 ]; then ok "the option table has $nall options"; else fail "the option table has $nall options"; fi

help_options() { # help text on stdin: the long names in its command sections (not the global ones)
    sed -n '/^options:$/,/^$/p; /^source repository options:$/,/^$/p' |
        sed -n 's/^  \(-[a-zA-Z], \|    \)--\([a-z0-9-]*\).*/\2/p' | sort -u
}

# probe_options FILE: for each option of FILE, "OPTION yes" when lifeboat
# (with the arguments in base) refuses it by name, else "OPTION no"
probe_options() {
    local opt out refused
    while read -r opt; do
        out=$(timeout 20 "$LB" -r "$TMP/no-repo/r" "${base[@]}" --"$opt" x </dev/null 2>&1)
        refused=no
        case $out in *"option '--$opt': unknown option"* | *"option '--$opt': does not apply"*) refused=yes ;; esac
        echo "$opt $refused"
    done <"$1"
}

while read -r cmd; do
    verb=${cmd%% *}
    form=
    [ "$cmd" != "$verb" ] && form=${cmd#* }
    id=$verb${form:+-${form#--}}
    # the arguments that select the form (--pg takes a value)
    base=($verb)
    case $form in
    --pg | --pg-target) base+=("$form" "") ;;
    ?*) base+=("$form") ;;
    esac
    if "$LB" $cmd --help >"$TMP/h1" 2>&1 && "$LB" $cmd -h >"$TMP/h2" 2>&1 && "$LB" help $cmd >"$TMP/h3" 2>&1 &&
        cmp -s "$TMP/h1" "$TMP/h2" && cmp -s "$TMP/h1" "$TMP/h3" && grep -q "^usage: lifeboat $verb" "$TMP/h1"; then
        ok "$cmd: --help, -h and help $cmd exit 0 with the same usage"
    else
        fail "$cmd: --help, -h and help $cmd exit 0 with the same usage"; sed 's/^/#   /' "$TMP/h1" | head -5
    fi
    help_options <"$TMP/h1" >"$TMP/listed"
    "$LB" help --markdown $cmd | sed -n 's/^| `\(-[a-zA-Z], \)\?--\([a-z0-9-]*\).*/\2/p' | sort -u >"$TMP/table"
    if "$LB" help --markdown $cmd | grep -q "^<!-- options:$id -->" && cmp -s "$TMP/listed" "$TMP/table"; then
        ok "$cmd: --help lists exactly the table's $(wc -l <"$TMP/table") options"
    else
        fail "$cmd: --help lists exactly the table's options"; diff "$TMP/listed" "$TMP/table" | sed 's/^/#   /'
    fi
    # each listed option is taken; every other one is refused by name (but
    # the option choosing another form of the verb chooses that form)
    [ "$cmd" = help ] && continue
    # sets of option names, looked up without a process per option (the
    # loop below runs lifeboat once per option and command: thousands)
    declare -A isSelector=() isListed=() isGlobal=()
    while read -r o; do [ -n "$o" ] && isSelector[$o]=1; done < <(sed -n "s/^$verb --\([a-z-]*\)\$/\1/p" "$TMP/commands")
    while read -r o; do [ -n "$o" ] && isListed[$o]=1; done <"$TMP/listed"
    while read -r o; do [ -n "$o" ] && isGlobal[$o]=1; done < <(sed -n '/^global options:$/,$p' "$TMP/h1" |
        sed -n 's/^  \(-[a-zA-Z], \|    \)--\([a-z0-9-]*\).*/\2/p')
    wrong=
    while read -r opt; do
        [ -n "${isSelector[$opt]:-}" ] && [ -z "${isListed[$opt]:-}" ] && continue
        echo "$opt"
    done <"$TMP/all-options" >"$TMP/probe"
    # three probes at a time (a process each: most of the test's time)
    rm -f "$TMP"/probe.part.* "$TMP"/probe.out.*
    split -n l/3 "$TMP/probe" "$TMP/probe.part."
    for part in "$TMP"/probe.part.*; do
        probe_options "$part" >"$TMP/probe.out.${part##*.}" &
    done
    wait
    while read -r opt refused; do
        if [ -n "${isListed[$opt]:-}" ] || [ -n "${isGlobal[$opt]:-}" ]; then
            [ "$refused" = yes ] && wrong="$wrong +$opt"
        else
            [ "$refused" = no ] && wrong="$wrong -$opt"
        fi
    done < <(cat "$TMP"/probe.out.*)
    if [ "$(cat "$TMP"/probe.out.* | wc -l)" != "$(wc -l <"$TMP/probe")" ]; then wrong="$wrong (a probe is missing)"; fi
    if [ -z "$wrong" ]; then ok "$cmd: takes its options and refuses the $(($(wc -l <"$TMP/all-options") - $(wc -l <"$TMP/listed"))) others"; else
        fail "$cmd: takes its options and refuses the others (+: listed but refused, -: not listed but taken):$wrong"; fi
done <"$TMP/commands"

# the bug this replaced: `backup --help` said "unknown option '--help'"
check "backup --help exits 0" "$LB" backup --help
if ! last_output | grep -q "unknown"; then ok "... without 'unknown option'"; else fail "... without 'unknown option'"; fi

# docs/commands.md holds the generated tables (and the check can fail)
check "docs/commands.md holds the option table's lists" python3 "$ROOTDIR/scripts/gen-command-docs.py" --check "$LB"
cp "$ROOTDIR/docs/commands.md" "$TMP/commands.md"
sed -i 's/^| `--keep-tag T\[,T2\]` |.*/| `--keep-tag T` | | edited by hand |/' "$TMP/commands.md"
check_rc 1 "... and the check fails when a list was edited by hand" \
    python3 "$ROOTDIR/scripts/gen-command-docs.py" --check "$LB" "$TMP/commands.md"
sed -i '/<!-- options:prune -->/,/<!-- \/options:prune -->/d' "$TMP/commands.md"
python3 "$ROOTDIR/scripts/gen-command-docs.py" --check "$LB" "$TMP/commands.md" >"$TMP/.out" 2>&1
if last_output | grep -q "no <!-- options:prune --> section"; then ok "... or a command's list is missing"; else
    fail "... or a command's list is missing"; last_output | sed 's/^/#   /'; fi

finish
