use std::time::Duration;

use reclaim_results::{Spread, Verdict};

use super::*;
use crate::plan::{Selection, plan};

fn settings() -> Settings {
    Settings {
        duration: Duration::from_millis(10),
        sample_interval: Duration::from_millis(5),
        ..Settings::quick()
    }
}

fn plan_of(backends: &[&str], workloads: &[&str], threads: &[usize]) -> Plan {
    let selection = Selection {
        backends: backends.iter().map(|s| s.to_string()).collect(),
        workloads: workloads.iter().map(|s| s.to_string()).collect(),
        threads: Some(threads.to_vec()),
        ..Selection::default()
    };
    plan(&selection, &reclaim_registry::entries(), &settings(), 2).unwrap()
}

/// `measure_group` over treiber-leak and treiber-ebr, pairs at 1 thread, shuffled with
/// seed 1: the rows.
fn measure_leak_and_ebr(
    settings: &Settings,
    budget: Option<Duration>,
    isolate: Option<Isolate<'_>>,
    repeat_done: impl FnMut(&Planned, u32),
) -> Vec<Row> {
    let plan = plan_of(&["treiber-leak", "treiber-ebr"], &["pairs"], &[1]);
    let group = &groups(&plan)[0];
    measure_group(
        group,
        settings,
        &mut Shuffle::new(1),
        budget,
        isolate,
        repeat_done,
    )
}

#[test]
fn groups_are_one_workload_at_one_thread_count() {
    let plan = plan_of(
        &["treiber-leak", "treiber-ebr"],
        &["pairs", "prodcons"],
        &[1, 2],
    );
    let groups = groups(&plan);
    let keys: Vec<(&str, usize, usize)> = groups
        .iter()
        .map(|g| (g.workload.name(), g.threads, g.runs.len()))
        .collect();
    // prodcons needs 2 threads: no 1-thread group for it.
    assert_eq!(keys, [("pairs", 1, 2), ("pairs", 2, 2), ("prodcons", 2, 2)]);
    assert_eq!(
        groups.iter().map(|g| g.runs.len()).sum::<usize>(),
        plan.runs.len()
    );
}

#[test]
fn a_seed_reproduces_every_order_and_the_orders_vary() {
    let orders = |seed| {
        let mut shuffle = Shuffle::new(seed);
        (0..200).map(|_| shuffle.order(3)).collect::<Vec<_>>()
    };
    assert_eq!(orders(7), orders(7));
    assert_ne!(orders(7), orders(8));
    let drawn = orders(7);
    let mut seen: Vec<Vec<usize>> = drawn.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6, "every order of 3 rows comes up");
    for order in &drawn {
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2], "a permutation");
    }
    assert!(Shuffle::new(1).order(0).is_empty());
}

#[test]
fn each_row_is_compared_with_its_structures_ebr_or_the_named_one() {
    let containers = plan_of(
        &[
            "treiber-leak",
            "treiber-ebr",
            "msqueue-hp",
            "msqueue-ebr",
            "mutex-vec",
        ],
        &["pairs"],
        &[1],
    );
    let sets = plan_of(
        &[
            "hmlist-leak",
            "hmlist-ebr",
            "hashmap-hp",
            "hashmap-ebr",
            "dashset",
        ],
        &["read-mostly"],
        &[1],
    );
    for (plan, named) in [(containers, "msqueue-hp"), (sets, "hashmap-hp")] {
        let runs = &groups(&plan)[0].runs;
        assert_eq!(runs.len(), 5);
        let name = |i: usize| runs[i].target.name();
        let reference = |i, named| name(reference_of(runs, i, named));
        for i in 0..runs.len() {
            let expected = match runs[i].target.structure() {
                s @ ("treiber" | "msqueue" | "hmlist" | "hashmap") => format!("{s}-ebr"),
                // A baseline has no ebr backend of its own: the group's first row.
                _ => runs[0].target.name(),
            };
            assert_eq!(reference(i, None), expected, "{}", name(i));
            assert_eq!(reference(i, Some(named)), named);
            // A name the group lacks falls back to the default.
            assert_eq!(reference(i, Some("segqueue")), expected);
            // A scheme: the row's structure's backend of it, where there is one.
            let by_scheme = match runs[i].target.structure() {
                s @ ("treiber" | "hmlist") => format!("{s}-leak"),
                _ => expected.clone(),
            };
            assert_eq!(reference(i, Some("leak")), by_scheme, "{}", name(i));
        }
    }
}

