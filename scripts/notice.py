#!/usr/bin/env python3
"""Writes NOTICE: the third-party components bundled in the bridge jar (run it through scripts/notice.sh).

Rust: the crates linked into the native libraries, i.e. what `cargo build -p flink-rust-bridge`
(scripts/build-native.sh) links for each platform the jar carries, x86_64-unknown-linux-gnu and
aarch64-unknown-linux-gnu (the union; today the same crates):

  - `cargo metadata --filter-platform <target>`: the resolve graph, walked from the
    native-lib package along normal dependencies only (`dep_kinds` kind null: no dev-only or
    build-only dependencies), not into procedural macros (they run in the compiler and are not
    linked); it also gives each crate's license, source and package directory.
  - `cargo tree -p flink-rust-bridge -e normal,no-proc-macro`: the same walk, but with the features
    of the native library's own build. cargo metadata unifies features over the whole workspace,
    so it can name an optional dependency that only another member turns on (ahash's
    const-random, for one); a crate is listed when both name it.

  Workspace members (our own crates) are not listed. Crates from a path outside the workspace
  members (vendor/) are listed as modified copies. NOTICE files in the crates' packages are
  reproduced at the end (Apache License 2.0, section 4(d)).

Java: java-bridge/pom.xml is read, not resolved: the jar bundles a Java dependency only through a
shading or assembly plugin, or through a dependency in compile or runtime scope. There is none
today (Flink is `provided`); if that changes, this script fails and has to learn to list them.

License expressions that are missing or name a license outside PERMISSIVE are reported on stderr;
one that cannot be met without a GPL, LGPL or AGPL license fails the run.
"""

import collections
import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

TARGETS = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu")
ROOT_PACKAGE = "flink-rust-bridge"
NOTICE_FILES = ("NOTICE", "NOTICE.txt", "NOTICE.md")

PERMISSIVE = {
    "0BSD", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-1-Clause", "BSD-2-Clause",
    "BSD-3-Clause", "BSL-1.0", "CC0-1.0", "CDLA-Permissive-2.0", "ISC", "MIT", "MIT-0",
    "MPL-2.0", "Unicode-3.0", "Unicode-DFS-2016", "Unlicense", "Zlib",
}
COPYLEFT = re.compile(r"^(A|L)?GPL-")

OK, UNKNOWN, COPYLEFT_ONLY = 0, 1, 2


def run(args, cwd):
    try:
        return subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.PIPE, text=True).stdout
    except subprocess.CalledProcessError as e:
        sys.exit(f"notice: {' '.join(args[:2])} failed (exit {e.returncode})")


