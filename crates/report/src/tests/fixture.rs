//! Result files built in code: several structures and schemes, baselines, handoff
//! strategies, workloads pairs/prodcons/stalled/handoff at 1, 2 and 4 threads, an
//! invalid row, and counters of which one is unavailable; and the graph family's rows.

use std::collections::BTreeMap;

use reclaim_results::{
    Garbage, GarbagePoint, Latency, Memory, MemoryPoint, Metadata, Ratio, ResultFile, Row,
    RunSettings, SCHEMA_VERSION, Spread,
};

/// Why the fixture's `cache-misses` counter is `null`.
pub(super) const MISSING_COUNTER_REASON: &str =
    "perf_event_open: No such file or directory (no PMU in this VM)";
/// The error of the fixture's invalid row.
pub(super) const INVALID_ERROR: &str = "checksum mismatch: popped 3 values never pushed";

/// (backend, structure, scheme, relative speed)
const BACKENDS: &[(&str, &str, &str, f64)] = &[
    ("treiber-leak", "treiber", "leak", 1.0),
    ("treiber-ebr", "treiber", "ebr", 0.82),
    ("treiber-hp", "treiber", "hp", 0.55),
    ("treiber-rc", "treiber", "rc", 0.31),
    ("treiber-sweep", "treiber", "sweep", 0.7),
    ("msqueue-leak", "msqueue", "leak", 0.74),
    ("msqueue-ebr", "msqueue", "ebr", 0.6),
    ("msqueue-hp", "msqueue", "hp", 0.41),
    ("mutex-vec", "mutex-vec", "lock", 0.35),
    ("segqueue", "segqueue", "internal", 0.9),
];

const HANDOFF: &[(&str, f64)] = &[("box", 1.0), ("ebr", 0.8), ("return-to-sender", 0.9)];

/// A deterministic jitter in `[-1, 1)` from a few numbers, so fixtures look measured.
fn jitter(seed: &str, n: usize) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes().chain(n.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % 2000) as f64 / 1000.0 - 1.0
}

pub(super) fn metadata(host: &str, target: &str, sha: &str) -> Metadata {
    Metadata {
        harness_version: "0.1.0".into(),
        git_sha: sha.into(),
        rustc: "rustc 1.89.0 (29483883e 2025-08-04)".into(),
        profile: "release".into(),
        target: target.into(),
        host: host.into(),
        cpu_model: "AMD EPYC 7B13".into(),
        cores: 2,
        kernel: "6.1.0-18-cloud-amd64".into(),
        started_at: "2025-11-23T10:00:00Z".into(),
        command: "reclaim-bench run --suite quick".into(),
        emulation: None,
        load_average: None,
        governor: None,
        scratch_dir: None,
        scratch_fs: None,
        allocators: Vec::new(),
    }
}

pub(super) fn settings() -> RunSettings {
    RunSettings {
        suite: "quick".into(),
        duration_ms: 1000,
        iterations: None,
        repeats: 5,
        seed: Some(1),
        ci_target_pct: None,
        max_time_s: None,
        sample_interval_ms: 10,
        latency_sample_every: 64,
        max_in_flight: 65_536,
        instrumented: true,
        pinned: Some(false),
    }
}

/// A valid row with throughput around `median`, latency and counters.
pub(super) fn row(
    backend: &str,
    structure: &str,
    scheme: &str,
    workload: &str,
    threads: usize,
    median: f64,
) -> Row {
    let mut row = Row::named(backend, structure, scheme, workload, threads);
    row.scheme_settings = if scheme == "ebr" {
        "collect every 64 retires".into()
    } else {
        String::new()
    };
    row.roles = if workload == "pairs" {
        format!("{threads} pairs")
    } else {
        format!(
            "{} producers + {} consumers",
            threads.div_ceil(2),
            threads / 2
        )
    };
    row.valid = true;
    let repeats: Vec<f64> = (0..5)
        .map(|i| median * (1.0 + 0.06 * jitter(backend, threads * 10 + i)))
        .collect();
    row.ops_per_sec = Spread::of(&repeats).map(|s| Spread { median, ..s });
    row.repeat_ops_per_sec = repeats;
    let p50 = (1e9 / median * threads as f64) as u64;
    row.latency_ns = Some(Latency {
        p50,
        p99: p50.saturating_mul(6),
        p999: p50.saturating_mul(40),
        max: p50.saturating_mul(900),
        samples: (median / 64.0) as u64,
    });
    row.counted_ops = median as u64;
    row.counters.insert(
        "instructions".into(),
        Some((median * (180.0 + 400.0 * (1.0 - median / 2e7).max(0.0))) as u64),
    );
    row.counters
        .insert("task-clock".into(), Some(threads as u64 * 1_000_000_000));
    row.counters.insert("cache-misses".into(), None);
    row.counter_errors
        .insert("cache-misses".into(), MISSING_COUNTER_REASON.into());
    row.memory = Some(Memory {
        peak_bytes: 4096 + threads as u64 * 1024,
        series: Vec::new(),
    });
    row
}

