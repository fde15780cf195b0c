//! A scheme setting in the configuration reaches the scheme under every structure: the
//! structure lists its scheme's knobs, builds its domain with the setting, and refuses a
//! setting its scheme has no knob for, or a value out of range, naming the key.
#![cfg(not(loom))]

use std::time::Duration;

use reclaim_core::{
    Backend, BuildError, ConcurrentSet, Config, Container, Handle, SchemeSetting, SetBackend,
};
use reclaim_smr::{CountedScheme, Ebr, Hp, Leak, Rc, Scheme, Seize, Sweep};
use reclaim_structures::counted::{
    CountedHarrisMichael, CountedMichaelHashMap, CountedMichaelScott, CountedOps, CountedTreiber,
    CountedTreiberStack,
};
use reclaim_structures::{
    Harris, HarrisMichael, LockFreeSkipList, MichaelHashMap, MichaelScott, Treiber, TreiberStack,
};

/// A configuration with `key=value`, and a small key range: the hash sets' default table
/// (32,768 buckets) takes minutes to build under Miri.
fn with(key: &str, value: u64) -> Config {
    let mut config = Config::default().with_keys(64);
    config.scheme_setting = Some(SchemeSetting {
        key: key.into(),
        value,
    });
    config
}

/// Why a container refused `config`, as a user reads it.
fn refusal<C: Container<u64>>(config: &Config) -> String {
    match C::new(config) {
        Ok(_) => panic!("built with {:?}", config.scheme_setting),
        Err(error @ BuildError::InvalidConfig { .. }) => error.to_string(),
        Err(other) => panic!("refused for another reason: {other}"),
    }
}

/// Why a set refused `config`.
fn set_refusal<S: ConcurrentSet>(config: &Config) -> String {
    match S::new(config) {
        Ok(_) => panic!("built with {:?}", config.scheme_setting),
        Err(error @ BuildError::InvalidConfig { .. }) => error.to_string(),
        Err(other) => panic!("refused for another reason: {other}"),
    }
}

#[test]
fn structures_list_their_schemes_knobs() {
    assert_eq!(Treiber::<Seize>::INFO.knobs, Seize::KNOBS);
    assert_eq!(MichaelScott::<Seize>::INFO.knobs, Seize::KNOBS);
    assert_eq!(HarrisMichael::<Seize>::INFO.knobs, Seize::KNOBS);
    assert_eq!(MichaelHashMap::<Seize>::INFO.knobs, Seize::KNOBS);
    assert_eq!(LockFreeSkipList::<Seize>::INFO.knobs, Seize::KNOBS);
    assert_eq!(CountedTreiber::<Sweep>::INFO.knobs, Sweep::KNOBS);
    assert_eq!(CountedMichaelScott::<Sweep>::INFO.knobs, Sweep::KNOBS);
    assert_eq!(CountedHarrisMichael::<Sweep>::INFO.knobs, Sweep::KNOBS);
    assert_eq!(CountedMichaelHashMap::<Sweep>::INFO.knobs, Sweep::KNOBS);
    assert!(!Seize::KNOBS.is_empty() && !Sweep::KNOBS.is_empty());
    assert!(Treiber::<Ebr>::INFO.knobs.is_empty());
    assert!(Harris::<Ebr>::INFO.knobs.is_empty());
    assert!(CountedTreiber::<Rc>::INFO.knobs.is_empty());
}

/// `batch-size=4` under a Treiber stack: one thread's pops free four nodes at a time, at
/// the pop that fills the batch (the popping thread is the only one inside).
#[test]
fn a_seize_stack_frees_in_batches_of_the_size_set() {
    let stack = TreiberStack::<u64, Seize>::new(&with("batch-size", 4)).unwrap();
    let freed = || stack.reclamation().unwrap().freed;
    let mut handle = stack.handle();
    for i in 0..10 {
        handle.push(i).unwrap();
    }
    let mut pop = |n| (0..n).for_each(|_| assert!(handle.pop().is_some()));
    pop(3);
    assert_eq!(freed(), 0);
    pop(1);
    assert_eq!(freed(), 4);
    pop(3);
    assert_eq!(freed(), 4);
    pop(1);
    assert_eq!(freed(), 8);
}

#[test]
fn a_sweep_stack_runs_its_collector_at_the_interval_set() {
    let stack = CountedTreiberStack::<u64, Sweep>::new(&with("interval-us", 250)).unwrap();
    assert_eq!(
        CountedOps::<u64>::domain(&stack).interval(),
        Duration::from_micros(250)
    );
    let mut handle = stack.handle();
    handle.push(1).unwrap();
    assert_eq!(handle.pop(), Some(1));
}

