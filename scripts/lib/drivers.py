#!/usr/bin/env python3
"""Reads what the perf and valgrind drivers wrote and turns it into tables.

    drivers.py perf PREFIX EVENTS  summary of PREFIX.perf.csv (+ PREFIX.json), for the
                                   comma-separated EVENTS perf stat was given
                                   (perf.sh: `reclaim-bench list --counters`)
    drivers.py cachegrind PREFIX   summary of PREFIX.cachegrind.out (+ PREFIX.json)
    drivers.py massif PREFIX       the heap high-water mark in PREFIX.massif.out
    drivers.py compare DIR_A DIR_B the side-by-side table of two driver directories
    drivers.py per-million PREFIX OUT  PREFIX.cachegrind.out scaled to 10^6 operations
    drivers.py host-geometry       valgrind --I1/--D1/--LL options for this machine,
                                   then what was changed to make them simulable
    drivers.py instructions BASELINE MEASURED [update]
                                   check MEASURED (backend, iterations, I refs lines)
                                   against the BASELINE table, or rewrite it

Every summary is also written as PREFIX.<tool>.summary.json, which `compare` reads.
A number that was not measured is `null` and shows as "unsupported" (perf) or "-",
never as 0. Per-operation figures divide whole-process counts by the operations the
harness completed, so they include the run's setup and teardown (building the
container, starting threads, draining): a few percent at the drivers' 1 s default.
"""

import glob
import json
import os
import sys

def fail(message):
    print(f"drivers.py: {message}", file=sys.stderr)
    sys.exit(1)


def load_run(prefix):
    """The harness's result file of one driver run: its one row and metadata."""
    path = prefix + ".json"
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")
    rows = data.get("rows") or []
    if len(rows) != 1:
        fail(f"{path}: expected one row, found {len(rows)}")
    row = rows[0]
    if not row.get("valid"):
        fail(f"{path}: the run failed its check: {row.get('error')}")
    return data["metadata"], row


def base_summary(prefix):
    metadata, row = load_run(prefix)
    ops = sum(row.get("per_thread_ops") or [])
    if ops <= 0:
        fail(f"{prefix}.json: no operations completed")
    throughput = (row.get("ops_per_sec") or {}).get("median")
    return {
        "backend": row["backend"],
        "workload": row["workload"],
        "threads": row["threads"],
        "ops": ops,
        "ops_per_sec": throughput,
        "host": metadata.get("host"),
        "target": metadata.get("target"),
        "cpu": metadata.get("cpu_model"),
        "emulation": metadata.get("emulation"),
    }


def write_summary(prefix, tool, summary):
    with open(f"{prefix}.{tool}.summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


def ratio(part, whole):
    return None if part is None or not whole else part / whole


def fmt(value, spec="{:.2f}", missing="-"):
    return missing if value is None else spec.format(value)


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(header)] + [line(r) for r in rows]) + "\n"


# ------------------------------------------------------------------------------- perf

def parse_perf_csv(path, events):
    """`perf stat -x,` output for the list `events`: {event: count or None}, {event: why
    not}, in the order of `events`; other events in the output are left out."""
    counts, reasons = {e: None for e in events}, {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    for line in lines:
        if not line or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) < 3:
            continue
        value, event = fields[0], fields[2]
        # perf may suffix modifiers (cycles:u); the event is what comes before.
        event = event.split(":")[0]
        if event not in counts:
            continue
        if value.startswith("<"):
            reasons[event] = value.strip("<>")  # "not supported", "not counted"
            continue
        try:
            counts[event] = float(value)
        except ValueError:
            reasons[event] = f"unreadable: {value!r}"
    for event in events:
        if counts[event] is None and event not in reasons:
            reasons[event] = "not in perf's output"
    return counts, reasons


