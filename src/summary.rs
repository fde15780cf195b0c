//! The summary printed on the terminal after a run. Its numbers and its table come from
//! `reclaim_results::format`, as the report's do, so that the two show the same figure
//! for the same row and field.

use std::collections::BTreeMap;
use std::fmt::Write;

use reclaim_results::format::{self, MISSING, table};
use reclaim_results::{ResultFile, Row, stats};

/// Operations per second as the report writes them (`12.3M`); `~` marks a row the
/// harness flagged noisy.
fn throughput(row: &Row) -> String {
    match (row.valid, row.ops_per_sec) {
        (true, Some(s)) => {
            let mark = if row.noisy.is_some() { "~" } else { "" };
            format!("{mark}{}", format::si(s.median))
        }
        _ => "FAILED".to_string(),
    }
}

/// How wide the intervals came out, and how many rows were flagged noisy, by reason.
fn noise_line(rows: &[&Row]) -> Option<String> {
    let widths = |width: fn(&Row) -> Option<f64>| -> Option<f64> {
        let values: Vec<f64> = rows
            .iter()
            .filter(|r| r.valid)
            .filter_map(|r| width(r))
            .collect();
        stats::median(&values)
    };
    let median_width = widths(|r| r.ops_per_sec?.ci_half_width_pct());
    let ratio_width = widths(|r| {
        r.ratio
            .as_ref()
            .filter(|ratio| ratio.reference != r.backend)?
            .ci_half_width_pct()
    });
    let mut line = match (median_width, ratio_width) {
        (Some(m), Some(r)) => format!(
            "95% intervals: the median row's is {} on its throughput and {} on its ratio. ",
            format::plus_minus_pct(m),
            format::plus_minus_pct(r)
        ),
        _ => String::new(),
    };
    let flagged: Vec<&str> = rows.iter().filter_map(|r| r.noisy.as_deref()).collect();
    if !flagged.is_empty() {
        let count = |needle: &str| flagged.iter().filter(|r| r.contains(needle)).count();
        line.push_str(&format!(
            "{} of {} rows flagged noisy (~): {} with a 95% interval wider than ±{}% or none, \
             {} with hypervisor steal over {}%, {} whose workers waited for a CPU over {}% of \
             the time; the reasons are in each row's `noisy` field and the report.",
            flagged.len(),
            rows.len(),
            count("interval"),
            stats::NOISY_INTERVAL_PCT,
            count("stole"),
            stats::NOISY_STEAL_PCT,
            count("waited"),
            stats::NOISY_RUNQUEUE_DELAY_PCT,
        ));
    }
    (!line.is_empty()).then_some(line)
}

/// The ratio to the row's reference, as the report writes it.
fn ratio(row: &Row) -> String {
    if row.valid {
        reclaim_report::format::ratio_cell(row)
    } else {
        "FAILED".to_string()
    }
}

/// One line per backend, one column per workload × threads, each cell `cell(row)`. A row
/// that set a scheme knob has a line of its own (`treiber-seize batch-size=8`); when the
/// rows ran on several allocators (`run --allocator`), so has each allocator's
/// (`treiber-ebr on jemalloc`).
fn grid(rows: &[&Row], cell: impl Fn(&Row) -> String) -> String {
    let several = rows.iter().any(|r| r.allocator != rows[0].allocator);
    let line_of = |row: &Row| {
        let mut name = row.backend.clone();
        if let Some(tuning) = &row.tuning {
            name = format!("{name} {tuning}");
        }
        if several {
            name = format!("{name} on {}", row.allocator);
        }
        name
    };
    let mut columns: Vec<(String, usize)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(String, &str, usize), String> = BTreeMap::new();
    for row in rows {
        let key = (row.workload.clone(), row.threads);
        if !columns.contains(&key) {
            columns.push(key);
        }
        let name = line_of(row);
        if !names.contains(&name) {
            names.push(name.clone());
        }
        cells.insert((name, &row.workload, row.threads), cell(row));
    }
    let header: Vec<String> = std::iter::once("BACKEND".to_string())
        .chain(columns.iter().map(|(w, t)| format!("{w}/{t}")))
        .collect();
    let lines: Vec<Vec<String>> = names
        .iter()
        .map(|name| {
            std::iter::once(name.clone())
                .chain(columns.iter().map(|(w, t)| {
                    cells
                        .get(&(name.clone(), w.as_str(), *t))
                        .cloned()
                        .unwrap_or_else(|| MISSING.into())
                }))
                .collect()
        })
        .collect();
    table(&header, 1..usize::MAX, &lines)
}