/// Every set over seize or sweep builds with a setting of its scheme's knob.
#[test]
fn sets_build_with_their_schemes_knob() {
    let batch = with("batch-size", 8);
    let interval = with("interval-us", 500);
    <HarrisMichael<Seize> as SetBackend>::Set::new(&batch).unwrap();
    <MichaelHashMap<Seize> as SetBackend>::Set::new(&batch).unwrap();
    <LockFreeSkipList<Seize> as SetBackend>::Set::new(&batch).unwrap();
    <CountedHarrisMichael<Sweep> as SetBackend>::Set::new(&interval).unwrap();
    <CountedMichaelHashMap<Sweep> as SetBackend>::Set::new(&interval).unwrap();
}

#[test]
fn an_unknown_key_or_a_value_out_of_range_is_refused_naming_the_key() {
    assert_eq!(
        refusal::<TreiberStack<u64, Seize>>(&with("batch-size", 0)),
        "invalid configuration for treiber: batch-size=0 is out of range: 1 to 65536"
    );
    assert_eq!(
        refusal::<TreiberStack<u64, Seize>>(&with("interval-us", 100)),
        "invalid configuration for treiber: \
         the seize scheme has no knob interval-us (its knobs: batch-size)"
    );
    assert_eq!(
        refusal::<CountedTreiberStack<u64, Sweep>>(&with("interval-us", 5)),
        "invalid configuration for treiber: interval-us=5 is out of range: 10 to 1000000"
    );
    assert_eq!(
        set_refusal::<<LockFreeSkipList<Seize> as SetBackend>::Set>(&with("batch-size", 1 << 20)),
        "invalid configuration for skiplist: batch-size=1048576 is out of range: 1 to 65536"
    );
    assert_eq!(
        set_refusal::<<CountedMichaelHashMap<Sweep> as SetBackend>::Set>(&with("batch-size", 4)),
        "invalid configuration for hashmap: \
         the sweep scheme has no knob batch-size (its knobs: interval-us)"
    );
}

#[test]
fn a_scheme_without_knobs_refuses_any_setting() {
    let setting = with("batch-size", 4);
    let none = |structure: &str, scheme: &str| {
        format!(
            "invalid configuration for {structure}: \
             the {scheme} scheme has no knob batch-size (it has none)"
        )
    };
    assert_eq!(
        refusal::<TreiberStack<u64, Ebr>>(&setting),
        none("treiber", "ebr")
    );
    assert_eq!(
        refusal::<<MichaelScott<Hp> as Backend>::Container<u64>>(&setting),
        none("msqueue", "hp")
    );
    assert_eq!(
        refusal::<<MichaelScott<Leak> as Backend>::Container<u64>>(&setting),
        none("msqueue", "leak")
    );
    assert_eq!(
        refusal::<CountedTreiberStack<u64, Rc>>(&setting),
        none("treiber", "rc")
    );
    assert_eq!(
        set_refusal::<<HarrisMichael<Ebr> as SetBackend>::Set>(&setting),
        none("hmlist", "ebr")
    );
    assert_eq!(
        set_refusal::<<Harris<Ebr> as SetBackend>::Set>(&setting),
        none("harris", "ebr")
    );
    assert_eq!(
        set_refusal::<<MichaelHashMap<Hp> as SetBackend>::Set>(&setting),
        none("hashmap", "hp")
    );
    assert_eq!(
        set_refusal::<<CountedHarrisMichael<Rc> as SetBackend>::Set>(&setting),
        none("hmlist", "rc")
    );
    // The defaults still build.
    TreiberStack::<u64, Ebr>::new(&Config::default()).unwrap();
    let _ = Rc::new_domain();
}

/// The circ family has no knobs. (In a module of its own, so that Miri runs, which leave
/// out `circ::`, leave it out too: nothing is built here, but circ is not Miri's to run.)
mod circ {
    use super::*;
    use reclaim_structures::circ::{
        CircHarrisMichael, CircMichaelHashMap, CircMsQueue, CircTreiberStack,
    };

    #[test]
    fn refuses_any_setting() {
        let setting = with("interval-us", 100);
        let none = |structure: &str| {
            format!(
                "invalid configuration for {structure}: \
                 the circ scheme has no knob interval-us (it has none)"
            )
        };
        assert_eq!(refusal::<CircTreiberStack<u64>>(&setting), none("treiber"));
        assert_eq!(refusal::<CircMsQueue<u64>>(&setting), none("msqueue"));
        assert_eq!(
            set_refusal::<<CircHarrisMichael as SetBackend>::Set>(&setting),
            none("hmlist")
        );
        assert_eq!(
            set_refusal::<<CircMichaelHashMap as SetBackend>::Set>(&setting),
            none("hashmap")
        );
    }
}
