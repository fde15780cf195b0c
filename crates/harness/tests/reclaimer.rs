//! The CPU time a scheme's own thread spends freeing, per object freed, from end to end:
//! a `sweep` row carries it, a row whose scheme frees on the workers' threads does not.

mod common;

fn row_of(backend: &str) -> reclaim_results::Row {
    common::row_of(backend, "pairs", None)
}

#[test]
fn a_sweep_row_carries_its_collectors_cpu_time_per_object_freed() {
    let sweep = row_of("treiber-sweep");
    assert!(sweep.valid, "{:?}", sweep.error);
    let per_freed = sweep.extra["reclaimer_cpu_ns_per_freed"];
    // Freeing a node is a few dozen nanoseconds of work, and the collector's thread does
    // nothing else; its clock has nanosecond resolution on Linux. Far from both bounds.
    assert!(
        per_freed > 0.0 && per_freed < 10_000_000.0,
        "{per_freed} ns of collector CPU per object freed"
    );
}

#[test]
fn schemes_that_free_on_the_workers_threads_carry_no_collector_time() {
    for backend in ["treiber-ebr", "treiber-rc"] {
        let row = row_of(backend);
        assert!(row.valid, "{backend}: {:?}", row.error);
        assert!(row.extra.contains_key("retired_per_op"), "{backend}");
        assert!(
            !row.extra.contains_key("reclaimer_cpu_ns_per_freed"),
            "{backend} has no thread of its own"
        );
    }
}
