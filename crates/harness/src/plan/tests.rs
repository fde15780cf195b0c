use super::plan as plan_for;
use super::*;

fn entries() -> Vec<Entry> {
    reclaim_registry::entries()
}

fn quick() -> Settings {
    Settings::quick()
}

fn select(f: impl FnOnce(&mut Selection)) -> Selection {
    let mut s = Selection::default();
    f(&mut s);
    s
}

#[test]
fn the_default_plan_covers_every_backend_and_workload() {
    let plan = plan_for(&Selection::default(), &entries(), &quick(), 2).unwrap();
    for entry in entries() {
        assert!(
            plan.runs.iter().any(|r| r.target == Target::Backend(entry)),
            "{} never runs",
            entry.name
        );
    }
    let sets = reclaim_registry::set_entries();
    for name in QUICK_SETS {
        // Left out on some targets, with a reason (the circ family on 32-bit ones).
        let left_out = reclaim_registry::NOT_REGISTERED
            .iter()
            .any(|(n, _)| n == name);
        assert!(
            left_out || sets.iter().any(|s| s.name == *name),
            "{name} is not registered"
        );
    }
    // Every set runs when the suite is not the quick one (here: one thread count named).
    let custom = Selection {
        threads: Some(vec![1]),
        ..Selection::default()
    };
    let mut settings = quick();
    settings.suite = crate::settings::Suite::Custom;
    let every = plan_for(&custom, &entries(), &settings, 2).unwrap();
    for set in &sets {
        let runs: Vec<&Planned> = plan
            .runs
            .iter()
            .filter(|r| r.target == Target::Set(*set))
            .collect();
        // The quick suite runs its representative subset.
        assert_eq!(
            !runs.is_empty(),
            QUICK_SETS.contains(&set.name),
            "{}",
            set.name
        );
        assert!(
            every.runs.iter().any(|r| r.target == Target::Set(*set)),
            "{} never runs",
            set.name
        );
        // Unnamed, sets run their default workload only, at their structure's key range.
        assert!(
            runs.iter().all(|r| r.workload == DEFAULT_SET_WORKLOAD),
            "{}",
            set.name
        );
        let keys = crate::workload::sets::default_keys(&set.info);
        assert!(runs.iter().all(|r| r.set.map(|s| s.keys) == Some(keys)));
    }
    for workload in Workload::ALL {
        let runs = plan.runs.iter().any(|r| r.workload == workload);
        // The other mixes, and the forced graph variant, run when named (below).
        let default = (!workload.sets_only() && workload != Workload::GraphForced)
            || workload == DEFAULT_SET_WORKLOAD;
        assert_eq!(runs, default, "{workload}");
    }
    for strategy in Strategy::ALL {
        assert!(
            plan.runs
                .iter()
                .any(|r| r.target == Target::Handoff(strategy))
        );
    }
    // Two consumers on a one-consumer channel is skipped with its reason, not run.
    assert!(plan.skipped.iter().any(|s| s.backend == "hopper"
        && s.workload == Workload::Prodcons
        && s.threads == 4
        && matches!(s.reason, ShapeError::TooManyConsumers { .. })));
    assert!(!plan.runs.iter().any(|r| r.target.name() == "hopper"
        && r.workload == Workload::Prodcons
        && r.threads == 4));
}

#[test]
fn globs_structures_and_schemes_narrow_the_selection() {
    let s = select(|s| {
        s.backends = vec!["*-hp".into()];
        s.workloads = vec!["pairs".into()];
    });
    let plan = plan_for(&s, &entries(), &quick(), 2).unwrap();
    let names: Vec<String> = plan.runs.iter().map(|r| r.target.name()).collect();
    assert!(
        names.iter().all(|n| n == "treiber-hp" || n == "msqueue-hp"),
        "{names:?}"
    );
    assert_eq!(plan.runs.len(), 2 * 3, "two backends at 1, 2 and 4 threads");

    let s = select(|s| {
        s.structures = vec!["msqueue".into()];
        s.schemes = vec!["ebr".into(), "leak".into()];
        s.workloads = vec!["mpsc".into()];
        s.threads = Some(vec![3]);
    });
    let plan = plan_for(&s, &entries(), &quick(), 2).unwrap();
    let names: Vec<String> = plan.runs.iter().map(|r| r.target.name()).collect();
    assert_eq!(names, ["msqueue-leak", "msqueue-ebr"]);
}

