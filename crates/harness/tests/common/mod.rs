//! One row from end to end, through the public API as `run` uses it: planned from a
//! selection of one backend, one workload and one thread, and measured briefly.

use reclaim_harness::{Selection, Settings, plan};

/// The row of `backend` under `workload` on one thread: 20,000 operations, one repeat,
/// unpinned, over `keys` keys for a set (the default range if `None`).
pub fn row_of(backend: &str, workload: &str, keys: Option<u64>) -> reclaim_results::Row {
    let mut settings = Settings::quick();
    settings.iterations = Some(20_000);
    settings.repeats = 1;
    settings.pin = false;
    settings.keys = keys;
    let selection = Selection {
        backends: vec![backend.into()],
        workloads: vec![workload.into()],
        threads: Some(vec![1]),
        ..Selection::default()
    };
    let plan = plan(&selection, &reclaim_registry::entries(), &settings, 2).unwrap();
    assert_eq!(plan.runs.len(), 1);
    reclaim_harness::run(&plan.runs[0], &settings)
}