def perf(prefix, events):
    summary = base_summary(prefix)
    events = [e for e in events.split(",") if e]
    if not events:
        fail("perf: no events given")
    counts, reasons = parse_perf_csv(prefix + ".perf.csv", events)
    summary["perf"] = counts
    summary["perf_unsupported"] = reasons
    write_summary(prefix, "perf", summary)
    ops = summary["ops"]
    rows = []
    for event in events:
        value = counts[event]
        if value is None:
            rows.append([event, f"unsupported (perf: {reasons[event]})", ""])
        else:
            per_op = value / ops * (1e6 if event == "task-clock" else 1)
            unit = "ns/op" if event == "task-clock" else "/op"
            rows.append([event, f"{value:,.0f}" + (" ms" if event == "task-clock" else ""),
                         f"{per_op:.3g} {unit}"])
    misses = ratio(counts.get("branch-misses"), counts.get("branches"))
    cache = ratio(counts.get("cache-misses"), counts.get("cache-references"))
    print(f"{summary['backend']} × {summary['workload']} × {summary['threads']} threads "
          f"on {summary['cpu']} ({summary['target']}): {ops:,} operations, "
          f"{fmt(summary['ops_per_sec'] and summary['ops_per_sec'] / 1e6)} M ops/s")
    if summary["emulation"]:
        print(f"  WARNING: {summary['emulation']}")
    print(table(["EVENT", "COUNT", "PER OPERATION"], rows), end="")
    print(f"branch-miss rate {fmt(misses, '{:.2%}', 'unsupported')}, "
          f"cache-miss rate {fmt(cache, '{:.2%}', 'unsupported')}")


# ------------------------------------------------------------------------- cachegrind

def parse_cachegrind(path):
    """{event: total} from a cachegrind output file's `events:` and `summary:` lines."""
    events, totals = None, None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("events:"):
                    events = line.split()[1:]
                elif line.startswith("summary:"):
                    totals = [int(v) for v in line.split()[1:]]
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    if not events or totals is None:
        fail(f"{path}: no events/summary lines; is it a cachegrind output file?")
    return dict(zip(events, totals))


def cache_rates(t):
    """Cachegrind's own definitions of the rates, None where a simulation was off."""
    get = lambda k: t.get(k)
    data = (get("Dr") or 0) + (get("Dw") or 0)
    d1 = None if "D1mr" not in t else ((t["D1mr"] + t.get("D1mw", 0)) / data if data else None)
    refs = t.get("Ir", 0) + data
    ll = None if "DLmr" not in t else (
        (t.get("ILmr", 0) + t["DLmr"] + t.get("DLmw", 0)) / refs if refs else None)
    branches = t.get("Bc", 0) + t.get("Bi", 0)
    mispredict = None if "Bcm" not in t else (
        (t["Bcm"] + t.get("Bim", 0)) / branches if branches else None)
    return {"d1_miss_rate": d1, "ll_miss_rate": ll, "mispredict_rate": mispredict}


def cachegrind(prefix):
    summary = base_summary(prefix)
    totals = parse_cachegrind(prefix + ".cachegrind.out")
    summary["cachegrind"] = totals
    summary.update(cache_rates(totals))
    summary["instructions_per_op"] = totals.get("Ir", 0) / summary["ops"]
    geometry = prefix + ".cachegrind.geometry"
    if os.path.exists(geometry):
        with open(geometry, encoding="utf-8") as f:
            lines = f.read().strip().splitlines()
        # First line: the machine and the options; the rest: what was changed to make
        # the machine's caches simulable.
        if lines:
            summary["geometry"] = lines[0]
            summary["geometry_notes"] = lines[1:]
    write_summary(prefix, "cachegrind", summary)
    print(f"{summary['backend']} × {summary['workload']} × {summary['threads']} threads, "
          f"{summary['ops']:,} operations under cachegrind ({summary.get('geometry', '?')}): "
          f"{summary['instructions_per_op']:.1f} instructions/op, "
          f"D1 miss {fmt(summary['d1_miss_rate'], '{:.2%}')}, "
          f"LL miss {fmt(summary['ll_miss_rate'], '{:.3%}')}, "
          f"branch mispredict {fmt(summary['mispredict_rate'], '{:.2%}')}")


PER = 1_000_000


def per_million(prefix, out):
    """Writes the cachegrind profile with every count scaled to one million operations.

    Fixed-duration runs complete different numbers of operations on different machines,
    so raw profiles differ mostly by length; scaled ones cg_diff into a difference per
    million operations.
    """
    _, row = load_run(prefix)
    ops = sum(row.get("per_thread_ops") or [])
    if ops <= 0:
        fail(f"{prefix}.json: no operations completed")
    scale = PER / ops

    def scaled(tokens):
        return " ".join(str(round(int(t) * scale)) for t in tokens)

    with open(prefix + ".cachegrind.out", encoding="utf-8", errors="replace") as src, \
            open(out, "w", encoding="utf-8") as dst:
        for line in src:
            words = line.split()
            if line.startswith("summary:"):
                dst.write(f"summary: {scaled(words[1:])}\n")
            elif words and all(w.isdigit() for w in words):
                # A cost line: the source line number, then one count per event.
                dst.write(f"{words[0]} {scaled(words[1:])}\n")
            else:
                dst.write(line)