def license_class(expr):
    """OK, UNKNOWN or COPYLEFT_ONLY for an SPDX expression (also the old "MIT/Apache-2.0" form)."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expr.replace("/", " OR "))
    pos = 0

    def parse_or():
        nonlocal pos
        best = parse_and()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            best = min(best, parse_and())
        return best

    def parse_and():
        nonlocal pos
        worst = parse_atom()
        while pos < len(tokens) and tokens[pos] == "AND":
            pos += 1
            worst = max(worst, parse_atom())
        return worst

    def parse_atom():
        nonlocal pos
        if pos >= len(tokens):
            return UNKNOWN
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = parse_or()
            if pos < len(tokens) and tokens[pos] == ")":
                pos += 1
            return value
        if pos + 1 < len(tokens) and tokens[pos] == "WITH":
            tok = f"{tok} WITH {tokens[pos + 1]}"
            pos += 2
        if tok in PERMISSIVE:
            return OK
        if COPYLEFT.match(tok):
            return COPYLEFT_ONLY
        return UNKNOWN

    value = parse_or()
    return value if pos == len(tokens) else UNKNOWN


def version_key(version):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.+-]", version)]


def rust_crates(root):
    """The union over TARGETS of rust_crates_for: (packages sorted by name and version, workspace root)."""
    crates = {}
    for target in TARGETS:
        found, workspace_root = rust_crates_for(root, target)
        for pkg in found:
            crates[pkg["id"]] = pkg
    return sorted(crates.values(), key=lambda p: (p["name"], version_key(p["version"]))), workspace_root


def rust_crates_for(root, target):
    meta = json.loads(run([os.environ.get("CARGO", "cargo"), "metadata", "--format-version", "1",
                           "--filter-platform", target], root))
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    members = set(meta["workspace_members"])
    start = [i for i in members if packages[i]["name"] == ROOT_PACKAGE]
    if len(start) != 1:
        sys.exit(f"notice: no workspace member named {ROOT_PACKAGE}")

    def is_proc_macro(pkg):
        return any("proc-macro" in t["kind"] for t in pkg["targets"])

    reached, todo = set(), start
    while todo:
        pid = todo.pop()
        if pid in reached:
            continue
        reached.add(pid)
        for dep in nodes[pid]["deps"]:
            normal = any(k["kind"] is None for k in dep["dep_kinds"])
            if normal and not is_proc_macro(packages[dep["pkg"]]):
                todo.append(dep["pkg"])

    tree = run([os.environ.get("CARGO", "cargo"), "tree", "-p", ROOT_PACKAGE, "-e",
                "normal,no-proc-macro", "--target", target, "--prefix", "none", "--no-dedupe",
                "-f", "{p}"], root)
    in_tree = set()
    for line in tree.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("v"):
            in_tree.add((parts[0], parts[1][1:]))
    by_key = collections.defaultdict(list)
    for pid in reached:
        by_key[(packages[pid]["name"], packages[pid]["version"])].append(pid)
    strays = sorted(k for k in in_tree if k not in by_key)
    if strays:
        sys.exit(f"notice: cargo tree names crates the metadata walk did not reach: {strays}")
    crates = []
    for key in in_tree:
        if len(by_key[key]) != 1:
            sys.exit(f"notice: {key[0]} {key[1]} comes from more than one source")
        pid = by_key[key][0]
        if pid not in members:
            crates.append(packages[pid])
    crates.sort(key=lambda p: (p["name"], version_key(p["version"])))
    return crates, meta["workspace_root"]


def origin(pkg, workspace_root):
    """(column text, paragraph or None) saying where a crate that is not from crates.io comes from."""
    source = pkg["source"] or ""
    if source.startswith("registry+https://github.com/rust-lang/crates.io-index"):
        return "", None
    if not source:
        path = os.path.relpath(os.path.dirname(pkg["manifest_path"]), workspace_root) + "/"
        text = (f"{pkg['name']} {pkg['version']} is MODIFIED: a patched copy of the crates.io release, "
                f"in {path}")
        if os.path.exists(os.path.join(workspace_root, path, "PATCHED.md")):
            text += f"; {path}PATCHED.md lists the changes"
        return f"MODIFIED, {path}", text + "."
    return "from " + re.sub(r"[?#].*$", "", source.split("+", 1)[-1]), None


def java_bundled(root):
    """Java artifacts the java-bridge jar bundles: none, or the script stops."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    problems = []
    for pom in ("pom.xml", "java-bridge/pom.xml"):
        project = ET.parse(os.path.join(root, pom)).getroot()
        deps = (project.findall("m:dependencies/m:dependency", ns)
                + project.findall("m:profiles/m:profile/m:dependencies/m:dependency", ns))
        plugins = (project.findall("m:build/m:plugins/m:plugin", ns)
                   + project.findall("m:profiles/m:profile/m:build/m:plugins/m:plugin", ns))
        for dep in deps:
            scope = dep.findtext("m:scope", "compile", ns).strip()
            if scope not in ("provided", "test"):
                problems.append(f"{pom}: {dep.findtext('m:groupId', '', ns)}:"
                                f"{dep.findtext('m:artifactId', '', ns)} in scope {scope}")
        for plugin in plugins:
            artifact = plugin.findtext("m:artifactId", "", ns)
            if artifact in ("maven-shade-plugin", "maven-assembly-plugin", "maven-dependency-plugin"):
                problems.append(f"{pom}: {artifact} in the build")
    if problems:
        sys.exit("notice: the bridge jar may now bundle Java dependencies; scripts/notice.py must "
                 "learn to list them:\n  " + "\n  ".join(problems))
    return []