/// Memory and garbage samples over a second: a scheme that cannot reclaim while a
/// thread stalls grows without bound; a bounded one saws.
fn add_series(row: &mut Row, bounded: bool, frees: bool) {
    let mut memory = Vec::new();
    let mut garbage = Vec::new();
    let (mut retired, mut freed) = (0u64, 0u64);
    for i in 0..=100 {
        let t_ms = i as f64 * 10.0;
        retired += 900 + (jitter(&row.backend, i) * 100.0) as u64;
        if frees {
            freed = if bounded {
                retired.saturating_sub(400 + (i as u64 % 7) * 120)
            } else {
                retired / 20
            };
        }
        let outstanding = retired - freed;
        let counted = row.workload != "handoff";
        garbage.push(GarbagePoint {
            t_ms,
            outstanding,
            retired: counted.then_some(retired),
            freed: counted.then_some(freed),
        });
        let bytes = (outstanding * 32) as i64 + 16_384 + (jitter(&row.scheme, i) * 2000.0) as i64;
        memory.push(MemoryPoint {
            t_ms,
            bytes,
            objects: outstanding as i64,
        });
    }
    row.memory = Some(Memory {
        peak_bytes: memory
            .iter()
            .map(|p| p.bytes.max(0) as u64)
            .max()
            .unwrap_or(0),
        series: memory,
    });
    if row.scheme != "lock" && row.scheme != "internal" {
        row.garbage = Some(Garbage {
            peak: garbage.iter().map(|p| p.outstanding).max().unwrap_or(0),
            series: garbage,
        });
    }
}

/// Input 1: every backend on pairs (1, 2, 4 threads) and prodcons (2, 4), stalled at 2
/// and 4 threads, handoff at 2; `treiber-hp` prodcons at 4 threads invalid;
/// `treiber-leak` has no prodcons row at 4 threads.
pub(super) fn laptop() -> ResultFile {
    let mut rows = Vec::new();
    for workload in ["pairs", "prodcons", "stalled"] {
        let threads: &[usize] = match workload {
            "pairs" => &[1, 2, 4],
            _ => &[2, 4],
        };
        for &(backend, structure, scheme, speed) in BACKENDS {
            for &t in threads {
                if backend == "treiber-leak" && workload == "prodcons" && t == 4 {
                    continue;
                }
                let scaling = (t as f64).powf(if scheme == "lock" { -0.4 } else { 0.35 });
                let median = 14e6 * speed * scaling * (1.0 + 0.03 * jitter(workload, t));
                let mut r = row(backend, structure, scheme, workload, t, median);
                if workload == "stalled" {
                    add_series(
                        &mut r,
                        !matches!(scheme, "ebr" | "sweep" | "leak"),
                        scheme != "leak",
                    );
                }
                if backend == "treiber-hp" && workload == "prodcons" && t == 4 {
                    r.valid = false;
                    r.error = Some(INVALID_ERROR.into());
                    r.ops_per_sec = None;
                    r.latency_ns = None;
                }
                rows.push(r);
            }
        }
    }
    for &(strategy, speed) in HANDOFF {
        let backend = format!("handoff-{strategy}");
        let mut r = row(&backend, "handoff", strategy, "handoff", 2, 3e6 * speed);
        add_series(&mut r, strategy != "ebr", true);
        r.extra = BTreeMap::from([("freed_by_consumer".to_owned(), 0.5)]);
        rows.push(r);
    }
    // The numbers the comparison tests compute by hand.
    let pinned = rows
        .iter_mut()
        .find(|r| r.backend == "treiber-ebr" && r.workload == "pairs" && r.threads == 2);
    if let Some(r) = pinned {
        r.ops_per_sec = Some(Spread {
            median: 14.0e6,
            min: 13.4e6,
            max: 14.5e6,
            cv: 0.02,
            ci95: None,
        });
    }
    ResultFile {
        schema_version: SCHEMA_VERSION,
        metadata: metadata("laptop", "x86_64-unknown-linux-gnu", "0123456789abcdef"),
        settings: settings(),
        rows,
    }
}