/// The summary of a run: throughput by backend and workload, what `stalled` kept, the
/// sets' nodes visited and long readers, the handoff strategies' callbacks, and every
/// row that failed its check. A section with no rows is left out.
pub fn summarize(file: &ResultFile) -> String {
    let (graph_rows, rows): (Vec<&Row>, Vec<&Row>) = file
        .rows
        .iter()
        .filter(|r| r.workload != "handoff")
        .partition(|r| r.structure == "graph");
    let (set_rows, backend_rows): (Vec<&Row>, Vec<&Row>) =
        rows.into_iter().partition(|r| r.is_set());
    let mut out = throughput_section(&backend_rows, file.settings.repeats, Family::Containers);
    out.push_str(&stalled_section(&backend_rows));
    if !set_rows.is_empty() && !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&throughput_section(
        &set_rows,
        file.settings.repeats,
        Family::Sets,
    ));
    out.push_str(&visited_section(&set_rows));
    out.push_str(&long_reader_section(&set_rows));
    if !graph_rows.is_empty() && !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&throughput_section(
        &graph_rows,
        file.settings.repeats,
        Family::Graphs,
    ));
    out.push_str(&graph_section(&graph_rows));
    out.push_str(&handoff_section(&file.rows));
    out.push_str(&failed_section(&file.rows));
    out
}

/// Which rows a throughput section shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Containers,
    Sets,
    Graphs,
}

/// The references the rows' ratios were taken against, as the ratio table's heading
/// names them: every one, in order of first appearance, up to a handful.
fn references(rows: &[&Row]) -> String {
    const SHOWN: usize = 6;
    let mut names: Vec<&str> = Vec::new();
    for ratio in rows.iter().filter_map(|r| r.ratio.as_ref()) {
        if !names.contains(&ratio.reference.as_str()) {
            names.push(&ratio.reference);
        }
    }
    match names.len() {
        0 => "none: no row has a ratio".to_owned(),
        n if n <= SHOWN => names.join(", "),
        n => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
    }
}

/// Throughput, then the ratios: one line per backend, one column per workload × threads.
fn throughput_section(backend_rows: &[&Row], repeats: u32, family: Family) -> String {
    let mut out = String::new();
    if backend_rows.is_empty() {
        return out;
    }
    let what = match family {
        Family::Containers => "Throughput, operations (pushes + pops)",
        Family::Sets => {
            "Sets: throughput, operations (contains + inserts + removes, whether they \
             found the key or not; a long reader's walks not included)"
        }
        Family::Graphs => {
            "Graphs: throughput, operations (a subgraph replaced; the collections the \
             driver ran included)"
        }
    };
    let _ = writeln!(
        out,
        "{what} per second, median of {repeats} rounds (~ marks a row flagged noisy):"
    );
    out.push_str(&grid(backend_rows, throughput));
    if let Some(line) = noise_line(backend_rows) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\nRatio to the reference of each comparison group ({}), paired by round: 1.23× \
         where the 95% interval lies clear of 1, ≈ where it contains 1 (within noise), ? \
         where there is no interval:",
        references(backend_rows)
    );
    out.push_str(&grid(backend_rows, ratio));
    out
}

/// What a row's scheme held back: its peak garbage and peak memory, as cells.
fn held_back(r: &Row) -> [String; 2] {
    [
        r.garbage
            .as_ref()
            .map_or("no scheme counters".to_string(), |g| {
                format::si(g.peak as f64)
            }),
        r.memory.as_ref().map_or("not counted".to_string(), |m| {
            format::bytes(m.peak_bytes as f64)
        }),
    ]
}

