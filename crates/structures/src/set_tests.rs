//! Tests every scheme-generic set of this crate runs, written once over
//! [`ConcurrentSet`]: a sequential model, threads on overlapping keys, threads on
//! disjoint ranges. Each set's own module calls them for its schemes and adds what only
//! it can check (its layout after the operations).

use std::collections::BTreeSet;

use reclaim_core::{ConcurrentSet, Config, SetHandle};

pub(crate) const MIRI: bool = cfg!(miri);

/// A splitmix64 step: reproducible keys and operations.
pub(crate) fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh set built for `keys` keys.
pub(crate) fn build<C: ConcurrentSet>(keys: u64) -> C {
    C::new(&Config::default().with_keys(keys)).expect("the set builds")
}

/// What the set's scheme has retired so far.
pub(crate) fn retired<C: ConcurrentSet>(set: &C) -> u64 {
    set.reclamation().expect("a scheme-backed set").retired
}

/// Random operations on one thread give the answers a `BTreeSet` gives.
pub(crate) fn agrees_with_a_btreeset<C: ConcurrentSet>() {
    let (ops, keys) = if MIRI { (300, 16) } else { (20_000, 64) };
    let set = build::<C>(keys);
    let mut h = set.handle();
    let mut model = BTreeSet::new();
    let mut state = 7;
    for i in 0..ops {
        let r = next(&mut state);
        let key = (r >> 8) % keys;
        match r % 3 {
            0 => assert_eq!(h.insert(key), model.insert(key), "op {i}: insert {key}"),
            1 => assert_eq!(h.remove(key), model.remove(&key), "op {i}: remove {key}"),
            _ => assert_eq!(h.contains(key), model.contains(&key), "op {i}: {key}?"),
        }
    }
    for key in 0..keys {
        assert_eq!(h.contains(key), model.contains(&key), "{key} at the end");
    }
}

/// Threads inserting and removing over the same few keys: each key's successful
/// inserts minus successful removes is whether it is in the set at the end, and each
/// successful remove's node is retired exactly once (a remove that could not unlink
/// its node searches again, which unlinks it). Returns the set, for checks of its own.
pub(crate) fn overlapping_keys_add_up<C: ConcurrentSet>() -> C {
    const THREADS: usize = 3;
    // Few keys, so that removes and inserts meet at neighbouring nodes; enough
    // operations that the threads overlap for a while (they start together).
    let keys: u64 = 6;
    let ops = if MIRI { 60 } else { 300_000 };
    let start = std::sync::Barrier::new(THREADS);
    let set = build::<C>(keys);
    let tallies: Vec<(Vec<i64>, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (set, start) = (&set, &start);
                s.spawn(move || {
                    let mut h = set.handle();
                    start.wait();
                    let mut net = vec![0i64; keys as usize];
                    let mut removed = 0;
                    let mut state = t as u64 + 1;
                    for _ in 0..ops {
                        let r = next(&mut state);
                        let key = (r >> 8) % keys;
                        match r % 3 {
                            0 => net[key as usize] += i64::from(h.insert(key)),
                            1 if h.remove(key) => {
                                net[key as usize] -= 1;
                                removed += 1;
                            }
                            1 => {}
                            _ => {
                                h.contains(key);
                            }
                        }
                    }
                    (net, removed)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut h = set.handle();
    for key in 0..keys {
        let net: i64 = tallies.iter().map(|(t, _)| t[key as usize]).sum();
        assert!(net == 0 || net == 1, "key {key}: net {net}");
        assert_eq!(h.contains(key), net == 1, "key {key}");
    }
    drop(h);
    let removed: u64 = tallies.iter().map(|(_, r)| r).sum();
    assert_eq!(retired(&set), removed);
    set
}

/// Every key inserted on disjoint ranges by several threads is found afterwards, and
/// removing them all retires every node. Returns the emptied set, for checks of its own.
pub(crate) fn disjoint_ranges_fill_and_empty<C: ConcurrentSet>() -> C {
    let per: u64 = if MIRI { 10 } else { 500 };
    let set = build::<C>(per * 3);
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let set = &set;
            s.spawn(move || {
                let mut h = set.handle();
                // Interleaved ranges, so threads insert next to each other's keys.
                for i in 0..per {
                    assert!(h.insert(i * 3 + t));
                }
            });
        }
    });
    let mut h = set.handle();
    for key in 0..per * 3 {
        assert!(h.contains(key), "{key}");
        assert!(!h.insert(key), "{key} twice");
    }
    drop(h);
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let set = &set;
            s.spawn(move || {
                let mut h = set.handle();
                for i in (0..per).rev() {
                    assert!(h.remove(i * 3 + t));
                }
            });
        }
    });
    assert_eq!(retired(&set), per * 3);
    set
}
