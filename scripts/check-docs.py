#!/usr/bin/env python3
"""Checks that the documentation still matches the repository (make check-docs, part of make test).

Fails, listing every finding, when a page
- links to a file or a heading that does not exist (relative Markdown links, with #anchors);
- names a repository path in backticks that does not exist (`connectors/mysql-cdc/src/binlog/spill.rs`);
- refers to a troubleshooting case number that docs/troubleshooting.md does not have;
- names a `scan.*` option that no connector's options table (or the common options) lists;
- quotes the Flink CDC conformance result or case count other than the suite declares
  (FlinkCdcConformanceITCase: its cases and EXPECTED_IDENTICAL);
- shows a README performance figure that docs/dev/benchmarks.md (the record of the runs) does not.

The options tables themselves are checked against the code by `cargo test -p flink-rust-bridge
connector_docs`. Usage: scripts/check-docs.py [ROOT]
"""
import glob
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
TOP_DIRS = ("rust-core/", "connectors/", "native-lib/", "java-bridge/", "integration-tests/", "scripts/",
            "examples/", "docs/", "preview/", "fuzz/", "testdata/", "vendor/", ".ci/")
findings = []
# Options of Flink's own that a page may name (source watermark alignment).
FLINK_SCAN_OPTIONS = ("scan.watermark.",)


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def pages():
    names = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "SECURITY.md"]
    names += sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs/**/*.md"), recursive=True))
    names += sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "*/README.md")))
    return [n for n in names if os.path.exists(os.path.join(ROOT, n))]


def prose(text):
    """The text without fenced code blocks (commands and SQL are not references)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def anchors(text):
    """GitHub's heading anchors."""
    out = set()
    for heading in re.findall(r"^#+ (.*)$", prose(text), re.M):
        slug = re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def check_links(page, text):
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(text)):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(os.path.join(ROOT, resolved)):
            findings.append(f"{page}: link to {target}: {resolved} does not exist")
        elif anchor and resolved.endswith(".md") and anchor not in anchors(read(resolved)):
            findings.append(f"{page}: link to {target}: no heading #{anchor} in {resolved}")


def check_paths(page, text):
    for token in re.findall(r"`([^`\s]+)`", prose(text)):
        if not token.startswith(TOP_DIRS) or any(c in token for c in "*<>{}$|"):
            continue
        path = re.split(r"::|#|:(?=\d)", token)[0].rstrip(".,;)")
        if "/target/" in path:
            continue  # a build output: it exists once built, not in a fresh clone
        if "..." in path:
            # An elided path (java-bridge/.../jni/HostileInputTest): some file must match it.
            pattern = path.replace("...", "**")
            found = any(glob.glob(os.path.join(ROOT, pattern + ext), recursive=True) for ext in ("", ".java", ".rs"))
        else:
            found = os.path.exists(os.path.join(ROOT, path))
        if not found:
            findings.append(f"{page}: `{token}`: {path} does not exist")


def troubleshooting_cases():
    return {int(n) for n in re.findall(r"^\*\*(\d+)\. ", read("docs/troubleshooting.md"), re.M)}


def check_cases(page, text, cases):
    body = prose(text)
    refs = re.findall(r"[Tt]roubleshooting\]?(?:\([^)]*\))?,? cases? (\d+)", body)
    if page == "docs/troubleshooting.md":
        refs += re.findall(r"\bcases? (\d+)", body)
        refs += re.findall(r"\bcases? \d+, (\d+)", body)
    for n in refs:
        if int(n) not in cases:
            findings.append(f"{page}: troubleshooting case {n} does not exist (cases: 1-{max(cases)})")


def documented_options():
    keys = set()
    for page in glob.glob(os.path.join(ROOT, "docs/connectors/*.md")) + [os.path.join(ROOT, "docs/common-options.md")]:
        with open(page, encoding="utf-8") as f:
            keys.update(re.findall(r"^\| `([a-z0-9.*_-]+)` \|", f.read(), re.M))
    return keys


def check_options(page, text, keys):
    # The switching page and the changelog name Flink CDC's options and options of the past on purpose.
    if page in ("docs/switching-from-flink-cdc.md", "CHANGELOG.md") or page.startswith("docs/dev/"):
        return
    for key in set(re.findall(r"`'?(scan\.[a-z0-9.-]+[a-z0-9])'?", prose(text))):
        if key.startswith(FLINK_SCAN_OPTIONS):
            continue
        known = key in keys or any(k.endswith("*") and key.startswith(k[:-1]) for k in keys)
        # A family of options (`scan.rate-limit.*`).
        known = known or any(k.startswith(key + ".") for k in keys)
        if not known:
            findings.append(f"{page}: option `{key}` is in no options table (docs/connectors/*.md, docs/common-options.md)")


def check_conformance():
    test = read("integration-tests/src/test/java/io/flinkrust/it/FlinkCdcConformanceITCase.java")
    total = len(re.findall(r'cases\.add\(new Case\("', test))
    listed = re.search(r"EXPECTED_IDENTICAL = Set\.of\((.*?)\);", test, re.S)
    identical = len(re.findall(r'"[a-z0-9_]+"', listed.group(1))) if listed else -1
    page = "docs/flink-cdc-conformance.md"
    quoted = re.findall(r"conformance: (\d+) of (\d+) cases identical", read(page))
    expected = (str(identical), str(total))
    if not quoted:
        findings.append(f"{page}: does not quote the result line 'conformance: N of M cases identical'")
    for q in quoted:
        if q != expected and q != ("N", "M"):
            findings.append(f"{page}: quotes 'conformance: {q[0]} of {q[1]} cases identical'; the suite has "
                            f"{total} cases, {identical} listed as identical")
    rows = len(re.findall(r"^\| `[a-z0-9_]+` \|", read(page), re.M))
    if rows != total:
        findings.append(f"{page}: its result table has {rows} cases; the suite has {total}")
    for other in ("CONTRIBUTING.md", "README.md"):
        for n in re.findall(r"FlinkCdcConformanceITCase[^|]*?: (\d+) cases", read(other)):
            if int(n) != total:
                findings.append(f"{other}: says the conformance suite has {n} cases; it has {total}")


def check_performance():
    readme = read("README.md")
    record = read("docs/dev/benchmarks.md")
    section = readme.split("## Performance", 1)[1].split("\n## ", 1)[0] if "## Performance" in readme else ""
    for figure in re.findall(r"\| (\d[\d.,]* ?[kM]|\d+\.\d+x) ", section):
        if figure not in record:
            findings.append(f"README.md: performance figure {figure} is not in docs/dev/benchmarks.md")


def main():
    cases = troubleshooting_cases()
    keys = documented_options()
    for page in pages():
        text = read(page)
        check_links(page, text)
        check_paths(page, text)
        check_cases(page, text, cases)
        check_options(page, text, keys)
    check_conformance()
    check_performance()
    if findings:
        print("check-docs: the documentation no longer matches the repository:", file=sys.stderr)
        for f in findings:
            print("  " + f, file=sys.stderr)
        sys.exit(1)
    print(f"check-docs: {len(pages())} pages checked (links, paths, troubleshooting cases, options, "
          "conformance figures, performance figures)")


if __name__ == "__main__":
    main()
