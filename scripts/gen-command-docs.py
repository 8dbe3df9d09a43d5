#!/usr/bin/env python3
"""gen-command-docs.py - put the option tables of the option table
(src/config/option.c, printed by the hidden `lifeboat help --markdown`) into
docs/commands.md, between its <!-- options:ID --> ... <!-- /options:ID -->
markers, and the table of configuration-file keys that mirror an option
into docs/configuration.md, between <!-- keys:file --> ... <!-- /keys:file -->.

usage: scripts/gen-command-docs.py [--check] [LIFEBOAT_BINARY [COMMANDS_MD [CONFIGURATION_MD]]]

--check changes nothing and exits 1 when the file differs from the table, or
when a command's table has no place in the file (or the file a place for a
table that does not exist). The binary defaults to $LIFEBOAT_BIN, then
build/lifeboat.
"""
import os
import re
import subprocess
import sys

BLOCK = re.compile(r"<!-- options:([a-z0-9-]+) -->\n.*?<!-- /options:\1 -->\n", re.S)
KEYS = re.compile(r"<!-- keys:([a-z0-9-]+) -->\n.*?<!-- /keys:\1 -->\n", re.S)


def sync(path, pattern, generated, kind, check):
    """Replace the marked blocks of path by the generated ones; the problems found."""
    tables = {m.group(1): m.group(0) for m in pattern.finditer(generated)}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    places = [m.group(1) for m in pattern.finditer(text)]
    problems = []
    for name in tables:
        if name not in places:
            problems.append(f"{path}: no <!-- {kind}:{name} --> section for the table '{name}'")
    for name in places:
        if name not in tables:
            problems.append(f"{path}: <!-- {kind}:{name} --> names no table of the option table")
    updated = pattern.sub(lambda m: tables.get(m.group(1), m.group(0)), text)
    for name in places:
        if name in tables and tables[name] not in text:
            problems.append(f"{path}: the {kind} of '{name}' differ from the option table")
    if not check and updated != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(updated)
    return problems


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = args[0] if args else os.environ.get("LIFEBOAT_BIN", os.path.join(root, "build", "lifeboat"))
    path = args[1] if len(args) > 1 else os.path.join(root, "docs", "commands.md")
    config_path = args[2] if len(args) > 2 else os.path.join(root, "docs", "configuration.md")
    generated = subprocess.run([binary, "help", "--markdown"], check=True, capture_output=True, text=True).stdout
    problems = sync(path, BLOCK, generated, "options", check)
    problems += sync(config_path, KEYS, generated, "keys", check)
    if check:
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("run scripts/gen-command-docs.py to update the file", file=sys.stderr)
        return 1 if problems else 0
    for p in problems:
        if "differ" not in p:
            print(p, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