/// Nodes visited per operation, sampled: one line per set, one column per workload ×
/// threads, as the throughput; left out when no set could say.
fn visited_section(set_rows: &[&Row]) -> String {
    const FIELD: &str = "visited_per_op";
    if !set_rows.iter().any(|r| r.extra.contains_key(FIELD)) {
        return String::new();
    }
    let visited = |r: &Row| {
        r.extra
            .get(FIELD)
            .map_or(MISSING.to_string(), |v| format::per_op(*v))
    };
    format!(
        "\nNodes visited per operation (the search that decided it, every level of a skip \
         list), sampled: the last operation of each batch of 64, median round; – where the \
         set cannot say (the baselines):\n{}",
        grid(set_rows, visited)
    )
}

/// Long reader: the walks, and what each scheme held back meanwhile.
fn long_reader_section(set_rows: &[&Row]) -> String {
    let lines: Vec<Vec<String>> = set_rows
        .iter()
        .filter(|r| r.workload == "long-reader" && r.valid)
        .map(|r| {
            let extra = |key: &str| {
                r.extra
                    .get(key)
                    .map_or(MISSING.to_string(), |v| format::si(*v))
            };
            vec![
                r.backend.clone(),
                r.threads.to_string(),
                extra("long_reader_walks"),
                extra("long_reader_nodes_per_walk"),
            ]
            .into_iter()
            .chain(held_back(r))
            .collect()
        })
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let head = [
        "BACKEND",
        "THREADS",
        "WALKS",
        "NODES A WALK",
        "PEAK GARBAGE (NODES)",
        "PEAK MEMORY",
    ]
    .map(String::from);
    format!(
        "\nLong reader: one thread walks the whole set, again and again, in one read-side \
         critical section a walk; what the others retired meanwhile waits for it under \
         epochs (median round):\n{}",
        table(&head, 1..usize::MAX, &lines)
    )
}

/// Graphs: the collections' pauses, and what each strategy left unfreed.
fn graph_section(graph_rows: &[&Row]) -> String {
    let lines: Vec<Vec<String>> = graph_rows
        .iter()
        .filter(|r| r.valid)
        .map(|r| {
            let extra = |key: &str| r.extra.get(key).copied();
            let count = |key: &str| extra(key).map_or(MISSING.to_string(), format::si);
            let pause = |f: fn(&reclaim_results::Latency) -> u64| match r.pauses_ns {
                Some(p) if p.samples > 0 => format::nanos(f(&p) as f64),
                _ => MISSING.to_string(),
            };
            let collections = match (extra("collections"), extra("hidden_collections")) {
                (Some(timed), Some(hidden)) => {
                    format!("{} + {} inside ops", format::si(timed), format::si(hidden))
                }
                (Some(timed), None) => format::si(timed),
                _ => MISSING.to_string(),
            };
            vec![
                r.backend.clone(),
                r.workload.clone(),
                r.threads.to_string(),
                collections,
                pause(|p| p.p50),
                pause(|p| p.p99),
                pause(|p| p.max),
                extra("collection_time_pct").map_or(MISSING.to_string(), |p| format!("{p:.1}%")),
            ]
            .into_iter()
            .chain(held_back(r))
            .chain([count("leaked")])
            .collect()
        })
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let head = [
        "STRATEGY",
        "WORKLOAD",
        "THREADS",
        "COLLECTIONS",
        "PAUSE P50",
        "P99",
        "MAX",
        "IN COLLECTION",
        "PEAK GARBAGE (NODES)",
        "PEAK MEMORY",
        "LEAKED",
    ]
    .map(String::from);
    format!(
        "\nGraphs: collections the driver timed (and those a library ran inside operations, \
         counted), the garbage waiting at its peak (median round), and nodes a full \
         collection could not free:\n{}",
        table(&head, 2..usize::MAX, &lines)
    )
}

