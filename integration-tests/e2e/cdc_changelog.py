#!/usr/bin/env python3
"""The workload and the checker of the end-to-end CDC scenarios.

The table is ``(id BIGINT PRIMARY KEY, version BIGINT NOT NULL, payload VARCHAR(64))``. Initial rows
have version 0; every statement of the workload writes version = its own statement number, which
only grows. So every row image of a key carries a version that increases with every write to the
key, and a change can be placed in the key's history without knowing the order files were written
in. The job (cdc-job, CdcChangelogJob) writes each change as ``kind,id,version,payload,subtask,phase``.

Subcommands:
  dml --statements-per-second R --key-space K [--seed S] [--stats FILE] -- CLIENT...
      Random DML, paced, fed to a SQL client command (e.g. scripts/mariadb.sh sql DB) on its stdin
      until SIGTERM; then closes the client's input, waits for it and writes "statements N" to
      --stats. Exits with the client's status (a failed statement ends the client: a broken
      workload is reported, not ignored).
  progress DIR
      Counts change lines in the committed part files under DIR and prints
      "snapshot_lines binlog_lines last_binlog_subtask" (the subtask that wrote the newest committed
      file with binlog changes, -1 when none): for choosing when and where to strike, not a check.
  selftest
      Runs check on made-up outputs: a correct one must pass, and a duplicated, a lost and a
      reordered change must each be reported (the check can fail, and says why).
  check DIR --expected TSV [--quiet]
      Reads only the committed (visible) part files under DIR, materializes the changelog per key
      and compares it with the table (TSV of id, version, payload as `mariadb -N` prints it).
      Reports per key: duplicated changes (the same change twice), lost changes (a retraction of a
      row image that is not the present one, or a final state that differs from the table) and
      out-of-order changes (within one part file, which one subtask wrote in order, a key's changes
      must follow its history). Exit 0: equal and clean; 1: anomalies; 2: no anomaly but not (yet)
      equal to the table (a caller polling for the committed output to catch up retries on 2).
"""
import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import time

APPEAR = ("+I", "+U")
DISAPPEAR = ("-U", "-D")


# ---- workload -----------------------------------------------------------------------------------

def statement(rnd, n, key_space):
    key = rnd.randint(1, key_space)
    r = rnd.randrange(10)
    if r < 3:
        return f"INSERT IGNORE INTO t VALUES ({key}, {n}, 'i{n}')"
    if r < 6:
        return f"UPDATE t SET version = {n}, payload = 'u{n}' WHERE id = {key}"
    if r == 6:
        # A primary-key change: -D of the old key, +I of the new one.
        return f"UPDATE IGNORE t SET id = {rnd.randint(1, key_space)}, version = {n} WHERE id = {key}"
    if r == 7:
        return f"UPDATE t SET version = {n}, payload = NULL WHERE id = {key}"
    if r == 8:
        return f"DELETE FROM t WHERE id = {key}"
    return f"INSERT INTO t VALUES ({key}, {n}, 'x{n}') ON DUPLICATE KEY UPDATE version = {n}, payload = 'd{n}'"


