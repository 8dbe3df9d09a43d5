#!/usr/bin/env python3
"""splice.py MD SECTION - put the Markdown section in file SECTION (its first
line is its "## " title) into MD: replace the section of that title, or add
it before "## Restore verification", or at the end."""
import os
import sys


def splice(md_path, section_lines):
    lines = open(md_path).read().split("\n") if os.path.exists(md_path) else []
    title = section_lines[0]
    if title in lines:
        a = lines.index(title)
        b = next((i for i in range(a + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[a:b] = section_lines + [""]
    elif "## Restore verification" in lines:
        a = lines.index("## Restore verification")
        lines[a:a] = section_lines + [""]
    else:
        lines += [""] + section_lines
    with open(md_path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    splice(sys.argv[1], open(sys.argv[2]).read().rstrip("\n").split("\n"))