#[test]
fn unknown_names_list_what_is_valid() {
    let cases = [
        (
            select(|s| s.backends = vec!["treiber-epoch".into()]),
            "no backend matches `treiber-epoch`; valid backends: treiber-leak",
        ),
        (
            select(|s| s.structures = vec!["stack".into()]),
            "unknown structure `stack`; valid structures: treiber, msqueue",
        ),
        (
            select(|s| s.schemes = vec!["arena".into()]),
            "unknown scheme `arena`; valid schemes: leak, ebr, hp",
        ),
        (
            select(|s| s.workloads = vec!["spsc".into()]),
            "unknown workload `spsc`",
        ),
        (
            select(|s| s.backends = vec!["[".into()]),
            "bad backend pattern `[`",
        ),
        (
            select(|s| s.threads = Some(vec![0])),
            "thread counts must be 1 to 1024",
        ),
        (
            select(|s| s.threads = Some(vec![2, 100_000])),
            "thread counts must be 1 to 1024",
        ),
    ];
    for (selection, message) in cases {
        let err = plan_for(&selection, &entries(), &quick(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{selection:?}: {err}");
    }
}

#[test]
fn an_impossible_combination_is_an_error_that_says_why() {
    let s = select(|s| {
        s.backends = vec!["hopper".into()];
        s.workloads = vec!["prodcons".into()];
        s.threads = Some(vec![4]);
    });
    let err = plan_for(&s, &entries(), &quick(), 2)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("nothing to run"), "{err}");
    assert!(err.contains("hopper × prodcons at 4 threads"), "{err}");
    assert!(err.contains("allows one consumer"), "{err}");

    let s = select(|s| {
        s.structures = vec!["handoff".into()];
        s.workloads = vec!["pairs".into()];
    });
    assert!(plan_for(&s, &entries(), &quick(), 2).is_err());
}

/// A reason that applies to many backends is given once, with their count, not once per
/// backend.
#[test]
fn a_reason_shared_by_many_backends_is_given_once_with_their_count() {
    let s = select(|s| {
        s.workloads = vec!["mpsc".into()];
        s.threads = Some(vec![1]);
    });
    let err = plan_for(&s, &entries(), &quick(), 2)
        .unwrap_err()
        .to_string();
    let reason = "needs at least 2 threads (a producer and the consumer)";
    assert_eq!(err.matches(reason).count(), 1, "{err}");
    assert_eq!(
        err,
        format!(
            "nothing to run: {} backends × mpsc at 1 thread: {reason}",
            entries().len()
        )
    );

    // Distinct reasons each get their line, in the order met.
    let s = select(|s| {
        s.backends = vec!["hopper".into(), "hopper-disk".into()];
        s.workloads = vec!["prodcons".into()];
        s.threads = Some(vec![1, 4]);
    });
    let err = plan_for(&s, &entries(), &quick(), 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("nothing to run: 2 backends × prodcons at 1 thread: needs at least 2 "),
        "{err}"
    );
    assert!(
        err.ends_with("; 2 backends × prodcons at 4 threads: 2 producers + 2 consumers means 2 threads popping at once, and this backend allows one consumer"),
        "{err}"
    );
}

#[test]
fn the_estimate_adds_up_the_repeats() {
    let s = select(|s| {
        s.backends = vec!["treiber-ebr".into()];
        s.workloads = vec!["pairs".into()];
        s.threads = Some(vec![1]);
    });
    let settings = quick();
    let plan = plan_for(&s, &entries(), &settings, 2).unwrap();
    let estimate = plan.estimate(&settings);
    assert!(
        estimate >= settings.duration * settings.repeats,
        "{estimate:?}"
    );
    assert!(
        estimate < settings.duration * settings.repeats * 2,
        "{estimate:?}"
    );
}

#[test]
fn sets_run_the_mixes_and_containers_do_not() {
    let s = select(|s| {
        s.backends = vec![
            "hmlist-ebr".into(),
            "hashmap-hp".into(),
            "treiber-ebr".into(),
        ];
        s.workloads = vec!["all".into()];
        s.threads = Some(vec![1, 3]);
    });
    let mut settings = quick();
    settings.keys = Some(500);
    let plan = plan_for(&s, &entries(), &settings, 2).unwrap();
    let of = |name: &str, w: Workload| {
        plan.runs
            .iter()
            .filter(|r| r.target.name() == name && r.workload == w)
            .count()
    };
    for w in [
        Workload::ReadOnly,
        Workload::ReadMostly,
        Workload::Balanced,
        Workload::WriteHeavy,
    ] {
        assert_eq!(of("hmlist-ebr", w), 2, "{w}");
        assert_eq!(of("treiber-ebr", w), 0, "{w}");
    }
    for w in [
        Workload::Pairs,
        Workload::Prodcons,
        Workload::Mpsc,
        Workload::Handoff,
    ] {
        assert_eq!(of("hashmap-hp", w), 0, "{w}");
    }
    assert_eq!(
        of("hashmap-hp", Workload::Stalled),
        1,
        "at 3 threads, not at 1"
    );
    assert_eq!(
        of("hashmap-hp", Workload::Oversubscription),
        1,
        "at 3 threads"
    );
    let stalled = plan
        .runs
        .iter()
        .find(|r| r.target.name() == "hmlist-ebr" && r.workload == Workload::Stalled)
        .unwrap();
    let shape = stalled.shape.unwrap();
    assert_eq!((shape.mixed, shape.stalled), (2, 1));
    let set = stalled.set.unwrap();
    assert_eq!((set.keys, set.mix), (500, crate::workload::Mix::BALANCED));
    // A mix given replaces every workload's own.
    settings.mix = Some("80/10/10".parse().unwrap());
    let plan = plan_for(&s, &entries(), &settings, 2).unwrap();
    assert!(
        plan.runs
            .iter()
            .filter_map(|r| r.set)
            .all(|s| s.mix.to_string() == "80/10/10")
    );
}

#[test]
fn a_combination_left_out_on_purpose_is_refused_with_its_reason() {
    let s = select(|s| s.backends = vec!["harris-hp".into()]);
    let err = plan_for(&s, &entries(), &quick(), 2)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`harris-hp` is not registered: "), "{err}");
}

/// Every run on each allocator asked for, each allocator once, in the order given; with
/// none asked for, every run is on this process's own.
#[test]
fn each_run_is_planned_on_every_allocator_asked_for() {
    use reclaim_alloc::Allocator::{Jemalloc, Mimalloc, System};
    let on = |allocators: Option<Vec<reclaim_alloc::Allocator>>| {
        let selection = select(|s| {
            s.backends = vec!["treiber-ebr".into()];
            s.workloads = vec!["pairs".into()];
            s.threads = Some(vec![1, 2]);
            s.allocators = allocators;
        });
        let plan = plan_for(&selection, &entries(), &quick(), 2).unwrap();
        plan.runs
            .iter()
            .map(|r| (r.threads, r.allocator))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        on(Some(vec![Jemalloc, System, Jemalloc])),
        [(1, Jemalloc), (1, System), (2, Jemalloc), (2, System)]
    );
    let own = reclaim_alloc::chosen();
    assert_eq!(on(None), [(1, own), (2, own)]);
    assert_eq!(on(Some(Vec::new())), [(1, own), (2, own)]);
    assert_eq!(on(Some(vec![Mimalloc])), [(1, Mimalloc), (2, Mimalloc)]);
}

#[test]
fn a_tuning_sweep_parses_and_bad_ones_say_what_is_expected() {
    let sweep: TuningSweep = "batch-size=8, 64,8".parse().unwrap();
    assert_eq!(sweep.key, "batch-size");
    assert_eq!(sweep.values, [8, 64, 8]);
    for bad in [
        "batch-size",
        "=8",
        "batch-size=",
        "batch-size=8,x",
        "batch-size=-1",
    ] {
        let error = bad.parse::<TuningSweep>().unwrap_err();
        assert!(error.contains(&format!("`{bad}`")), "{bad}: {error}");
    }
}

/// The backends whose scheme has the knob run once per value (each value once, in the
/// order given), the others once at their defaults; an unknown knob lists the ones the
/// selection has, and a value out of range names the range.
#[test]
fn a_knob_is_swept_on_the_backends_that_have_it_and_only_there() {
    let sweep = |backends: &[&str], text: &str| {
        let selection = select(|s| {
            s.backends = backends.iter().map(|b| b.to_string()).collect();
            s.workloads = vec!["pairs".into()];
            s.threads = Some(vec![1]);
            s.tuning = Some(text.parse().unwrap());
        });
        plan_for(&selection, &entries(), &quick(), 2)
    };
    let plan = sweep(&["treiber-ebr", "treiber-seize"], "batch-size=8,64,8").unwrap();
    let runs: Vec<String> = plan
        .runs
        .iter()
        .map(|r| match r.tuning {
            Some(t) => format!("{} {t}", r.target.name()),
            None => r.target.name(),
        })
        .collect();
    assert_eq!(
        runs,
        [
            "treiber-ebr",
            "treiber-seize batch-size=8",
            "treiber-seize batch-size=64"
        ]
    );
    let unknown = sweep(&["treiber-ebr", "treiber-sweep"], "batch-size=8")
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("no selected backend's scheme has a knob `batch-size`")
            && unknown.contains("interval-us (sweep)"),
        "{unknown}"
    );
    let none = sweep(&["treiber-ebr"], "batch-size=8")
        .unwrap_err()
        .to_string();
    assert!(
        none.contains("none of the selected backends' schemes has a knob"),
        "{none}"
    );
    let out_of_range = sweep(&["treiber-seize"], "batch-size=0")
        .unwrap_err()
        .to_string();
    assert!(
        out_of_range.contains("batch-size=0 is out of range"),
        "{out_of_range}"
    );
}