def dml(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    rnd = random.Random(args.seed)
    client = subprocess.Popen(args.client, stdin=subprocess.PIPE, text=True)
    n = 0
    start = time.monotonic()
    try:
        while not stop and client.poll() is None:
            # Every tenth round a small transaction; each statement has its own version number.
            k = 2 + rnd.randrange(4) if rnd.randrange(10) == 0 else 1
            lines = [statement(rnd, n + 1 + i, args.key_space) + ";" for i in range(k)]
            n += k
            if k > 1:
                lines = ["BEGIN;"] + lines + ["COMMIT;"]
            client.stdin.write("\n".join(lines) + "\n")
            client.stdin.flush()
            # Pacing, not synchronisation: sleep only while ahead of the schedule.
            ahead = start + n / args.statements_per_second - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    except BrokenPipeError:
        pass
    try:
        client.stdin.close()
    except BrokenPipeError:
        pass
    rc = client.wait()
    if args.stats:
        with open(args.stats, "w") as f:
            f.write(f"statements {n}\n")
    if rc != 0:
        print(f"dml: the SQL client exited with {rc} after {n} statements", file=sys.stderr)
    return rc


# ---- reading the job's output -------------------------------------------------------------------

def part_files(root, committed_only):
    """Part files under root in a stable order. FileSink names committed files 'part-...' and
    in-progress ones '.part-...'."""
    out = []
    for d, _, files in os.walk(root):
        for name in files:
            if name.startswith("part-") or (not committed_only and name.startswith(".part-")):
                out.append(os.path.join(d, name))
    return sorted(out)


def parse(line, where):
    f = line.rstrip("\n").split(",")
    if len(f) != 6 or f[0] not in APPEAR + DISAPPEAR or f[5] not in ("s", "b"):
        raise ValueError(f"{where}: malformed change line {line!r}")
    return f[0], int(f[1]), int(f[2]), f[3], int(f[4]), f[5]


def progress(args):
    snapshot = binlog = 0
    last_binlog_subtask, last_mtime = -1, -1.0
    # Committed files only: what a restore keeps. In-progress files of a lost attempt stay behind,
    # hidden and never committed, and would make progress look larger than it is.
    for path in part_files(args.dir, committed_only=True):
        try:
            with open(path) as fh:
                lines = fh.readlines()
            mtime = os.path.getmtime(path)
        except FileNotFoundError:
            continue
        for line in lines:
            kind, key, version, payload, subtask, phase = parse(line, path)
            if phase == "s":
                snapshot += 1
            else:
                binlog += 1
                if mtime >= last_mtime:
                    last_binlog_subtask, last_mtime = subtask, mtime
    print(snapshot, binlog, last_binlog_subtask)
    return 0


# ---- the check ----------------------------------------------------------------------------------

def rank(kind, version):
    # A key's history, by version: each row image appears (+I/+U) and later disappears (-U/-D).
    return (version, 0 if kind in APPEAR else 1)


def check(args):
    expected = {}
    with open(args.expected) as fh:
        for line in fh:
            if line.strip():
                key, version, payload = line.rstrip("\n").split("\t")
                expected[int(key)] = (int(version), payload)

    events = collections.defaultdict(list)  # key -> [(version, rank, kind, payload)]
    counts = collections.Counter()
    out_of_order = []
    files = part_files(args.dir, committed_only=True)
    for path in files:
        last = {}  # key -> rank of its previous change in this file
        with open(path) as fh:
            for no, line in enumerate(fh, 1):
                kind, key, version, payload, subtask, phase = parse(line, f"{path}:{no}")
                counts["snapshot" if phase == "s" else "binlog"] += 1
                r = rank(kind, version)
                if key in last and r <= last[key]:
                    out_of_order.append(f"key {key}: {kind} v{version} after v{last[key][0]} in {os.path.basename(path)}:{no}")
                last[key] = r
                events[key].append((r, kind, payload))

    duplicated, lost = [], []
    state = {}
    for key, evs in events.items():
        seen = collections.Counter((r, kind, payload) for r, kind, payload in evs)
        for (r, kind, payload), c in seen.items():
            if c > 1:
                duplicated.append(f"key {key}: {kind} v{r[0]} {c} times")
        present = None
        for (r, kind, payload) in sorted(set(seen)):
            version = r[0]
            if kind in APPEAR:
                if present is not None:
                    lost.append(f"key {key}: {kind} v{version} while v{present[0]} is present (its retraction is missing)")
                present = (version, payload)
            else:
                if present is None:
                    lost.append(f"key {key}: {kind} v{version} of an absent key (its row image never arrived)")
                elif present != (version, payload):
                    lost.append(f"key {key}: {kind} of v{version} {payload} while v{present[0]} {present[1]} is present")
                present = None
        if present is not None:
            state[key] = present

    differ = [k for k in sorted(set(state) | set(expected)) if state.get(k) != expected.get(k)]
    anomalies = len(duplicated) + len(lost) + len(out_of_order)
    print(f"check: {len(files)} committed part files, {counts['snapshot']} snapshot + {counts['binlog']} binlog changes, "
          f"{len(events)} keys; materialized {len(state)} rows, table {len(expected)} rows, {len(differ)} keys differ; "
          f"duplicated {len(duplicated)}, lost {len(lost)}, out of order {len(out_of_order)}")
    if not args.quiet:
        for title, items in (("duplicated", duplicated), ("lost", lost), ("out of order", out_of_order)):
            for item in items[:10]:
                print(f"  {title}: {item}")
        for k in differ[:10]:
            print(f"  differs: key {k}: table {expected.get(k)}, changelog {state.get(k)}")
    if anomalies:
        return 1
    return 0 if not differ else 2


def selftest(_args):
    import tempfile
    table = "1\t3\tu3\n3\t4\tx4\n"
    good = ["+I,1,0,p1,0,s", "+I,2,0,p2,1,s", "-U,1,0,p1,0,b", "+U,1,3,u3,0,b",
            "-D,2,0,p2,0,b", "+I,3,4,x4,0,b"]
    cases = {
        "correct": (good, 0, "duplicated 0, lost 0, out of order 0"),
        "duplicated": (good + ["+I,3,4,x4,1,b"], 1, "duplicated 1"),
        "lost": ([l for l in good if not l.startswith("-U,1")], 1, "lost 1"),
        "out of order": (good[:2] + [good[3], good[2]] + good[4:], 1, "out of order 1"),
        "incomplete": (good[:-1], 2, "1 keys differ"),
    }
    failed = 0
    for name, (lines, want_rc, want_text) in cases.items():
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "part-0-0"), "w") as f:
                f.write("\n".join(lines) + "\n")
            with open(os.path.join(d, ".part-0-1.inprogress.x"), "w") as f:
                f.write("+I,9,0,hidden,0,b\n")  # in-progress: must be ignored
            with open(os.path.join(d, "table.tsv"), "w") as f:
                f.write(table)
            import io, contextlib
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = check(argparse.Namespace(dir=d, expected=os.path.join(d, "table.tsv"), quiet=False))
            text = out.getvalue()
            # (table.tsv sits in the output directory too, but is no part file: skip it.)
            ok = rc == want_rc and want_text in text
            failed += not ok
            print(f"selftest {name}: {'ok' if ok else 'FAILED'} (status {rc}, want {want_rc} and {want_text!r})")
            if not ok:
                print(text)
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dml")
    d.add_argument("--statements-per-second", type=float, required=True)
    d.add_argument("--key-space", type=int, required=True)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--stats")
    d.add_argument("client", nargs="+")
    g = sub.add_parser("progress")
    g.add_argument("dir")
    c = sub.add_parser("check")
    c.add_argument("dir")
    c.add_argument("--expected", required=True)
    c.add_argument("--quiet", action="store_true")
    sub.add_parser("selftest")
    args = p.parse_args()
    return {"dml": dml, "progress": progress, "check": check, "selftest": selftest}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