/// Stalled: what each scheme kept while one thread held on.
fn stalled_section(backend_rows: &[&Row]) -> String {
    let stalled: Vec<Vec<String>> = backend_rows
        .iter()
        .filter(|r| r.workload == "stalled" && r.valid)
        .map(|r| {
            vec![r.backend.clone(), r.threads.to_string()]
                .into_iter()
                .chain(held_back(r))
                .collect()
        })
        .collect();
    if stalled.is_empty() {
        return String::new();
    }
    let head = [
        "BACKEND",
        "THREADS",
        "PEAK GARBAGE (objects)",
        "PEAK MEMORY",
    ];
    format!(
        "\nStalled: one thread holds on for the whole run:\n{}",
        table(&head, 1..4, &stalled)
    )
}

/// The handoff strategies' real-time callback: its latency, and what it had to free.
fn handoff_section(rows: &[Row]) -> String {
    let handoff: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| r.workload == "handoff" && r.valid)
        .map(handoff_line)
        .collect();
    if handoff.is_empty() {
        return String::new();
    }
    let head = [
        "STRATEGY",
        "P50",
        "P99.9",
        "MAX",
        "FREES IN CALLBACKS",
        "MESSAGES FREED THERE",
        "PEAK MESSAGES ALIVE",
    ];
    format!(
        "\nHandoff: the real-time callback, per strategy:\n{}",
        table(&head, 1..usize::MAX, &handoff)
    )
}

/// One handoff row's cells, in the order of [`handoff_section`]'s header.
fn handoff_line(r: &Row) -> Vec<String> {
    let l = r.latency_ns;
    let ns = |f: fn(&reclaim_results::Latency) -> u64| {
        l.as_ref()
            .map_or(MISSING.to_string(), |l| format::nanos(f(l) as f64))
    };
    let extra = |k: &str| {
        r.extra
            .get(k)
            .map_or("not counted".to_string(), |v| format::si(*v))
    };
    vec![
        r.scheme.clone(),
        ns(|l| l.p50),
        ns(|l| l.p999),
        ns(|l| l.max),
        extra("consumer_frees"),
        extra("messages_freed_on_consumer"),
        extra("peak_outstanding"),
    ]
}