# ----------------------------------------------------------------------------- massif

def massif(prefix):
    summary = base_summary(prefix)
    path = prefix + ".massif.out"
    peak, peak_total = 0, 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            snapshot = {}
            for line in f:
                key, _, value = line.strip().partition("=")
                if key in ("mem_heap_B", "mem_heap_extra_B", "mem_stacks_B"):
                    snapshot[key] = int(value)
                    if key == "mem_stacks_B":
                        heap = snapshot.get("mem_heap_B", 0)
                        peak = max(peak, heap)
                        peak_total = max(peak_total, heap + snapshot.get("mem_heap_extra_B", 0))
                        snapshot = {}
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    summary["peak_heap_bytes"] = peak
    summary["peak_heap_with_overhead_bytes"] = peak_total
    write_summary(prefix, "massif", summary)
    print(f"{summary['backend']} × {summary['workload']} × {summary['threads']} threads: "
          f"heap high-water {peak / 2**20:.2f} MiB requested, "
          f"{peak_total / 2**20:.2f} MiB with allocator overhead ({summary['ops']:,} operations)")


# ---------------------------------------------------------------------------- compare

def load_summaries(directory):
    """{(backend, workload, threads): {tool: summary}} from one driver directory."""
    found = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.summary.json"))):
        tool = path.rsplit(".", 3)[-3]
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
        found.setdefault((s["backend"], s["workload"], s["threads"]), {})[tool] = s
    if not found:
        fail(f"{directory}: no driver summaries (run scripts/cachegrind.sh or perf.sh there)")
    return found


def machine(summaries):
    for tools in summaries.values():
        for s in tools.values():
            return f"{s.get('host')} {s.get('target')} ({s.get('cpu')})"
    return "?"


def compare(dir_a, dir_b):
    a, b = load_summaries(dir_a), load_summaries(dir_b)
    print(f"A: {dir_a}: {machine(a)}")
    print(f"B: {dir_b}: {machine(b)}")
    for label, side in (("A", a), ("B", b)):
        emulated = {s["emulation"] for t in side.values() for s in t.values() if s.get("emulation")}
        for e in emulated:
            print(f"  WARNING: {label} ran under emulation ({e}): its throughput means nothing")
    common = [k for k in a if k in b]
    if not common:
        fail("the two directories have no backend × workload × threads in common")
    rows = []
    for key in common:
        ca, cb = a[key].get("cachegrind", {}), b[key].get("cachegrind", {})
        # Throughput from the native perf run where there is one: under valgrind it is
        # the simulator's speed, not the machine's.
        ta = (a[key].get("perf") or {}).get("ops_per_sec")
        tb = (b[key].get("perf") or {}).get("ops_per_sec")
        ia, ib = ca.get("instructions_per_op"), cb.get("instructions_per_op")
        rows.append([
            f"{key[0]} {key[1]}/{key[2]}",
            fmt(ia, "{:.1f}"), fmt(ib, "{:.1f}"), fmt(ratio(ib, ia), "{:.2f}x"),
            fmt(ca.get("d1_miss_rate"), "{:.2%}"), fmt(cb.get("d1_miss_rate"), "{:.2%}"),
            fmt(ca.get("ll_miss_rate"), "{:.3%}"), fmt(cb.get("ll_miss_rate"), "{:.3%}"),
            fmt(ca.get("mispredict_rate"), "{:.2%}"), fmt(cb.get("mispredict_rate"), "{:.2%}"),
            fmt(ta and ta / 1e6), fmt(tb and tb / 1e6), fmt(ratio(ta, tb), "{:.2f}x"),
        ])
    print()
    print(table(["BACKEND WORKLOAD/THREADS", "INSTR/OP A", "B", "B/A", "D1 MISS A", "B",
                 "LL MISS A", "B", "MISPREDICT A", "B", "MOPS/S A", "B", "A/B"], rows), end="")
    print("\ninstructions, miss and mispredict rates from cachegrind (simulated caches, "
          "geometry as given to each run); throughput from perf.sh's native run, '-' "
          "where there was none.")


# ------------------------------------------------------------------------ geometry

def is_power_of_two(n):
    return n > 0 and n & (n - 1) == 0


