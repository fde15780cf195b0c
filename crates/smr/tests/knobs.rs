//! The schemes' knobs: a domain built with a setting runs with it, and a setting the
//! scheme does not have, or a value out of range, is refused with the key in the message.
#![cfg(not(loom))]

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use reclaim_conformance::wait_for;
use reclaim_core::SchemeSetting;
use reclaim_smr::sweep::DEFAULT_INTERVAL;
use reclaim_smr::{CountedScheme, Ebr, Hp, Leak, Rc, Scheme, Seize, Sweep};

fn setting(key: &str, value: u64) -> SchemeSetting {
    SchemeSetting {
        key: key.into(),
        value,
    }
}

/// Every setting is refused by a scheme without knobs, naming the key.
fn refuses_everything<S: Scheme>() {
    assert!(S::KNOBS.is_empty());
    assert!(S::new_domain_with(None).is_ok());
    let Err(refused) = S::new_domain_with(Some(&setting("batch-size", 4))) else {
        panic!("{} took a setting it has no knob for", S::NAME);
    };
    assert_eq!(
        refused,
        format!(
            "the {} scheme has no knob batch-size (it has none)",
            S::NAME
        )
    );
}

#[test]
fn schemes_without_knobs_refuse_any_setting() {
    refuses_everything::<Leak>();
    refuses_everything::<Ebr>();
    refuses_everything::<Hp>();
    assert!(Rc::KNOBS.is_empty());
    assert!(Rc::new_domain_with(None).is_ok());
    assert_eq!(
        Rc::new_domain_with(Some(&setting("interval-us", 100))).unwrap_err(),
        "the rc scheme has no knob interval-us (it has none)"
    );
}

#[test]
fn the_schemes_with_knobs_list_them_with_their_defaults_in_range() {
    let seize: Vec<_> = Seize::KNOBS.iter().map(|knob| knob.key).collect();
    assert_eq!(seize, ["batch-size"]);
    let sweep: Vec<_> = Sweep::KNOBS.iter().map(|knob| knob.key).collect();
    assert_eq!(sweep, ["interval-us"]);
    for knob in Seize::KNOBS.iter().chain(Sweep::KNOBS) {
        assert_eq!(knob.check(knob.default), Ok(()), "{knob:?}");
    }
    assert_eq!(
        Duration::from_micros(Sweep::KNOBS[0].default),
        DEFAULT_INTERVAL
    );
}

#[test]
fn sweep_refuses_another_key_or_an_interval_out_of_range() {
    for value in [9, 1_000_001] {
        assert_eq!(
            Sweep::new_domain_with(Some(&setting("interval-us", value))).unwrap_err(),
            format!("interval-us={value} is out of range: 10 to 1000000")
        );
    }
    assert_eq!(
        Sweep::new_domain_with(Some(&setting("batch-size", 4))).unwrap_err(),
        "the sweep scheme has no knob batch-size (its knobs: interval-us)"
    );
}

#[test]
fn sweep_runs_its_collector_at_the_interval_set() {
    let default = Sweep::new_domain_with(None).unwrap();
    assert_eq!(default.interval(), DEFAULT_INTERVAL);
    let short = Sweep::new_domain_with(Some(&setting("interval-us", 10))).unwrap();
    assert_eq!(short.interval(), Duration::from_micros(10));
    let long = Sweep::new_domain_with(Some(&setting("interval-us", 1_000_000))).unwrap();
    assert_eq!(long.interval(), Duration::from_secs(1));
}

/// A node released just after a pass waits for the next one: with `interval-us` at 1 s
/// it is still there 50 ms later (at the default 1 ms, it would be long gone). The
/// object is released only once a pass has taken it in, so that pass is over or about to
/// park; the check fails spuriously only if this thread is held up for most of a second.
#[test]
#[cfg_attr(miri, ignore = "timing: Miri's clock runs with the interpreter")]
fn sweep_frees_no_sooner_than_the_interval_set() {
    let released_after_a_pass = |domain: &<Sweep as CountedScheme>::Domain| {
        let object = Arc::new(7_u64);
        Sweep::track(domain, &object);
        wait_for("the collector to take the object in", || {
            domain.collector_stats().tracked == 1
        });
        drop(object);
        Sweep::released(domain);
    };
    let long = Sweep::new_domain_with(Some(&setting("interval-us", 1_000_000))).unwrap();
    released_after_a_pass(&long);
    thread::sleep(Duration::from_millis(50));
    assert_eq!(long.collector_stats().freed, 0, "freed before the interval");

    let short = Sweep::new_domain_with(Some(&setting("interval-us", 10))).unwrap();
    released_after_a_pass(&short);
    wait_for("the free", || short.collector_stats().freed == 1);
}