/// Input 2: the same run on a slower ARM board, without hardware counters, missing
/// `msqueue-hp` pairs at 4 threads; `treiber-ebr` pairs at 2 threads runs at 7.28M
/// ops/s (0.52× the laptop's 14.0M).
pub(super) fn board() -> ResultFile {
    let mut file = laptop();
    file.metadata = metadata("pi5", "aarch64-unknown-linux-gnu", "fedcba9876543210-dirty");
    file.metadata.cpu_model = "Cortex-A76".into();
    file.metadata.cores = 4;
    file.rows
        .retain(|r| !(r.backend == "msqueue-hp" && r.workload == "pairs" && r.threads == 4));
    for r in &mut file.rows {
        let factor = 0.35 + 0.1 * jitter(&r.backend, r.threads);
        if let Some(s) = &mut r.ops_per_sec {
            *s = Spread {
                median: s.median * factor,
                min: s.min * factor,
                max: s.max * factor,
                cv: s.cv,
                ci95: None,
            };
        }
        for value in r.counters.values_mut() {
            *value = None;
        }
        for name in r.counters.keys() {
            r.counter_errors
                .insert(name.clone(), "perf_event_paranoid is 3".into());
        }
        if r.backend == "treiber-ebr" && r.workload == "pairs" && r.threads == 2 {
            r.ops_per_sec = Some(Spread {
                median: 7.28e6,
                min: 7.0e6,
                max: 7.4e6,
                cv: 0.02,
                ci95: None,
            });
        }
    }
    file
}

/// The slowest timed pause of the fixture's `graph-bacon-rajan-cc` row, in ns: its p99,
/// p99.9 and max (19.8 ms as the report writes it).
pub(super) const GRAPH_PAUSE_P99_NS: u64 = 19_775_487;

/// Graph rows as the harness writes them: `graph` at 1 thread (`rc-weak`, the
/// reference; `rc-leak`, which leaks its cycles by design and hit the leak cap;
/// `bacon-rajan-cc`, whose collections the driver timed; `gc`, which collects inside
/// operations) and at 2 threads (`arc-weak`, the reference; `dumpster-sync`, which
/// leaked 62 nodes it should have freed).
pub(super) fn graph_rows() -> Vec<Row> {
    // (strategy, threads, relative speed, timed pauses (p50, p99, count), hidden
    // collections, leaked)
    type Spec = (
        &'static str,
        usize,
        f64,
        Option<(u64, u64, u64)>,
        Option<f64>,
        f64,
    );
    const SPECS: &[Spec] = &[
        ("rc-weak", 1, 1.0, None, None, 0.0),
        ("rc-leak", 1, 1.05, None, None, 500_000.0),
        (
            "bacon-rajan-cc",
            1,
            0.34,
            Some((5_967_871, GRAPH_PAUSE_P99_NS, 38)),
            None,
            0.0,
        ),
        ("gc", 1, 0.29, None, Some(8.0), 0.0),
        ("arc-weak", 2, 1.0, None, None, 0.0),
        ("dumpster-sync", 2, 0.8, None, Some(0.0), 62.0),
    ];
    let mut rows: Vec<Row> = Vec::new();
    for &(strategy, threads, speed, pauses, hidden, leaked) in SPECS {
        let backend = format!("graph-{strategy}");
        let mut r = row(&backend, "graph", strategy, "graph", threads, 9e5 * speed);
        r.roles = format!("{threads} replacing subgraphs");
        // Six rounds that wobble alike in every row: paired ratios with an interval,
        // exactly the speeds' ratios.
        let median = 9e5 * speed;
        r.repeat_ops_per_sec = (0..6)
            .map(|i| median * (1.0 + 0.05 * jitter("graph", i)))
            .collect();
        r.ops_per_sec = Spread::of(&r.repeat_ops_per_sec).map(|s| Spread { median, ..s });
        r.pauses_ns = Some(match pauses {
            Some((p50, p99, samples)) => Latency {
                p50,
                p99,
                p999: p99,
                max: p99,
                samples,
            },
            None => Latency {
                p50: 0,
                p99: 0,
                p999: 0,
                max: 0,
                samples: 0,
            },
        });
        add_series(&mut r, strategy != "rc-leak", true);
        let timed = pauses.map_or(0.0, |(_, _, n)| (n / 6) as f64);
        r.extra = BTreeMap::from([
            ("nodes".to_owned(), 20_000.0),
            ("collections".to_owned(), timed),
            (
                "collection_time_pct".to_owned(),
                if timed > 0.0 { 72.5 } else { 0.0 },
            ),
            ("garbage_end".to_owned(), leaked),
            ("leaked".to_owned(), leaked),
            ("never_freed".to_owned(), leaked * 2.0),
            ("garbage_growth_per_sec".to_owned(), leaked * 10.0),
        ]);
        if let Some(hidden) = hidden {
            r.extra.insert("hidden_collections".to_owned(), hidden);
        }
        if strategy == "rc-leak" {
            r.extra.insert("leak_capped".to_owned(), 1.0);
        }
        rows.push(r);
    }
    // Ratios paired round by round with each group's reference.
    for reference in ["graph-rc-weak", "graph-arc-weak"] {
        let Some(base) = rows.iter().find(|r| r.backend == reference).cloned() else {
            continue;
        };
        for r in rows.iter_mut().filter(|r| r.threads == base.threads) {
            r.ratio = Ratio::paired(reference, &r.repeat_ops_per_sec, &base.repeat_ops_per_sec);
        }
    }
    rows
}