/// With several allocators the rows share one group (and its rounds), and each row's
/// reference is on the row's own allocator: `treiber-hp` on jemalloc against
/// `treiber-ebr` on jemalloc, never on the system allocator.
#[test]
fn rows_on_several_allocators_share_a_group_and_keep_references_on_their_own() {
    use reclaim_alloc::Allocator;
    let selection = Selection {
        backends: vec!["treiber-ebr".into(), "treiber-hp".into()],
        workloads: vec!["pairs".into()],
        threads: Some(vec![1]),
        allocators: Some(vec![Allocator::System, Allocator::Jemalloc]),
        ..Selection::default()
    };
    let plan = plan(&selection, &reclaim_registry::entries(), &settings(), 2).unwrap();
    let groups = groups(&plan);
    assert_eq!(groups.len(), 1);
    let runs = &groups[0].runs;
    assert_eq!(runs.len(), 4);
    for i in 0..runs.len() {
        let reference = &runs[reference_of(runs, i, None)];
        assert_eq!(reference.target.name(), "treiber-ebr");
        assert_eq!(reference.allocator, runs[i].allocator, "{}", runs[i]);
        let named = &runs[reference_of(runs, i, Some("treiber-hp"))];
        assert_eq!(named.target.name(), "treiber-hp");
        assert_eq!(named.allocator, runs[i].allocator, "{}", runs[i]);
    }
}

#[test]
fn rows_measured_in_rounds_carry_paired_ratios() {
    let settings = settings();
    let mut calls = Vec::new();
    let rows = measure_leak_and_ebr(&settings, None, None, |planned, round| {
        calls.push((planned.target.name(), round))
    });
    let rounds = settings.repeats as usize;
    assert_eq!(calls.len(), 2 * rounds, "one repeat per row per round");
    for round in 1..=rounds as u32 {
        assert_eq!(calls.iter().filter(|(_, r)| *r == round).count(), 2);
    }
    for row in &rows {
        assert!(row.valid, "{row:?}");
        assert_eq!(row.repeat_ops_per_sec.len(), rounds);
        assert_eq!(row.rounds_ended.as_deref(), Some("fixed"));
        assert!(row.ops_per_sec.unwrap().ci95.is_some());
        let ratio = row.ratio.as_ref().unwrap();
        assert_eq!(ratio.reference, "treiber-ebr");
        assert_eq!(ratio.rounds as usize, rounds);
    }
    let reference = rows.iter().find(|r| r.backend == "treiber-ebr").unwrap();
    let ratio = reference.ratio.as_ref().unwrap();
    assert_eq!((ratio.median, ratio.ci95), (1.0, Some([1.0, 1.0])));
    assert_eq!(ratio.verdict(&reference.backend), Verdict::Reference);
    // The leak row's ratio is the median of its round-by-round ratios, on the figures
    // with stolen time taken out where both rows have them.
    let leak = rows.iter().find(|r| r.backend == "treiber-leak").unwrap();
    let series = |r: &Row| match leak.ratio.as_ref().unwrap().unstolen {
        true => r.repeat_ops_per_sec_unstolen.clone(),
        false => r.repeat_ops_per_sec.clone(),
    };
    let paired: Vec<f64> = series(leak)
        .iter()
        .zip(&series(reference))
        .map(|(a, b)| a / b)
        .collect();
    assert_eq!(
        leak.ratio.as_ref().unwrap().median,
        reclaim_results::stats::median(&paired).unwrap()
    );
}

#[test]
fn with_a_target_rounds_go_on_until_the_time_cap_and_rows_say_so() {
    // A target no real run meets, and a cap of one round's worth: the cap ends it.
    let settings = Settings {
        ci_target: Some(1e-9),
        max_time: Some(Duration::from_secs(1)),
        ..settings()
    };
    let rows = measure_leak_and_ebr(&settings, Some(Duration::from_millis(1)), None, |_, _| {});
    for row in &rows {
        assert_eq!(row.rounds_ended.as_deref(), Some("time cap"));
        // The fewest rounds run whatever the cap.
        assert_eq!(row.repeat_ops_per_sec.len(), settings.repeats as usize);
    }
}

#[test]
fn the_target_asks_for_narrow_intervals_on_medians_and_ratios() {
    let mut row = Row::empty();
    row.backend = "b".into();
    row.valid = true;
    row.ops_per_sec = Spread::of(&[99.0, 100.0, 100.0, 100.0, 100.0, 101.0]);
    row.ratio = Ratio::paired("a", &[1.0; 6], &[1.0, 1.0, 1.0, 1.0, 1.0, 1.05]);
    assert!(within_target(&row, 5.0));
    assert!(!within_target(&row, 2.0), "the ratio's interval is ±5%");
    row.ratio = None;
    assert!(within_target(&row, 2.0));
    row.ops_per_sec = Spread::of(&[99.0, 100.0, 101.0]);
    assert!(!within_target(&row, 50.0), "no interval yet from 3 repeats");
    row.valid = false;
    assert!(
        within_target(&row, 0.1),
        "nothing to narrow in an invalid row"
    );
}

#[test]
fn the_time_cap_is_shared_out_among_groups_only_with_a_target() {
    let capped = Settings {
        ci_target: Some(2.0),
        max_time: Some(Duration::from_secs(60)),
        ..settings()
    };
    assert_eq!(budget_per_group(&capped, 4), Some(Duration::from_secs(15)));
    let no_target = Settings {
        ci_target: None,
        ..capped.clone()
    };
    assert_eq!(budget_per_group(&no_target, 4), None);
}