def notice_files(crates):
    """(text, [crate names]) for each distinct NOTICE file among the crates' packages."""
    found = collections.OrderedDict()
    for pkg in crates:
        directory = os.path.dirname(pkg["manifest_path"])
        for name in NOTICE_FILES:
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    text = f.read().strip("\n")
                found.setdefault(text, []).append(f"{pkg['name']} {pkg['version']}")
    return sorted(found.items(), key=lambda item: item[1])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    crates, workspace_root = rust_crates(root)
    java = java_bundled(root)

    fail = False
    for pkg in crates:
        expr = pkg["license"]
        what = f"{pkg['name']} {pkg['version']}"
        if not expr:
            file_note = f" (license file: {pkg['license_file']})" if pkg.get("license_file") else ""
            print(f"notice: WARNING: {what} declares no license expression{file_note}", file=sys.stderr)
            continue
        cls = license_class(expr)
        if cls == UNKNOWN:
            print(f"notice: WARNING: {what}: '{expr}' names a license outside the usual permissive "
                  "ones; check it", file=sys.stderr)
        elif cls == COPYLEFT_ONLY:
            print(f"notice: ERROR: {what}: '{expr}' cannot be met without a GPL-family license",
                  file=sys.stderr)
            fail = True
    if fail:
        sys.exit(1)

    out = []
    w = out.append
    w("flink-rust-bridge")
    w("")
    w("Licensed under the Apache License, Version 2.0 (LICENSE).")
    w("")
    w("Generated by scripts/notice.sh from Cargo.lock and java-bridge/pom.xml: do not edit by hand.")
    w("`make test` runs scripts/notice.sh --check, which fails when this file is stale.")
    w("")
    w("The bridge jar bundles the third-party components below, each under its own license (an")
    w("SPDX expression; the license texts are in each component's published source).")
    w("")
    w("")
    w(f"Native library (libflink_rust_bridge, built for {' and '.join(TARGETS)})")
    w("-" * 72)
    w("")
    w("Rust crates linked into the library (normal dependencies, without build-only, dev-only and")
    w("procedural-macro crates), from crates.io unless noted:")
    w("")
    rows, notes = [], []
    for p in crates:
        column, note = origin(p, workspace_root)
        rows.append((p["name"], p["version"], p["license"] or "(none declared)", column))
        if note:
            notes.append(note)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        line = "  " + "  ".join(row[i].ljust(widths[i]) for i in range(3))
        w((line + "  " + row[3]) if row[3] else line.rstrip())
    for note in notes:
        w("")
        w(textwrap.fill(note, width=96))
    w("")
    w("The Rust standard library (std, core, alloc and their dependencies; MIT OR Apache-2.0) is")
    w("linked in too.")
    w("")
    w("")
    w("Java")
    w("-" * 72)
    w("")
    if java:
        raise AssertionError("unreachable: java_bundled lists nothing or exits")
    w("None: the jar holds the bridge's own classes and the native library. Flink, its only")
    w("non-test dependency, is `provided` and not bundled.")
    notices = notice_files(crates)
    if notices:
        w("")
        w("")
        w("NOTICE files of bundled components")
        w("-" * 72)
        w("")
        w("Reproduced as the Apache License 2.0, section 4(d), asks.")
        for text, names in notices:
            w("")
            w("=== " + ", ".join(names) + " ===")
            w("")
            w(text)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