#[test]
fn the_quick_suite_runs_no_oversubscription_row_that_repeats_pairs() {
    let on = |cores: usize| plan_for(&Selection::default(), &entries(), &quick(), cores).unwrap();
    let over = |plan: &Plan| -> Vec<String> {
        plan.runs
            .iter()
            .filter(|r| r.workload == Workload::Oversubscription)
            .map(|r| r.target.name())
            .collect()
    };
    // Two cores: 4 pair threads are oversubscribed already; only the one-consumer
    // backends, which oversubscription runs as mpsc, keep a row of their own.
    let two = on(2);
    assert_eq!(over(&two), ["hopper", "hopper-disk"]);
    assert!(two.skipped.iter().any(|s| s.backend == "treiber-ebr"
        && s.workload == Workload::Oversubscription
        && s.reason == ShapeError::SameAsPairs { threads: 4 }));
    // Four cores: oversubscription runs at 8, which pairs does not: every backend keeps it.
    let four = on(4);
    assert_eq!(over(&four).len(), entries().len());
    // Named, both run whatever they repeat.
    let named = select(|s| {
        s.backends = vec!["treiber-ebr".into()];
        s.workloads = vec!["pairs".into(), "oversubscription".into()];
        s.threads = Some(vec![4]);
    });
    let plan = plan_for(&named, &entries(), &quick(), 2).unwrap();
    assert_eq!(plan.runs.len(), 2);
}
