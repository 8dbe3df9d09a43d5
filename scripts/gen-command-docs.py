#!/usr/bin/env python3
"""gen-command-docs.py - put the option tables of the option table
(src/config/option.c, printed by the hidden `lifeboat help --markdown`) into
docs/commands.md, between its <!-- options:ID --> ... <!-- /options:ID -->
markers.

usage: scripts/gen-command-docs.py [--check] [LIFEBOAT_BINARY [COMMANDS_MD]]

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


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = args[0] if args else os.environ.get("LIFEBOAT_BIN", os.path.join(root, "build", "lifeboat"))
    path = args[1] if len(args) > 1 else os.path.join(root, "docs", "commands.md")
    generated = subprocess.run([binary, "help", "--markdown"], check=True, capture_output=True, text=True).stdout
    tables = {m.group(1): m.group(0) for m in BLOCK.finditer(generated)}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    places = [m.group(1) for m in BLOCK.finditer(text)]
    problems = []
    for name in tables:
        if name not in places:
            problems.append(f"{path}: no <!-- options:{name} --> section for the options of '{name}'")
    for name in places:
        if name not in tables:
            problems.append(f"{path}: <!-- options:{name} --> names no command of the option table")
    updated = BLOCK.sub(lambda m: tables.get(m.group(1), m.group(0)), text)
    for name in places:
        if name in tables and tables[name] not in text:
            problems.append(f"{path}: the options of '{name}' differ from the option table")
    if check:
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("run scripts/gen-command-docs.py to update the file", file=sys.stderr)
        return 1 if problems else 0
    if updated != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(updated)
    for p in problems:
        if "differ" not in p:
            print(p, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
