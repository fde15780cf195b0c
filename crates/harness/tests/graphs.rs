//! Graph rows from end to end, through the public API as `run` uses it: planned from a
//! selection, measured over a fixed number of operations, and built into result rows with
//! the collections' pauses, the garbage and the leak.

use reclaim_harness::{Plan, Selection, Settings, ShapeError, plan};
use reclaim_results::Row;

const NODES: usize = 1_000;
const OPS: u64 = 2_000;

fn settings() -> Settings {
    let mut settings = Settings::quick();
    settings.iterations = Some(OPS);
    settings.repeats = 1;
    settings.pin = false;
    settings.graph_nodes = NODES;
    settings.collect_every = 100;
    settings
}

/// The plan of `backends` on `workloads` at `threads`, on two cores.
fn plan_of(backends: &[&str], workloads: &[&str], threads: usize) -> Plan {
    let selection = Selection {
        backends: backends.iter().map(|&b| b.into()).collect(),
        workloads: workloads.iter().map(|&w| w.into()).collect(),
        threads: Some(vec![threads]),
        ..Selection::default()
    };
    plan(&selection, &reclaim_registry::entries(), &settings(), 2).unwrap()
}

/// The rows of `strategies` (globs) on `workload` at `threads`, measured.
fn rows(strategies: &str, workload: &str, threads: usize) -> Vec<Row> {
    let settings = settings();
    plan_of(&[strategies], &[workload], threads)
        .runs
        .iter()
        .map(|planned| reclaim_harness::run(planned, &settings))
        .collect()
}

/// The plan's runs as (row name, workload).
fn names_and_workloads(plan: &Plan) -> Vec<(String, &'static str)> {
    plan.runs
        .iter()
        .map(|p| (p.target.name(), p.workload.name()))
        .collect()
}

fn extra(row: &Row, key: &str) -> f64 {
    *row.extra
        .get(key)
        .unwrap_or_else(|| panic!("{} has no `{key}`: {:?}", row.backend, row.extra))
}

#[test]
fn every_strategy_runs_valid_rows_that_count_what_they_leave_unfreed() {
    let rows = rows("graph-*", "graph", 1);
    let names: Vec<&str> = rows.iter().map(|r| r.backend.as_str()).collect();
    assert_eq!(
        names,
        [
            "graph-rc-weak",
            "graph-rc-leak",
            "graph-arc-weak",
            "graph-bacon-rajan-cc",
            "graph-gc",
            "graph-dumpster-unsync",
            "graph-dumpster-sync",
            "graph-gc-arena"
        ]
    );
    for row in &rows {
        assert!(row.valid, "{}: {:?}", row.backend, row.error);
        assert_eq!(row.structure, "graph");
        assert_eq!(row.roles, "1 thread on its own graph");
        assert_eq!(row.per_thread_ops, [OPS]);
        assert_eq!(extra(row, "reachable_end"), NODES as f64);
        assert!(
            row.pauses_ns.is_some(),
            "{} has no pause record",
            row.backend
        );
        // Every operation replaces at least one node: that many were made and unlinked.
        assert!(extra(row, "nodes_created") >= OPS as f64, "{}", row.backend);
        let leaked = extra(row, "leaked");
        let never_freed = extra(row, "never_freed");
        if row.backend == "graph-rc-leak" {
            assert!(leaked > 0.0, "rc-leak leaked nothing");
            // Its trees are cycles through their back-edges: the live graph leaks too.
            assert!(
                never_freed > leaked,
                "{never_freed} never freed, {leaked} leaked"
            );
            assert!(extra(row, "garbage_growth_per_sec") > 0.0);
        } else {
            assert_eq!(leaked, 0.0, "{} leaked", row.backend);
            assert_eq!(never_freed, 0.0, "{} never freed some", row.backend);
        }
    }
    let by_name = |name: &str| rows.iter().find(|r| r.backend == name).unwrap();
    // Counting frees inline: nothing waits, nothing is collected.
    let rc = by_name("graph-rc-weak");
    assert_eq!(extra(rc, "garbage_end"), 0.0);
    assert_eq!(rc.pauses_ns.unwrap().samples, 0);
    // The collectors the driver steps on their own policy have pauses to show.
    for name in ["graph-bacon-rajan-cc", "graph-gc-arena"] {
        let pauses = by_name(name).pauses_ns.unwrap();
        assert!(pauses.samples > 0, "{name} never collected");
        assert_eq!(extra(by_name(name), "collections"), pauses.samples as f64);
        assert!(pauses.p50 <= pauses.max);
    }
    // The libraries that collect inside operations say how often.
    assert!(by_name("graph-gc").extra.contains_key("hidden_collections"));
    assert!(!rc.extra.contains_key("hidden_collections"));
}

#[test]
fn the_forced_variant_collects_every_n_operations_where_there_is_something_to_collect() {
    let rows = rows("graph-*", "graph-forced", 1);
    let names: Vec<&str> = rows.iter().map(|r| r.backend.as_str()).collect();
    assert_eq!(
        names,
        [
            "graph-bacon-rajan-cc",
            "graph-gc",
            "graph-dumpster-unsync",
            "graph-dumpster-sync",
            "graph-gc-arena"
        ]
    );
    for row in &rows {
        assert!(row.valid, "{}: {:?}", row.backend, row.error);
        assert_eq!(extra(row, "collect_every"), 100.0);
        let forced = OPS / 100;
        let pauses = row.pauses_ns.unwrap().samples;
        // gc and dumpster collect on their own only inside operations: the driver's are
        // exactly the forced ones. The others add their policy's steps.
        if row.backend == "graph-gc" || row.backend.starts_with("graph-dumpster") {
            assert_eq!(pauses, forced, "{}", row.backend);
        } else {
            assert!(pauses >= forced, "{}: {pauses} collections", row.backend);
        }
        assert_eq!(extra(row, "leaked"), 0.0, "{}", row.backend);
    }
}

#[test]
fn shared_strategies_run_on_several_threads_and_thread_local_ones_say_why_not() {
    let plan = plan_of(&["graph-*"], &["graph", "graph-forced"], 2);
    let planned = names_and_workloads(&plan);
    assert_eq!(
        planned,
        [
            ("graph-arc-weak".to_string(), "graph"),
            ("graph-dumpster-sync".to_string(), "graph"),
            ("graph-dumpster-sync".to_string(), "graph-forced"),
        ]
    );
    let skipped = |name: &str, workload: &str| {
        plan.skipped
            .iter()
            .find(|s| s.backend == name && s.workload.name() == workload)
            .map(|s| s.reason.clone())
    };
    assert_eq!(
        skipped("graph-gc", "graph"),
        Some(ShapeError::ThreadLocalGraph)
    );
    assert_eq!(
        skipped("graph-arc-weak", "graph-forced"),
        Some(ShapeError::NothingToCollect)
    );

    let arc = &rows("graph-arc-weak", "graph", 2)[0];
    assert!(arc.valid, "{:?}", arc.error);
    assert_eq!(arc.roles, "2 threads sharing one graph");
    assert_eq!(arc.per_thread_ops, [OPS, OPS]);
    assert_eq!(extra(arc, "leaked"), 0.0);
}

#[test]
fn graph_workloads_drive_graph_strategies_only() {
    let plan = plan_of(&["treiber-ebr", "graph-rc-weak"], &["graph", "pairs"], 1);
    let planned = names_and_workloads(&plan);
    assert_eq!(
        planned,
        [
            ("treiber-ebr".to_string(), "pairs"),
            ("graph-rc-weak".to_string(), "graph"),
        ]
    );
}
