//! `list`: the backends, the workloads, and the counters this machine can read; and
//! `--names`, `--counters`, the same for scripts, one name per line.

use std::io::{self, Write};

use anyhow::Context;

use reclaim_core::{Entry, SetEntry};
use reclaim_harness::Workload;
use reclaim_results::Counter;
use reclaim_results::format::table;

/// Prints the three lists to standard output.
pub fn list() -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    let written = write_list(
        &mut out,
        &reclaim_registry::entries(),
        &reclaim_registry::set_entries(),
    );
    match written {
        // A closed pipe (`reclaim-bench list | head`) is not an error worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the lists to standard output"),
    }
}

/// The families `list --names --family` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// Container backends, which push and pop (and the handoff strategies).
    Containers,
    /// Set backends, which insert, remove and look up keys.
    Sets,
    /// Graph strategies, which keep an object graph and free its garbage.
    Graphs,
}

/// Prints the names of the backends `patterns` (comma-separated names or globs) select,
/// of `family` only if given.
pub fn names(patterns: &str, family: Option<Family>) -> anyhow::Result<()> {
    let selection = reclaim_harness::Selection {
        backends: patterns.split(',').map(str::to_owned).collect(),
        ..Default::default()
    };
    let targets = reclaim_harness::targets(&selection, &reclaim_registry::entries())?;
    use reclaim_harness::Target;
    let names: String = targets
        .iter()
        .filter(|t| match family {
            None => true,
            Some(Family::Sets) => matches!(t, Target::Set(_)),
            Some(Family::Graphs) => matches!(t, Target::Graph(_)),
            Some(Family::Containers) => matches!(t, Target::Backend(_) | Target::Handoff(_)),
        })
        .map(|t| t.name() + "\n")
        .collect();
    let mut out = io::stdout().lock();
    match out.write_all(names.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(e).context("writing the names to standard output")
        }
        _ => Ok(()),
    }
}

/// Prints the names of the counters a row records, one per line, in [`Counter::ALL`]'s
/// order: what `scripts/perf.sh` asks `perf stat` for.
pub fn counters() -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(counter_names().as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(e).context("writing the counter names to standard output")
        }
        _ => Ok(()),
    }
}

fn counter_names() -> String {
    Counter::ALL.iter().map(|c| format!("{c}\n")).collect()
}

fn write_list(out: &mut impl Write, entries: &[Entry], sets: &[SetEntry]) -> io::Result<()> {
    writeln!(out, "Backends, container family (push and pop):")?;
    out.write_all(backends(entries).as_bytes())?;
    writeln!(
        out,
        "\nBackends, set family (insert, remove, contains of u64 keys; run by the set \
         workloads below, with stalled and oversubscription):"
    )?;
    out.write_all(set_backends(sets).as_bytes())?;
    for (name, why) in reclaim_registry::NOT_REGISTERED {
        writeln!(out, "  Not registered: {name}. {why}.")?;
    }
    writeln!(
        out,
        "\nGraph strategies (an object graph whose garbage is often cyclic; run by the \
         graph workloads below, `--nodes`, `--collect-every`):"
    )?;
    out.write_all(graph_strategies().as_bytes())?;
    writeln!(
        out,
        "\nScheme knobs (`run --scheme-setting KEY=V1,V2,…` runs the backends of the \
         scheme once per value):"
    )?;
    out.write_all(knobs(entries, sets).as_bytes())?;
    writeln!(out, "\nAllocators (`run --allocator NAMES`):")?;
    for allocator in reclaim_alloc::Allocator::ALL {
        let status = match allocator.available() {
            Ok(()) if allocator == reclaim_alloc::chosen() => "this process runs on it".into(),
            Ok(()) => "available".to_string(),
            Err(why) => format!("unavailable: {why}"),
        };
        writeln!(out, "  {allocator}: {status}")?;
    }
    writeln!(out, "\nWorkloads:")?;
    let workloads: Vec<Vec<String>> = Workload::ALL
        .iter()
        .map(|w| vec![w.name().to_string(), w.summary().to_string()])
        .collect();
    out.write_all(table(&["WORKLOAD", "WHAT THE THREADS DO"], 0..0, &workloads).as_bytes())?;
    writeln!(
        out,
        "  handoff runs its strategies as handoff-box, handoff-arc, handoff-sweep, \
         handoff-ebr, handoff-return-to-sender, handoff-sendrc, handoff-dumpster-sync."
    )?;
    writeln!(out, "\nCounters on this machine:")?;
    let counters: Vec<Vec<String>> = reclaim_harness::counters::availability()
        .into_iter()
        .map(|(counter, available)| {
            let what = match counter.unit() {
                Some(unit) => format!("{} ({unit})", counter.description()),
                None => counter.description().to_string(),
            };
            vec![
                counter.to_string(),
                what,
                match available {
                    Ok(()) => "available".to_string(),
                    Err(reason) => format!("unsupported: {reason}"),
                },
            ]
        })
        .collect();
    out.write_all(table(&["COUNTER", "WHAT IT COUNTS", "STATUS"], 0..0, &counters).as_bytes())?;
    writeln!(
        out,
        "  context-switches is taken from getrusage per worker thread, whatever perf says."
    )
}