def simulable(size, ways, line):
    """A (size, ways, line) that cachegrind can simulate, as close to the given one as
    possible, and a note saying what changed (None when nothing did).

    cachegrind needs size / (ways * line) sets to be a power of two. Machines (and VMs
    reporting their host's caches) often have caches that are not: a 480 MiB 16-way
    last level has 491,520 sets. Like valgrind's own auto-detection, this keeps the size
    and line and moves the associativity to the nearest that gives a power-of-two set
    count (480 MiB becomes 15-way, 2^19 sets); only if no associativity up to twice the
    given one does, it rounds the set count down to a power of two, shrinking the cache.
    """
    fits = lambda a: size % (a * line) == 0 and is_power_of_two(size // (a * line))
    # Nearest first; of two as near, the smaller (fewer ways, more sets).
    nearest = sorted(range(1, 2 * ways + 1), key=lambda a: (abs(a - ways), a))
    candidate = next((a for a in nearest if fits(a)), None)
    if candidate == ways:
        return (size, ways, line), None
    why = f"{size},{ways},{line} has {size / (ways * line):g} sets, not a power of two"
    if candidate is not None:
        return (size, candidate, line), f"{why}; simulated as {candidate}-way"
    sets = 1 << max(0, (size // (ways * line)).bit_length() - 1)
    return (sets * ways * line, ways, line), \
        f"{why}; simulated with {sets} sets ({sets * ways * line} bytes)"


def host_geometry():
    """valgrind cache options from sysfs, the L1 caches and the last level, each made
    simulable (see `simulable`), on one line; then a line for each cache that changed."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    caches = []
    for index in sorted(glob.glob(os.path.join(base, "index*"))):
        read = lambda name: open(os.path.join(index, name), encoding="utf-8").read().strip()
        try:
            size = read("size")
            size = int(size[:-1]) * 1024 if size.endswith("K") else int(size)
            caches.append((int(read("level")), read("type"), size,
                           int(read("ways_of_associativity")), int(read("coherency_line_size"))))
        except (OSError, ValueError):
            continue
    i1 = [c for c in caches if c[0] == 1 and c[1] == "Instruction"]
    d1 = [c for c in caches if c[0] == 1 and c[1] == "Data"]
    last = max(caches, default=None)
    if not (i1 and d1 and last):
        fail(f"no cache geometry under {base}; give it explicitly (--pi3, --pi4)")
    options, notes = [], []
    for name, cache in (("I1", i1[0]), ("D1", d1[0]), ("LL", last)):
        (size, ways, line), note = simulable(*cache[2:])
        options.append(f"--{name}={size},{ways},{line}")
        if note:
            notes.append(f"host {name} {note}")
    print("\n".join([" ".join(options)] + notes))


# Instruction counts per operation (scripts/instructions.sh). Each backend runs `pairs`
# single-threaded for N and for 2N iterations under callgrind, the worker thread counted
# apart; what does not grow with N cancels in the difference, which divided by the extra
# operations (2 per pair) is what one more operation costs the worker.

# The tolerance of a backend that measured the same twice: a change of more than 2% in
# the instructions of an operation is a change to look at.
MIN_TOLERANCE_PCT = 2.0
# A backend whose two measurements differ gets this many times their difference as its
# tolerance.
TOLERANCE_SPREAD_FACTOR = 3.0
# A backend that runs a thread of its own (the sweep collector, on a timer) interleaves
# with the worker differently every run: the collector's frees land in the worker's
# allocator arena, so what the worker's mallocs find there, and so its count, varies.
# The same build measured 757 to 1,274 instructions per operation for treiber-sweep and
# 858 to 1,100 for msqueue-sweep, so a 10% floor failed CI on an unchanged backend. At
# least this tolerance, however close two measurements happened to be: these rows catch
# only a change of about half the cost or more.
HELPER_THREAD_TOLERANCE_PCT = 40.0


def parse_measured(text):
    """({backend: [per-op figures]}, {backend: whether it ran a thread of its own}) from
    lines `backend iterations refs helper_threads`, two or four per backend (N then 2N,
    once or twice)."""
    runs, helpers = {}, {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 4:
            fail(f"measured line {number}: expected `backend iterations refs helper_threads`: "
                 f"{line!r}")
        backend, iterations = fields[0], int(fields[1])
        refs = int(fields[2].replace(",", ""))
        runs.setdefault(backend, []).append((iterations, refs))
        helpers[backend] = helpers.get(backend, False) or int(fields[3]) > 0
    figures = {}
    for backend, pairs in runs.items():
        if len(pairs) % 2:
            fail(f"{backend}: an odd number of runs; each measurement is N then 2N")
        figures[backend] = []
        for (n, short), (n2, long) in zip(pairs[::2], pairs[1::2]):
            if n2 <= n:
                fail(f"{backend}: runs of {n} then {n2} iterations; the second must be longer")
            figures[backend].append((long - short) / (2 * (n2 - n)))
    return figures, helpers


def load_baseline(path):
    """{backend: (instructions per op, tolerance %)} from the committed table."""
    baseline = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                backend, per_op, tolerance = line.split()
                baseline[backend] = (float(per_op), float(tolerance))
    except OSError as e:
        fail(f"cannot read the baseline {path}: {e} (make one with --update)")
    except ValueError:
        fail(f"{path}: a line is not `backend instructions_per_op tolerance_pct`")
    return baseline


def tolerance(figures, helper_thread=False):
    """The tolerance of a backend from its measurements: the minimum, a multiple of how
    far its repeated measurements differ, and more for a backend with a thread of its own."""
    mean = sum(figures) / len(figures)
    spread = (max(figures) - min(figures)) / mean * 100 if mean > 0 else 0.0
    floor = HELPER_THREAD_TOLERANCE_PCT if helper_thread else MIN_TOLERANCE_PCT
    return max(floor, round(TOLERANCE_SPREAD_FACTOR * spread, 1))


def check_instructions(baseline, figures):
    """Lines of the comparison and the backends outside their tolerance."""
    lines, failed = [], []
    rows = []
    for backend, values in figures.items():
        measured = sum(values) / len(values)
        if backend not in baseline:
            rows.append([backend, fmt(measured, "{:.1f}"), "-", "-", "-", "new: not in the baseline"])
            failed.append(backend)
            continue
        base, allowed = baseline[backend]
        change = (measured / base - 1) * 100
        verdict = "ok" if abs(change) <= allowed else "CHANGED"
        if verdict != "ok":
            failed.append(backend)
        rows.append([backend, fmt(measured, "{:.1f}"), fmt(base, "{:.1f}"),
                     f"{change:+.1f}%", f"±{allowed:g}%", verdict])
    for backend in baseline:
        if backend not in figures:
            rows.append([backend, "-", fmt(baseline[backend][0], "{:.1f}"), "-", "-",
                         "in the baseline, not measured"])
    lines.append(table(["BACKEND", "INSTR/OP", "BASELINE", "CHANGE", "TOLERANCE", ""], rows))
    return lines, failed


def instructions(baseline_path, measured_path, mode="check"):
    with open(measured_path, encoding="utf-8") as f:
        figures, helpers = parse_measured(f.read())
    if mode == "update":
        # Backends not measured this time (`-b` chose others) keep their lines, in their
        # place; measured ones are replaced, new ones appended.
        rows = load_baseline(baseline_path) if os.path.exists(baseline_path) else {}
        for backend, values in figures.items():
            rows[backend] = (sum(values) / len(values), tolerance(values, helpers[backend]))
        with open(baseline_path, "w", encoding="utf-8") as f:
            f.write("# Instructions per operation, `pairs` on one thread, from "
                    "scripts/instructions.sh --update.\n"
                    "# backend\tinstructions_per_op\ttolerance_pct\n")
            for backend, (per_op, allowed) in rows.items():
                f.write(f"{backend}\t{per_op:.1f}\t{allowed:g}\n")
        print(f"instructions: wrote {baseline_path} ({len(figures)} of {len(rows)} backends "
              "measured)")
        return
    lines, failed = check_instructions(load_baseline(baseline_path), figures)
    print("\n".join(lines))
    if failed:
        fail(f"instructions per operation changed for {', '.join(failed)}: if the change is "
             "meant, rerun scripts/instructions.sh --update and commit the baseline")


def main(argv):
    commands = {"perf": (perf, 2), "cachegrind": (cachegrind, 1), "massif": (massif, 1),
                "compare": (compare, 2), "host-geometry": (host_geometry, 0),
                "per-million": (per_million, 2), "instructions": (instructions, (2, 3))}
    if len(argv) < 1 or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    function, arity = commands[argv[0]]
    arities = arity if isinstance(arity, tuple) else (arity,)
    if len(argv) - 1 not in arities:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    function(*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