/// Every row that failed its check or could not run, and why.
fn failed_section(rows: &[Row]) -> String {
    let invalid: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| !r.valid)
        .map(|r| {
            vec![
                r.backend.clone(),
                r.workload.clone(),
                r.threads.to_string(),
                r.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if invalid.is_empty() {
        return String::new();
    }
    let head = ["BACKEND", "WORKLOAD", "THREADS", "WHY"];
    format!(
        "\nFailed rows (no numbers reported for them):\n{}",
        table(&head, 2..3, &invalid)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reclaim_report::{Input, compare_text, render_html};
    use reclaim_results::{
        Garbage, Latency, Memory, Metadata, Ratio, RunSettings, SCHEMA_VERSION, Spread,
    };

    /// A file with a `stalled` row and a `handoff` row whose numbers need every unit:
    /// millions, a binary prefix, thousands, nanoseconds to milliseconds.
    fn file() -> ResultFile {
        let mut stalled = Row::named("treiber-ebr", "treiber", "ebr", "stalled", 2);
        stalled.roles = "1 pair + 1 stalled".into();
        stalled.valid = true;
        stalled.ops_per_sec = Spread::of(&[12_345_678.0; 6]);
        stalled.memory = Some(Memory {
            peak_bytes: 3 << 20,
            series: Vec::new(),
        });
        stalled.garbage = Some(Garbage {
            peak: 45_600,
            series: Vec::new(),
        });
        stalled.latency_ns = Some(Latency {
            p50: 85,
            p99: 640,
            p999: 1_234,
            max: 2_500_000,
            samples: 9_000,
        });
        stalled.counted_ops = 1_000_000;
        stalled.counters = [("instructions".to_owned(), Some(321_400_000))].into();

        let mut handoff = Row::named("handoff-ebr", "handoff", "ebr", "handoff", 2);
        handoff.roles = "1 producer + 1 real-time consumer".into();
        handoff.valid = true;
        handoff.ops_per_sec = Spread::of(&[1_000.0; 6]);
        handoff.latency_ns = Some(Latency {
            p50: 1_450,
            p99: 9_000,
            p999: 27_500,
            max: 1_234_567,
            samples: 5_000,
        });
        handoff.extra = [("consumer_frees".to_owned(), 12_345.0)].into();

        ResultFile {
            schema_version: SCHEMA_VERSION,
            metadata: Metadata {
                harness_version: "0.1.0".into(),
                git_sha: "0123456789abcdef".into(),
                rustc: "rustc 1.89.0".into(),
                profile: "release".into(),
                target: "x86_64-unknown-linux-gnu".into(),
                host: "laptop".into(),
                cpu_model: "a CPU".into(),
                cores: 2,
                kernel: "6.1.0".into(),
                started_at: "2025-11-23T10:00:00Z".into(),
                command: "reclaim-bench run".into(),
                emulation: None,
                load_average: None,
                governor: None,
                scratch_dir: None,
                scratch_fs: None,
                allocators: Vec::new(),
            },
            settings: RunSettings {
                suite: "custom".into(),
                duration_ms: 100,
                iterations: None,
                repeats: 6,
                seed: Some(1),
                ci_target_pct: None,
                max_time_s: None,
                sample_interval_ms: 5,
                latency_sample_every: 64,
                max_in_flight: 65_536,
                instrumented: true,
                pinned: Some(true),
            },
            rows: vec![stalled, handoff],
        }
    }

    /// Set rows get their own throughput section, apart from the containers', a table of
    /// the nodes their operations visited (– for a set that cannot say), and long-reader
    /// rows a table of walks and what was held back.
    #[test]
    fn sets_have_their_own_section_and_long_readers_their_table() {
        let mut file = file();
        for (backend, workload, ops, garbage) in [
            ("hashmap-ebr", "read-mostly", 4.5e6, 10),
            ("hashmap-ebr", "long-reader", 2.0e6, 11_500),
            ("hashmap-hp", "long-reader", 1.5e6, 996),
            ("papaya", "read-mostly", 9.0e6, 0),
        ] {
            let scheme = backend.trim_start_matches("hashmap-");
            let mut row = Row::named(backend, "hashmap", scheme, workload, 2);
            row.valid = true;
            row.ops_per_sec = Spread::of(&[ops; 6]);
            row.extra = [("keys".to_owned(), 100_000.0)].into();
            if backend != "papaya" {
                row.extra.insert("visited_per_op".into(), 1.875);
            }
            if workload == "long-reader" {
                row.extra.insert("long_reader_walks".into(), 46.0);
                row.extra
                    .insert("long_reader_nodes_per_walk".into(), 49_900.0);
                row.garbage = Some(Garbage {
                    peak: garbage,
                    series: Vec::new(),
                });
            }
            file.rows.push(row);
        }
        let summary = summarize(&file);
        let containers = cells(&summary, "Throughput, operations", "BACKEND", "treiber-ebr");
        assert!(!containers.contains_key("read-mostly/2"), "{summary}");
        let sets = cells(&summary, "Sets: throughput", "BACKEND", "hashmap-ebr");
        assert_eq!(sets["read-mostly/2"], "4.5M", "{summary}");
        assert_eq!(sets["long-reader/2"], "2M", "{summary}");
        assert!(!sets.contains_key("stalled/2"), "{summary}");
        let visited = cells(&summary, "Nodes visited", "BACKEND", "hashmap-ebr");
        assert_eq!(visited["read-mostly/2"], "1.88", "{summary}");
        let baseline = cells(&summary, "Nodes visited", "BACKEND", "papaya");
        assert_eq!(baseline["read-mostly/2"], "–", "{summary}");
        let reader = cells(&summary, "Long reader", "BACKEND", "hashmap-hp");
        assert_eq!(reader["PEAK GARBAGE (NODES)"], "996");
        assert_eq!(reader["WALKS"], "46");
        assert_eq!(reader["NODES A WALK"], "49.9k");
    }

    /// Rows on several allocators get a line each, named with the allocator; rows on one
    /// allocator keep the backend's name alone.
    #[test]
    fn rows_on_several_allocators_get_a_line_each() {
        let mut file = file();
        for (allocator, ops) in [("system", 2.0e6), ("jemalloc", 3.0e6)] {
            let mut row = Row::named("treiber-ebr", "treiber", "ebr", "pairs", 1);
            row.valid = true;
            row.allocator = allocator.into();
            row.ops_per_sec = Spread::of(&[ops; 6]);
            row.ratio = Ratio::paired("treiber-ebr", &[ops; 6], &[ops; 6]);
            file.rows.push(row);
        }
        let summary = summarize(&file);
        let title = "Throughput, operations";
        let system = cells(&summary, title, "BACKEND", "treiber-ebr on system");
        assert_eq!(system["pairs/1"], "2M", "{summary}");
        let jemalloc = cells(&summary, title, "BACKEND", "treiber-ebr on jemalloc");
        assert_eq!(jemalloc["pairs/1"], "3M", "{summary}");
        file.rows.pop();
        let summary = summarize(&file);
        assert!(!summary.contains(" on system"), "{summary}");
        // The ratio table names the references the rows were measured against.
        assert!(
            summary.contains("Ratio to the reference of each comparison group (treiber-ebr)"),
            "{summary}"
        );
        assert_eq!(
            cells(&summary, title, "BACKEND", "treiber-ebr")["pairs/1"],
            "2M"
        );
    }

    /// The cells of a terminal table's line (cells two or more spaces apart), by the
    /// header of their column: the table is the first after the line containing `title`
    /// whose header starts with `head`, the line the first of its own that starts with
    /// `first`.
    fn cells(text: &str, title: &str, head: &str, first: &str) -> BTreeMap<String, String> {
        let split = |line: &str| -> Vec<String> {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.contains(title))
            .and_then(|at| Some(at + lines[at..].iter().position(|l| l.starts_with(head))?))
            .unwrap_or_else(|| panic!("no table {title:?} headed {head:?} in\n{text}"));
        let row = lines[header + 1..]
            .iter()
            .find(|l| l.starts_with(first))
            .unwrap_or_else(|| panic!("no line {first:?} in table {title:?} of\n{text}"));
        split(lines[header]).into_iter().zip(split(row)).collect()
    }

    #[test]
    fn the_terminal_prints_the_report_s_figure_for_each_field() {
        let file = file();
        let summary = summarize(&file);
        let inputs = [Input {
            label: "laptop".into(),
            file,
        }];
        let html = render_html(&inputs);
        // A number in one of the report's table cells, alone or before its raw total.
        let in_report = |figure: &str| {
            html.contains(&format!(">{figure}</td>"))
                || html.contains(&format!(">{figure} <small>"))
        };

        let throughput = cells(&summary, "Throughput", "BACKEND", "treiber-ebr");
        let stalled = cells(&summary, "Stalled", "BACKEND", "treiber-ebr");
        let handoff = cells(&summary, "Handoff", "STRATEGY", "ebr");
        // The summary has no counters; `compare` is where the terminal shows them.
        let compared = cells(&compare_text(&inputs), "backend", "backend", "treiber-ebr");
        let fields = [
            ("throughput", &throughput["stalled/2"], "12.3M"),
            ("peak memory", &stalled["PEAK MEMORY"], "3 MiB"),
            ("peak garbage", &stalled["PEAK GARBAGE (objects)"], "45.6k"),
            ("latency p50", &handoff["P50"], "1.45 µs"),
            ("latency p99.9", &handoff["P99.9"], "27.5 µs"),
            ("latency max", &handoff["MAX"], "1.23 ms"),
            (
                "frees in callbacks",
                &handoff["FREES IN CALLBACKS"],
                "12.3k",
            ),
            ("instructions per op", &compared["[1] instr/op"], "321"),
        ];
        for (field, terminal, expected) in fields {
            assert_eq!(terminal, expected, "{field} on the terminal:\n{summary}");
            assert!(
                in_report(terminal),
                "{field}: the report has no cell {terminal}"
            );
        }
    }
}