#[test]
fn rows_are_flagged_noisy_with_every_reason() {
    let mut row = Row::empty();
    row.backend = "b".into();
    row.valid = true;
    row.threads = 2;
    row.ops_per_sec = Spread::of(&[99.0, 100.0, 100.0, 100.0, 100.0, 101.0]);
    assert_eq!(
        noisy(&row, 2),
        None,
        "a narrow interval and no noise readings"
    );
    row.ops_per_sec = Spread::of(&[80.0, 100.0, 100.0, 100.0, 100.0, 130.0]);
    row.ratio = Ratio::paired("a", &[1.0; 6], &[1.0, 1.0, 1.0, 1.0, 1.0, 0.8]);
    row.noise = Some(reclaim_results::Noise {
        steal_pct_max: Some(12.0),
        runqueue_delay_pct: Some(30.0),
        ..Default::default()
    });
    let why = noisy(&row, 2).unwrap();
    assert!(why.contains("median's 95% interval is ±30%"), "{why}");
    assert!(why.contains("ratio's 95% interval is ±25%"), "{why}");
    assert!(why.contains("stole 12%"), "{why}");
    assert!(why.contains("waited for a CPU 30%"), "{why}");
    // More workers than cores wait by design: not noise.
    let why = noisy(&row, 1).unwrap();
    assert!(!why.contains("waited"), "{why}");
    row.ops_per_sec = Spread::of(&[1.0, 2.0, 3.0]);
    assert!(noisy(&row, 2).unwrap().contains("no 95% interval"));
    row.valid = false;
    assert_eq!(
        noisy(&row, 2),
        None,
        "an invalid row is reported as invalid, not noisy"
    );
}

/// `--isolate`: a repeat whose process could not run, or printed no result, or could not
/// take the repeat, is a row error that says which of the three and why; the row is out
/// of the later rounds, and the other rows go on.
#[test]
fn an_isolated_repeat_that_could_not_take_place_says_why_in_its_row() {
    let settings = settings();
    let isolate = |planned: &Planned| -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        match planned.target.name().as_str() {
            "treiber-leak" => Err("cannot start ./gone: no such file".into()),
            _ => Ok(crate::repeat_json(planned, &settings)),
        }
    };
    let mut calls = Vec::new();
    let rows = measure_leak_and_ebr(&settings, None, Some(&isolate), |planned, _| {
        calls.push(planned.target.name())
    });
    let leak = rows.iter().find(|r| r.backend == "treiber-leak").unwrap();
    assert!(!leak.valid);
    assert_eq!(
        leak.error.as_deref(),
        Some("the repeat's process failed: cannot start ./gone: no such file")
    );
    assert_eq!(calls.iter().filter(|n| *n == "treiber-leak").count(), 1);
    let ebr = rows.iter().find(|r| r.backend == "treiber-ebr").unwrap();
    assert!(ebr.valid, "{ebr:?}");
    assert_eq!(ebr.repeat_ops_per_sec.len(), settings.repeats as usize);

    let (described, unreadable) = from_process(Ok("not json".into()), "as before");
    assert_eq!(described, "as before");
    let err = unreadable.unwrap_err();
    assert!(matches!(err, RepeatError::Unreadable(_)), "{err:?}");
    let printed = r#"["ebr, 2 epochs", {"Err": "could not build the container: disk full"}]"#;
    let (described, refused) = from_process(Ok(printed.into()), "as before");
    assert_eq!(described, "ebr, 2 epochs");
    assert_eq!(
        refused.unwrap_err().to_string(),
        "could not build the container: disk full"
    );
}

/// The ratio is taken on the figures with stolen time taken out when the row and its
/// reference both have them for every round, on the measured ones otherwise.
#[test]
fn ratios_leave_out_stolen_time_where_both_rows_know_it() {
    let row = |name: &str, measured: [f64; 6], unstolen: Vec<f64>| {
        let mut row = Row::empty();
        row.backend = name.to_string();
        row.repeat_ops_per_sec = measured.to_vec();
        row.repeat_ops_per_sec_unstolen = unstolen;
        row
    };
    let reference = row("ref", [10.0; 6], vec![10.0; 6]);
    // Measured at half the reference, but half of every round was stolen from it.
    let stolen_from = row("a", [5.0; 6], vec![10.0; 6]);
    let ratio = paired(&stolen_from, &reference).unwrap();
    assert!(ratio.unstolen);
    assert_eq!(ratio.median, 1.0);
    // One round unknown: the measured figures, for every round.
    let partly = row("b", [5.0; 6], vec![10.0; 5]);
    let ratio = paired(&partly, &reference).unwrap();
    assert!(!ratio.unstolen);
    assert_eq!(ratio.median, 0.5);
    let unknown_reference = row("ref", [10.0; 6], Vec::new());
    assert!(!paired(&stolen_from, &unknown_reference).unwrap().unstolen);
}
