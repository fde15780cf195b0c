//! What every set backend must do: answer as a `BTreeSet` would on one thread, and, on
//! several, keep every key's successful inserts and removes consistent with what is left.

use std::collections::{BTreeSet, HashSet};
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};

use reclaim_core::{ConcurrentSet, Config, SetBackend, SetEntry, SetHandle};

use crate::{Check, CheckResult, Sizes};

/// Every check that applies to set backend `B`.
pub fn set_checks<B: SetBackend>(_entry: &SetEntry) -> Vec<Check> {
    vec![
        check!(set_sequential_model::<B>),
        check!(set_shared_keys_add_up::<B>),
        check!(set_disjoint_keys::<B>),
        check!(set_linearizable_per_key::<B>),
    ]
}

/// `B`'s set, sized for `keys` distinct keys: tables as small as the check's key range,
/// so that keys share buckets and meet there.
fn build<B: SetBackend>(keys: u64) -> Result<B::Set, String> {
    B::Set::new(&Config::default().with_keys(keys))
        .map_err(|e| format!("could not build: {}", reclaim_core::error_chain(&e)))
}

/// A splitmix64 step: reproducible keys and operations.
fn next(state: &mut u64) -> u64 {
    let mut draws = reclaim_core::SplitMix64::new(*state);
    let value = draws.next_u64();
    *state = draws.state();
    value
}

/// On one thread, random inserts, removes and lookups over a small key range give the
/// answers a `BTreeSet` gives, and the final contents are the model's.
pub fn set_sequential_model<B: SetBackend>() -> CheckResult {
    let sizes = Sizes::from_env();
    const KEYS: u64 = 32;
    for case in 0..sizes.sequential_cases {
        let set = build::<B>(KEYS)?;
        let mut h = set.handle();
        let mut model = BTreeSet::new();
        let mut state = case;
        for op in 0..sizes.sequential_ops {
            let r = next(&mut state);
            let key = (r >> 8) % KEYS;
            let (what, got, want) = match r % 3 {
                0 => ("insert", h.insert(key), model.insert(key)),
                1 => ("remove", h.remove(key), model.remove(&key)),
                _ => ("contains", h.contains(key), model.contains(&key)),
            };
            if got != want {
                return Err(format!(
                    "case {case}, operation {op}: {what}({key}) returned {got}, expected {want}"
                ));
            }
        }
        for key in 0..KEYS {
            if h.contains(key) != model.contains(&key) {
                return Err(format!(
                    "case {case}: at the end contains({key}) is {}, expected {}",
                    !model.contains(&key),
                    model.contains(&key)
                ));
            }
        }
        // A walk of the quiet set passes every key present, and nothing else.
        if let Some(walked) = h.walk()
            && walked != model.len() as u64
        {
            return Err(format!(
                "case {case}: a walk at the end passed {walked} nodes, and {} keys are present",
                model.len()
            ));
        }
    }
    Ok(())
}

/// Threads insert, remove and look up over the same few keys, starting together. For each
/// key, successful inserts minus successful removes over all threads must be 0 or 1, and
/// 1 exactly when the key is in the set at the end (the count and key-sum check setbench
/// makes, key by key).
pub fn set_shared_keys_add_up<B: SetBackend>() -> CheckResult {
    let sizes = Sizes::from_env();
    const KEYS: u64 = 8;
    let threads = sizes.producers.max(2);
    let ops = sizes.stress_values.max(1) * 64;
    let set = build::<B>(KEYS)?;
    let start = Barrier::new(threads);
    let nets: Vec<Vec<i64>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (set, start) = (&set, &start);
                s.spawn(move || {
                    let mut h = set.handle();
                    let mut net = vec![0i64; KEYS as usize];
                    let mut state = 1000 + t as u64;
                    start.wait();
                    for _ in 0..ops {
                        let r = next(&mut state);
                        let key = (r >> 8) % KEYS;
                        match r % 3 {
                            0 => net[key as usize] += i64::from(h.insert(key)),
                            1 => net[key as usize] -= i64::from(h.remove(key)),
                            _ => {
                                h.contains(key);
                            }
                        }
                    }
                    net
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| vec![i64::MIN; KEYS as usize]))
            .collect()
    });
    let mut h = set.handle();
    for key in 0..KEYS {
        let net: i64 = nets.iter().map(|n| n[key as usize]).sum();
        let present = h.contains(key);
        if !(net == 0 || net == 1) || present != (net == 1) {
            return Err(format!(
                "key {key}: successful inserts minus removes is {net}, and it is {}in the set",
                if present { "" } else { "not " }
            ));
        }
    }
    Ok(())
}

