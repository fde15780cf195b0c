//! Tests every scheme-generic set of this crate runs, written once over
//! [`ConcurrentSet`]: a sequential model, threads on overlapping keys, threads on
//! disjoint ranges. Each set's own module calls them for its schemes and adds what only
//! it can check (its layout after the operations).

use std::collections::BTreeSet;

use reclaim_core::{ConcurrentSet, Config, SetHandle};

pub(crate) const MIRI: bool = cfg!(miri);

/// A splitmix64 step: reproducible keys and operations.
pub(crate) fn next(state: &mut u64) -> u64 {
    let mut draws = reclaim_core::SplitMix64::new(*state);
    let value = draws.next_u64();
    *state = draws.state();
    value
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

/// Nodes visited by a sorted list's operations, which one thread makes exact: with keys
/// `1..=n` inserted in order and nothing removed, a search for `k ≤ n` passes the `k − 1`
/// nodes below it and stops on `k`'s, so it visits `k` nodes; a search past the last key
/// passes all `n` and stops at the end, which is no node. A remove counts its deciding
/// search only, so removing `k` visits `k` too, and the list is one node shorter after.
pub(crate) fn a_sorted_list_visits_the_keys_below<C: ConcurrentSet>() {
    let n: u64 = if MIRI { 20 } else { 500 };
    let set = build::<C>(n);
    let mut h = set.handle();
    assert_eq!(h.visited(), Some(0), "no operation yet");
    for key in 1..=n {
        assert!(h.insert(key));
        // The search for `key` passed every node before it and found the end.
        assert_eq!(h.visited(), Some(key - 1), "insert {key}");
    }
    for key in [1, 2, n / 2, n - 1, n] {
        assert!(h.contains(key));
        assert_eq!(h.visited(), Some(key), "contains {key}");
    }
    assert!(!h.contains(0));
    assert_eq!(h.visited(), Some(1), "0 stops at the first node, 1");
    assert!(!h.contains(n + 1));
    assert_eq!(h.visited(), Some(n), "past the end: every node");
    assert!(!h.insert(n), "already there");
    assert_eq!(h.visited(), Some(n), "a refused insert searched as far");
    assert!(h.remove(n / 2));
    assert_eq!(h.visited(), Some(n / 2), "remove {}", n / 2);
    assert!(!h.remove(n / 2));
    assert_eq!(
        h.visited(),
        Some(n / 2),
        "{} is gone: stops on the next",
        n / 2
    );
    assert!(h.contains(n));
    assert_eq!(h.visited(), Some(n - 1), "one node fewer before {n}");
}

/// Nodes visited by a hash set's operations: only the key's bucket, sorted, so a search
/// for a present key visits the keys of its bucket up to and including it. `set` is
/// empty and sized for `keys` keys, so that buckets hold several; `bucket` names a key's
/// bucket (any value that is equal for keys of one bucket).
pub(crate) fn a_hash_set_visits_one_bucket<C: ConcurrentSet>(
    set: &C,
    keys: u64,
    bucket: impl Fn(u64) -> usize,
) {
    let mut h = set.handle();
    for key in 0..keys {
        assert!(h.insert(key));
    }
    let mut most = 0;
    for key in 0..keys {
        assert!(h.contains(key));
        let expected = (0..=key).filter(|&k| bucket(k) == bucket(key)).count() as u64;
        assert_eq!(h.visited(), Some(expected), "contains {key}");
        most = most.max(expected);
    }
    // Buckets of several keys were searched, and none is long: far from a list's
    // `keys / 2` on average.
    assert!(
        (2..=8).contains(&most),
        "a bucket holds {most} of {keys} keys"
    );
}