/// The knobs of the registered schemes, each scheme once: key, default, range, summary;
/// a line saying so when no scheme has one.
fn knobs(entries: &[Entry], sets: &[SetEntry]) -> String {
    let all = entries
        .iter()
        .map(|e| (e.info.scheme, e.info.knobs))
        .chain(sets.iter().map(|s| (s.info.scheme, s.info.knobs)));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (scheme, knobs) in all {
        for knob in knobs {
            let row = vec![
                scheme.to_string(),
                knob.key.to_string(),
                knob.default.to_string(),
                format!("{}–{}", knob.min, knob.max),
                knob.summary.to_string(),
            ];
            if !rows.contains(&row) {
                rows.push(row);
            }
        }
    }
    if rows.is_empty() {
        return "  none: no registered scheme has a knob.\n".to_owned();
    }
    table(
        &["SCHEME", "KNOB", "DEFAULT", "RANGE", "WHAT IT CHANGES"],
        2..4,
        &rows,
    )
}

/// The graph strategies' table.
fn graph_strategies() -> String {
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let rows: Vec<Vec<String>> = reclaim_harness::graph_strategies()
        .into_iter()
        .map(|info| {
            vec![
                format!("graph-{}", info.name),
                if info.thread_safe {
                    "shared"
                } else {
                    "1 thread"
                }
                .to_string(),
                yes(info.forced_collection),
                yes(info.leaks_cycles),
                info.summary.to_string(),
            ]
        })
        .collect();
    table(
        &["STRATEGY", "THREADS", "FORCED", "LEAKS CYCLES", "SUMMARY"],
        0..0,
        &rows,
    )
}

/// The backend table: one row per backend, columns aligned.
fn backends(entries: &[Entry]) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.name.to_string(),
                e.info.structure.to_string(),
                e.info.scheme.to_string(),
                e.info.ordering.to_string(),
                e.info.consumers.to_string(),
                if e.info.bounded { "yes" } else { "no" }.to_string(),
                e.info.summary.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "BACKEND",
            "STRUCTURE",
            "SCHEME",
            "ORDERING",
            "CONSUMERS",
            "BOUNDED",
            "SUMMARY",
        ],
        0..0,
        &rows,
    )
}

/// The set backend table: one row per set backend.
fn set_backends(sets: &[SetEntry]) -> String {
    let rows: Vec<Vec<String>> = sets
        .iter()
        .map(|e| {
            vec![
                e.name.to_string(),
                e.info.structure.to_string(),
                e.info.scheme.to_string(),
                if e.info.ordered { "yes" } else { "no" }.to_string(),
                e.info.summary.to_string(),
            ]
        })
        .collect();
    table(
        &["BACKEND", "STRUCTURE", "SCHEME", "ORDERED", "SUMMARY"],
        0..0,
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_has_a_row_per_backend_with_its_properties() {
        let entries = reclaim_registry::entries();
        let text = backends(&entries);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), entries.len() + 1, "header plus one row each");
        for (entry, line) in entries.iter().zip(&lines[1..]) {
            let cells: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cells[0], entry.name);
            assert_eq!(cells[1], entry.info.structure);
            assert_eq!(cells[2], entry.info.scheme);
            assert_eq!(cells[3], entry.info.ordering.as_str());
            assert_eq!(cells[4], entry.info.consumers.to_string());
        }
        assert!(text.contains("msqueue-hp"));
    }

    #[test]
    fn counter_names_are_one_a_line_in_the_canonical_order() {
        let names: Vec<String> = counter_names().lines().map(str::to_owned).collect();
        assert_eq!(names, Counter::ALL.map(|c| c.name().to_owned()));
    }

    #[test]
    fn the_full_listing_names_every_workload_and_counter() {
        let mut out = Vec::new();
        let sets = reclaim_registry::set_entries();
        write_list(&mut out, &reclaim_registry::entries(), &sets).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!sets.is_empty());
        for set in &sets {
            assert!(text.contains(set.name), "{} missing", set.name);
        }
        assert!(text.contains("Not registered: harris-hp"), "{text}");
        for workload in Workload::ALL {
            assert!(text.contains(workload.name()), "{workload} missing");
        }
        for counter in Counter::ALL {
            assert!(text.contains(counter.name()), "{counter} missing");
        }
    }
}