/// Threads insert interleaved, disjoint keys: every insert succeeds once, every key is
/// found afterwards, and removing them (concurrently again) empties the set.
pub fn set_disjoint_keys<B: SetBackend>() -> CheckResult {
    let sizes = Sizes::from_env();
    let threads = sizes.producers.max(2) as u64;
    // A few hundred keys a thread: a list takes time linear in its length per operation.
    let per = sizes.per_producer.clamp(1, 300);
    let set = build::<B>(per * threads)?;
    let each = |insert: bool| -> CheckResult {
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let set = &set;
                    s.spawn(move || -> CheckResult {
                        let mut h = set.handle();
                        for i in 0..per {
                            let key = i * threads + t;
                            let done = if insert { h.insert(key) } else { h.remove(key) };
                            if !done {
                                let what = if insert { "insert" } else { "remove" };
                                return Err(format!("{what}({key}) failed on its own key"));
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|w| w.join().unwrap_or_else(|_| Err("a thread panicked".into())))
        })
    };
    each(true)?;
    let mut h = set.handle();
    if let Some(key) = (0..per * threads).find(|&key| !h.contains(key)) {
        return Err(format!("{key} was inserted but is not found"));
    }
    if let Some(key) = (0..per * threads).find(|&key| h.insert(key)) {
        return Err(format!("{key} was inserted a second time"));
    }
    drop(h);
    each(false)?;
    let mut h = set.handle();
    match (0..per * threads).find(|&key| h.contains(key)) {
        Some(key) => Err(format!("{key} was removed but is still found")),
        None => Ok(()),
    }
}

/// One operation of a recorded history: what was asked, what came back, and when, on a
/// clock all threads share (`invoked` before the call, `returned` after it).
#[derive(Clone, Copy, Debug)]
struct Op {
    kind: OpKind,
    result: bool,
    invoked: u64,
    returned: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Insert,
    Remove,
    Contains,
}

impl Op {
    /// What the key's presence must be for this operation to return its result, and what
    /// it is after; `None` if no state allows the result.
    fn apply(&self, present: bool) -> Option<bool> {
        match (self.kind, self.result) {
            (OpKind::Insert, added) => (added != present).then_some(true),
            (OpKind::Remove, removed) => (removed == present).then_some(false),
            (OpKind::Contains, found) => (found == present).then_some(present),
        }
    }
}

/// Whether one key's history, starting absent, has a linearization: an order of its
/// operations that keeps every real-time precedence (one returned before the other was
/// invoked) and in which each returns what a sequential set would. Operations on
/// different keys of a set commute, so checking key by key is checking the whole history
/// (Herlihy and Wing's locality). A depth-first search over which operations are done
/// and whether the key is present, remembering dead ends; histories here are short.
fn linearizable(ops: &[Op]) -> bool {
    fn search(ops: &[Op], done: u64, present: bool, dead: &mut HashSet<(u64, bool)>) -> bool {
        if done.count_ones() as usize == ops.len() {
            return true;
        }
        if dead.contains(&(done, present)) {
            return false;
        }
        let pending = |i: usize| done & (1 << i) == 0;
        // The earliest return among the pending: only an operation invoked before it can
        // come next (any other has a pending operation that returned before it began).
        let first_return = (0..ops.len())
            .filter(|&i| pending(i))
            .map(|i| ops[i].returned)
            .min()
            .unwrap_or(u64::MAX);
        for i in (0..ops.len()).filter(|&i| pending(i)) {
            if ops[i].invoked > first_return {
                continue;
            }
            if let Some(after) = ops[i].apply(present)
                && search(ops, done | (1 << i), after, dead)
            {
                return true;
            }
        }
        dead.insert((done, present));
        false
    }
    debug_assert!(ops.len() <= 64);
    search(ops, 0, false, &mut HashSet::new())
}

/// Short concurrent histories, recorded and checked for linearizability key by key:
/// in each round, threads run a few random operations on two keys of a fresh set, every
/// call stamped before and after on a shared clock. A set that loses an insert, reports
/// a remove twice or misses a present key yields a history no sequential set explains,
/// even where the counts would balance.
pub fn set_linearizable_per_key<B: SetBackend>() -> CheckResult {
    const KEYS: u64 = 2;
    const OPS_PER_THREAD: usize = 4;
    let sizes = Sizes::from_env();
    let threads = sizes.producers.max(2);
    let rounds = if cfg!(miri) { 4 } else { 300 };
    for round in 0..rounds {
        let set = build::<B>(KEYS)?;
        let clock = AtomicU64::new(0);
        let start = Barrier::new(threads);
        let histories: Vec<Vec<(u64, Op)>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (set, clock, start) = (&set, &clock, &start);
                    s.spawn(move || {
                        let mut h = set.handle();
                        let mut state = (round as u64) << 8 | t as u64;
                        let mut ops = Vec::with_capacity(OPS_PER_THREAD);
                        start.wait();
                        for _ in 0..OPS_PER_THREAD {
                            let r = next(&mut state);
                            let key = (r >> 8) % KEYS;
                            let kind = match r % 3 {
                                0 => OpKind::Insert,
                                1 => OpKind::Remove,
                                _ => OpKind::Contains,
                            };
                            let invoked = clock.fetch_add(1, Ordering::SeqCst);
                            let result = match kind {
                                OpKind::Insert => h.insert(key),
                                OpKind::Remove => h.remove(key),
                                OpKind::Contains => h.contains(key),
                            };
                            let returned = clock.fetch_add(1, Ordering::SeqCst);
                            ops.push((
                                key,
                                Op {
                                    kind,
                                    result,
                                    invoked,
                                    returned,
                                },
                            ));
                        }
                        ops
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_default())
                .collect()
        });
        for key in 0..KEYS {
            let ops: Vec<Op> = histories
                .iter()
                .flatten()
                .filter(|(k, _)| *k == key)
                .map(|(_, op)| *op)
                .collect();
            if !linearizable(&ops) {
                let mut shown = ops.clone();
                shown.sort_by_key(|op| op.invoked);
                return Err(format!(
                    "round {round}: key {key}'s history has no linearization: {shown:?}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Sets broken on purpose: each check must catch the fault it is there for.
    use super::*;
    use reclaim_core::{BuildError, ReclaimStats, SetInfo};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// What a faulty set gets wrong: every other time, so that each check meets the
    /// fault however the threads interleave (under qemu they mostly take turns) and
    /// however short its histories (the linearizability check's are a dozen calls).
    #[derive(Clone, Copy)]
    enum Fault {
        /// Every other insert of a new key reports success and keeps nothing.
        LosesInserts,
        /// Every other remove of an absent key reports success.
        RemovesTwice,
        /// Every other lookup of a present key misses it.
        MissesPresentKeys,
        /// None: the set is correct.
        Nothing,
    }

    struct Faulty<const F: u8> {
        keys: Mutex<BTreeSet<u64>>,
        calls: AtomicU64,
    }

    impl<const F: u8> Faulty<F> {
        const FAULT: Fault = match F {
            0 => Fault::LosesInserts,
            1 => Fault::RemovesTwice,
            2 => Fault::MissesPresentKeys,
            _ => Fault::Nothing,
        };

        /// Whether this call is one the fault strikes on, every `n`th.
        fn strikes(&self, n: u64) -> bool {
            self.calls.fetch_add(1, Ordering::Relaxed) % n == n - 1
        }
    }

    impl<const F: u8> ConcurrentSet for Faulty<F> {
        type Handle<'s> = &'s Faulty<F>;

        fn new(_: &Config) -> Result<Self, BuildError> {
            Ok(Faulty {
                keys: Mutex::new(BTreeSet::new()),
                calls: AtomicU64::new(0),
            })
        }

        fn handle(&self) -> &Faulty<F> {
            self
        }

        fn reclamation(&self) -> Option<ReclaimStats> {
            None
        }
    }

    impl<const F: u8> SetHandle for &Faulty<F> {
        fn insert(&mut self, key: u64) -> bool {
            let mut keys = self.keys.lock().unwrap();
            if keys.contains(&key) {
                return false;
            }
            if matches!(Faulty::<F>::FAULT, Fault::LosesInserts) && self.strikes(2) {
                return true;
            }
            keys.insert(key)
        }

        fn remove(&mut self, key: u64) -> bool {
            let removed = self.keys.lock().unwrap().remove(&key);
            removed || (matches!(Faulty::<F>::FAULT, Fault::RemovesTwice) && self.strikes(2))
        }

        fn contains(&mut self, key: u64) -> bool {
            let present = self.keys.lock().unwrap().contains(&key);
            present && !(matches!(Faulty::<F>::FAULT, Fault::MissesPresentKeys) && self.strikes(2))
        }
    }

    struct FaultyBackend<const F: u8>;

    impl<const F: u8> SetBackend for FaultyBackend<F> {
        const INFO: SetInfo = SetInfo {
            structure: "faulty",
            scheme: "lock",
            ordered: true,
            summary: "a set broken on purpose",
            settings: "",
            knobs: &[],
        };
        type Set = Faulty<F>;
    }

    /// The checks that catch `F`'s fault, by name.
    fn caught<const F: u8>() -> Vec<&'static str> {
        let entry = SetEntry::of::<FaultyBackend<F>>("faulty");
        set_checks::<FaultyBackend<F>>(&entry)
            .into_iter()
            .filter(|check| (check.run)().is_err())
            .map(|check| check.name)
            .collect()
    }

    #[test]
    fn a_lost_insert_is_caught() {
        let caught = caught::<0>();
        for check in [
            "set_sequential_model",
            "set_disjoint_keys",
            "set_linearizable_per_key",
        ] {
            assert!(caught.contains(&check), "{check}: {caught:?}");
        }
    }

    #[test]
    fn a_remove_that_succeeds_twice_is_caught() {
        let caught = caught::<1>();
        for check in [
            "set_sequential_model",
            "set_shared_keys_add_up",
            "set_linearizable_per_key",
        ] {
            assert!(caught.contains(&check), "{check}: {caught:?}");
        }
    }

    #[test]
    fn a_lookup_that_misses_a_present_key_is_caught() {
        let caught = caught::<2>();
        for check in [
            "set_sequential_model",
            "set_disjoint_keys",
            "set_linearizable_per_key",
        ] {
            assert!(caught.contains(&check), "{check}: {caught:?}");
        }
    }

    fn op(kind: OpKind, result: bool, invoked: u64, returned: u64) -> Op {
        Op {
            kind,
            result,
            invoked,
            returned,
        }
    }

    /// Overlapping operations may take effect in either order; ones in sequence may not.
    #[test]
    fn linearizability_follows_real_time_order() {
        use OpKind::{Contains, Insert, Remove};
        // Two inserts at once: one adds, the other finds it.
        assert!(linearizable(&[
            op(Insert, true, 0, 3),
            op(Insert, false, 1, 2)
        ]));
        // ... but not both adding.
        assert!(!linearizable(&[
            op(Insert, true, 0, 3),
            op(Insert, true, 1, 2)
        ]));
        // A lookup overlapping an insert may miss it; one after it may not.
        assert!(linearizable(&[
            op(Insert, true, 0, 3),
            op(Contains, false, 1, 2)
        ]));
        assert!(!linearizable(&[
            op(Insert, true, 0, 1),
            op(Contains, false, 2, 3)
        ]));
        // A remove of a key never inserted fails.
        assert!(!linearizable(&[op(Remove, true, 0, 1)]));
        // Insert, remove, insert in sequence, all succeeding, then found.
        assert!(linearizable(&[
            op(Insert, true, 0, 1),
            op(Remove, true, 2, 3),
            op(Insert, true, 4, 5),
            op(Contains, true, 6, 7),
        ]));
        // A remove overlapping both: it must take effect between them.
        assert!(linearizable(&[
            op(Insert, true, 0, 2),
            op(Remove, true, 1, 6),
            op(Insert, true, 3, 4),
            op(Contains, true, 7, 8),
        ]));
        assert!(!linearizable(&[
            op(Insert, true, 0, 1),
            op(Remove, true, 2, 3),
            op(Remove, true, 4, 5),
        ]));
    }

    /// The same set without a fault passes every check: the checks catch faults, not
    /// the harness around them.
    #[test]
    fn a_correct_set_passes() {
        assert_eq!(caught::<3>(), Vec::<&str>::new());
    }
}
