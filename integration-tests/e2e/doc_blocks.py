#!/usr/bin/env python3
"""Extracts the marked code blocks of a documentation page, so a test runs a page as written.

A block is marked by an HTML comment on the line before its opening fence:
    <!-- quickstart-test: KIND [ARG] -->
and is printed as one JSON object per line: {"kind": ..., "arg": ..., "text": ...}, in page order.
Unmarked blocks (steps the test does itself, such as starting a cluster) are skipped. A marker not
followed by a fenced block is an error, so a page edit cannot silently drop a step from the test.

Usage: doc_blocks.py PAGE.md
"""
import json
import re
import sys

MARKER = re.compile(r"^<!--\s*quickstart-test:\s*(\S+)(?:\s+(\S+))?\s*-->\s*$")


def blocks(lines):
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        i += 1
        if not m:
            continue
        if i >= len(lines) or not lines[i].startswith("```"):
            raise SystemExit(f"line {i}: marker {m.group(0).strip()} is not followed by a fenced block")
        i += 1
        start = i
        while i < len(lines) and not lines[i].startswith("```"):
            i += 1
        if i >= len(lines):
            raise SystemExit(f"line {start}: unterminated fenced block")
        yield {"kind": m.group(1), "arg": m.group(2), "text": "".join(l + "\n" for l in lines[start:i])}
        i += 1


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.read().split("\n")
    for block in blocks(lines):
        print(json.dumps(block))


if __name__ == "__main__":
    main()
