//! Baselines have no scheme knobs: each refuses a scheme setting, naming itself and the
//! key, and builds without one.

use reclaim_baselines::{
    ArrayQueueBackend, DashSetBackend, HopperBackend, MutexDequeBackend, MutexHashSet,
    MutexVecBackend, PapayaBackend, RwLockBTreeSet, SegQueueBackend, SkipSetBackend,
};
use reclaim_core::{Backend, ConcurrentSet, Config, Container, SchemeSetting, SetBackend};

fn with_setting() -> Config {
    let mut config = Config::default();
    config.scheme_setting = Some(SchemeSetting {
        key: "batch-size".into(),
        value: 4,
    });
    config
}

fn refusal_for(structure: &str, scheme: &str) -> String {
    format!(
        "invalid configuration for {structure}: \
         the {scheme} scheme has no knob batch-size (it has none)"
    )
}

fn refuses<B: Backend>() {
    let Err(refused) = B::Container::<u64>::new(&with_setting()) else {
        panic!("{} built with a scheme setting", B::INFO.structure);
    };
    let expected = refusal_for(B::INFO.structure, B::INFO.scheme);
    assert_eq!(refused.to_string(), expected);
    assert!(B::Container::<u64>::new(&Config::default()).is_ok());
}

fn set_refuses<B: SetBackend>() {
    let Err(refused) = B::Set::new(&with_setting()) else {
        panic!("{} built with a scheme setting", B::INFO.structure);
    };
    let expected = refusal_for(B::INFO.structure, B::INFO.scheme);
    assert_eq!(refused.to_string(), expected);
    assert!(B::Set::new(&Config::default()).is_ok());
}

#[test]
fn baselines_refuse_a_scheme_setting() {
    refuses::<MutexVecBackend>();
    refuses::<MutexDequeBackend>();
    refuses::<ArrayQueueBackend>();
    refuses::<SegQueueBackend>();
    refuses::<HopperBackend<{ 1 << 16 }>>();
    set_refuses::<RwLockBTreeSet>();
    set_refuses::<MutexHashSet>();
    set_refuses::<DashSetBackend>();
    set_refuses::<SkipSetBackend>();
    set_refuses::<PapayaBackend>();
}
