//! The driver must catch a backend that loses, duplicates or corrupts values, or that
//! reports a fault; and the `stalled` workload must show what each scheme keeps.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::Mutex;

use reclaim_core::{BuildError, Consumers, Handle, Info, Item, ItemOrder, ReclaimStats};
use reclaim_smr::{Ebr, Hp, Leak};
use reclaim_structures::Treiber;

use super::*;
use crate::workload::Workload;

const LOSE: u8 = 1;
const DUPLICATE: u8 = 2;
const CORRUPT: u8 = 3;
const FAULT: u8 = 4;
const UNBUILDABLE: u8 = 5;
const HONEST: u8 = 0;

/// A queue behind a lock that misbehaves on every 97th push, as `MODE` says.
struct Broken<const MODE: u8>;

struct BrokenQueue<T, const MODE: u8> {
    queue: Mutex<(VecDeque<T>, u64)>,
}

struct BrokenHandle<'c, T, const MODE: u8>(&'c BrokenQueue<T, MODE>);

/// `value` as a `T`, when `T` is `u64` (the only item type the driver pushes).
fn as_item<T: 'static>(value: u64) -> Option<T> {
    let boxed: Box<dyn Any> = Box::new(value);
    boxed.downcast::<T>().ok().map(|b| *b)
}

impl<const MODE: u8> Backend for Broken<MODE> {
    const INFO: Info = Info {
        structure: "broken",
        scheme: "lock",
        ordering: ItemOrder::Fifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "a test backend that misbehaves",
        settings: "",
        knobs: &[],
    };
    type Container<T: Item> = BrokenQueue<T, MODE>;
}

impl<T: Item, const MODE: u8> Container<T> for BrokenQueue<T, MODE> {
    type Handle<'c> = BrokenHandle<'c, T, MODE>;

    fn new(_: &Config) -> Result<Self, BuildError> {
        if MODE == UNBUILDABLE {
            return Err(BuildError::Io {
                backend: "broken",
                source: std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left"),
            });
        }
        Ok(BrokenQueue {
            queue: Mutex::new((VecDeque::new(), 0)),
        })
    }

    fn handle(&self) -> BrokenHandle<'_, T, MODE> {
        BrokenHandle(self)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        None
    }

    fn failure(&self) -> Option<String> {
        (MODE == FAULT).then(|| "disk on fire".to_string())
    }
}

impl<T: Item, const MODE: u8> Handle<T> for BrokenHandle<'_, T, MODE> {
    fn push(&mut self, value: T) -> Result<(), T> {
        let mut guard = self.0.queue.lock().unwrap();
        let (queue, pushes) = &mut *guard;
        *pushes += 1;
        let odd_one = *pushes % 97 == 0;
        let number = (&value as &dyn Any).downcast_ref::<u64>().copied();
        match (MODE, number) {
            (LOSE, _) if odd_one => {}
            (DUPLICATE, Some(n)) if odd_one => {
                queue.push_back(value);
                queue.extend(as_item(n));
            }
            (CORRUPT, Some(n)) if odd_one => queue.extend(as_item(n ^ 1)),
            _ => queue.push_back(value),
        }
        Ok(())
    }

    fn pop(&mut self) -> Option<T> {
        self.0.queue.lock().unwrap().0.pop_front()
    }
}

fn params() -> Params {
    Params {
        stop: Stop::After(Duration::from_millis(50)),
        latency: true,
        sample_interval: Some(Duration::from_millis(5)),
        counters: false,
        max_in_flight: 1 << 12,
        pin: false,
        config: Config::default(),
        set: None,
    }
}

fn pairs(threads: usize) -> Shape {
    Shape {
        pairs: threads,
        ..Shape::default()
    }
}

fn prodcons() -> Shape {
    Shape {
        producers: 2,
        consumers: 1,
        ..Shape::default()
    }
}

/// A container that cannot be built is a repeat that could not take place, not a failed
/// check: a typed error whose chain says what failed and why. The sampler, started
/// before the container, is let go (the test would hang otherwise).
#[test]
fn a_container_that_cannot_be_built_is_an_error_with_its_cause() {
    let err = run_repeat::<Broken<UNBUILDABLE>>(pairs(2), &params()).unwrap_err();
    assert!(
        matches!(
            &err,
            RepeatError::Build(BuildError::Io {
                backend: "broken",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        reclaim_core::error_chain(&err),
        "could not build the container: could not set up broken: no space left"
    );
}

#[test]
fn an_honest_backend_passes_its_check_and_counts_its_operations() {
    for shape in [pairs(2), prodcons()] {
        let repeat = run_repeat::<Broken<HONEST>>(shape, &params()).unwrap();
        assert_eq!(repeat.check, Ok(()), "{shape}");
        assert_eq!(repeat.stall_held, None, "no stalled thread in {shape}");
        assert_eq!(repeat.per_thread_ops.len(), shape.threads());
        assert!(
            repeat.ops() > 0 && repeat.elapsed >= Duration::from_millis(50),
            "{repeat:?}"
        );
        let latency = repeat.latency.as_ref().unwrap();
        assert!(!latency.is_empty());
        // This test binary has no counting allocator: no memory series, not zeros.
        let series = repeat.series.as_ref().unwrap();
        assert!(series.memory.is_empty() && repeat.peak_bytes.is_none());
        // The backend has no reclamation counters: no garbage series at all.
        assert_eq!(series.garbage, None);
    }
}

#[test]
fn lost_duplicated_and_corrupted_values_fail_the_check() {
    for shape in [pairs(2), prodcons()] {
        let lost = run_repeat::<Broken<LOSE>>(shape, &params()).unwrap();
        let err = lost.check.unwrap_err();
        assert!(err.contains("values lost"), "{err}");

        let duplicated = run_repeat::<Broken<DUPLICATE>>(shape, &params()).unwrap();
        let err = duplicated.check.unwrap_err();
        assert!(err.contains("values duplicated"), "{err}");

        let corrupted = run_repeat::<Broken<CORRUPT>>(shape, &params()).unwrap();
        let err = corrupted.check.unwrap_err();
        assert!(err.starts_with("checksum mismatch"), "{err}");

        let faulty = run_repeat::<Broken<FAULT>>(shape, &params()).unwrap();
        let err = faulty.check.unwrap_err();
        assert!(err.contains("disk on fire"), "{err}");
    }
}

#[test]
fn a_backend_that_cannot_stall_says_it_held_nothing() {
    let shape = Shape {
        pairs: 1,
        stalled: 1,
        ..Shape::default()
    };
    let repeat = run_repeat::<Broken<HONEST>>(shape, &params()).unwrap();
    assert_eq!(repeat.check, Ok(()));
    assert_eq!(repeat.stall_held, Some(false));
}

#[test]
fn without_instrumentation_nothing_is_sampled_or_timed() {
    let params = Params {
        latency: false,
        sample_interval: None,
        ..params()
    };
    let repeat = run_repeat::<Broken<HONEST>>(pairs(1), &params).unwrap();
    assert_eq!(repeat.check, Ok(()));
    assert!(repeat.latency.is_none() && repeat.series.is_none());
    assert!(repeat.counters.values.values().all(Option::is_none));
}

/// Runs `stalled` on `B` until the churning thread has retired enough nodes for the
/// garbage bounds below to tell the schemes apart — far more than the 4,000 `hp` may
/// keep. Runs are fixed-length, so a slow machine (qemu on a loaded host retires a few
/// thousand nodes in 200 ms) gets longer runs, not a failure: what is asserted is the
/// count reached, never a rate.
fn stalled_garbage<B: Backend>() -> (u64, u64, u64) {
    const ENOUGH: u64 = 20_000;
    let shape = Shape {
        pairs: 1,
        stalled: 1,
        ..Shape::default()
    };
    let mut duration = Duration::from_millis(200);
    loop {
        let params = Params {
            stop: Stop::After(duration),
            ..params()
        };
        let repeat = run_repeat::<B>(shape, &params).unwrap();
        assert_eq!(repeat.check, Ok(()));
        assert_eq!(
            repeat.stall_held,
            Some(true),
            "the scheme structures hold a guard"
        );
        let garbage = repeat.series.unwrap().garbage.unwrap();
        let last = garbage.last().unwrap();
        let retired = last.retired.unwrap();
        if retired > ENOUGH {
            let peak = garbage.iter().map(|p| p.outstanding).max().unwrap();
            return (retired, last.freed.unwrap(), peak);
        }
        assert!(
            duration < Duration::from_secs(60),
            "the churning thread retired only {retired} nodes in {duration:?}"
        );
        duration *= 2;
    }
}

/// The point of the `stalled` workload: one pinned thread stops epoch reclamation
/// altogether, while one hazard pointer keeps garbage bounded by the scan threshold.
#[test]
fn a_stalled_thread_stops_epochs_but_not_hazard_pointers() {
    let (retired, freed, peak) = stalled_garbage::<Treiber<Ebr>>();
    assert!(
        freed * 100 < retired,
        "ebr freed {freed} of {retired} with a thread pinned"
    );
    assert!(
        peak * 10 > retired * 9,
        "ebr garbage peaked at {peak} of {retired}"
    );

    let (retired, freed, peak) = stalled_garbage::<Treiber<Hp>>();
    // haphazard scans every 1000 retires; a few scans' worth of slack.
    assert!(peak <= 4_000, "hp garbage peaked at {peak} of {retired}");
    assert!(freed + 4_000 >= retired, "hp freed {freed} of {retired}");

    // Leak frees nothing, stalled or not: the garbage is everything retired.
    let (retired, freed, _) = stalled_garbage::<Treiber<Leak>>();
    assert_eq!(freed, 0, "leak freed {freed} of {retired}");
}

/// Pinned workers run where they were put: each samples the CPU it runs on during its
/// run, and a pinned run of more workers than CPUs still completes and checks out.
#[test]
fn pinned_workers_run_on_their_cpu() {
    let cpus = core_affinity::get_core_ids().expect("this machine lists its CPUs");
    let params = Params {
        pin: true,
        ..params()
    };
    for threads in [1, cpus.len() + 1] {
        let repeat = run_repeat::<Broken<HONEST>>(pairs(threads), &params).unwrap();
        assert_eq!(repeat.check, Ok(()));
    }
    // The placement itself: a thread pinned the way the driver pins stays there.
    let last = *cpus.last().unwrap();
    let ran_on = std::thread::spawn(move || {
        assert!(core_affinity::set_for_current(last));
        // SAFETY: `sched_getcpu` takes no arguments and only reads the calling thread's
        // state.
        (0..100)
            .map(|_| unsafe { libc::sched_getcpu() })
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    assert!(
        ran_on.iter().all(|&cpu| cpu == last.id as i32),
        "{ran_on:?} on {}",
        last.id
    );
}

/// With an iteration count, every worker does exactly that much work: pairs do that many
/// pushes and pops, producers push that many values, and consumers pop all of them.
#[test]
fn a_count_of_iterations_is_the_same_work_every_time() {
    const N: u64 = 1000 + 17; // not a whole number of batches
    let params = Params {
        stop: Stop::Iterations(N),
        ..params()
    };
    let repeat = run_repeat::<Broken<HONEST>>(pairs(2), &params).unwrap();
    assert_eq!(repeat.check, Ok(()));
    assert_eq!(
        repeat.per_thread_ops,
        [2 * N, 2 * N],
        "a push and a pop per pair"
    );
    let repeat = run_repeat::<Broken<HONEST>>(prodcons(), &params).unwrap();
    assert_eq!(repeat.check, Ok(()));
    let shape = prodcons();
    let pushed: u64 = repeat.per_thread_ops[..shape.producers].iter().sum();
    let popped: u64 = repeat.per_thread_ops[shape.producers..].iter().sum();
    assert_eq!(pushed, N * shape.producers as u64);
    assert_eq!(popped, pushed, "the consumers took every value");
}

/// A set behind a lock that misbehaves on every 13th call of one operation, as `MODE`
/// says: `LOSE` reports an insert it did not make, `DUPLICATE` a remove of an absent key,
/// `CORRUPT` a `contains` that misses a present key.
struct LockedSet<const MODE: u8> {
    keys: Mutex<(std::collections::BTreeSet<u64>, u64)>,
}

struct LockedSetHandle<'s, const MODE: u8>(&'s LockedSet<MODE>);

impl<const MODE: u8> reclaim_core::ConcurrentSet for LockedSet<MODE> {
    type Handle<'s> = LockedSetHandle<'s, MODE>;

    fn new(_: &Config) -> Result<Self, BuildError> {
        Ok(LockedSet {
            keys: Mutex::new((std::collections::BTreeSet::new(), 0)),
        })
    }

    fn handle(&self) -> LockedSetHandle<'_, MODE> {
        LockedSetHandle(self)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        None
    }
}

impl<const MODE: u8> LockedSetHandle<'_, MODE> {
    /// Whether this call of an operation misbehaving in `mode` is one that does.
    fn strikes(&self, keys: &mut (std::collections::BTreeSet<u64>, u64), mode: u8) -> bool {
        if MODE != mode {
            return false;
        }
        keys.1 += 1;
        keys.1.is_multiple_of(13)
    }
}

impl<const MODE: u8> reclaim_core::SetHandle for LockedSetHandle<'_, MODE> {
    fn insert(&mut self, key: u64) -> bool {
        let mut keys = self.0.keys.lock().unwrap();
        if self.strikes(&mut keys, LOSE) {
            return !keys.0.contains(&key);
        }
        keys.0.insert(key)
    }

    fn remove(&mut self, key: u64) -> bool {
        let mut keys = self.0.keys.lock().unwrap();
        if self.strikes(&mut keys, DUPLICATE) && !keys.0.contains(&key) {
            return true;
        }
        keys.0.remove(&key)
    }

    fn contains(&mut self, key: u64) -> bool {
        let mut keys = self.0.keys.lock().unwrap();
        let present = keys.0.contains(&key);
        present && !self.strikes(&mut keys, CORRUPT)
    }
}

fn set_params(mix: crate::workload::Mix) -> Params {
    Params {
        set: Some(crate::plan::SetRun {
            keys: 64,
            mix,
            zipf: None,
        }),
        ..params()
    }
}

fn mixing(threads: usize) -> Shape {
    Shape {
        mixed: threads,
        ..Shape::default()
    }
}

#[test]
fn honest_sets_pass_their_check_and_count_every_operation() {
    use crate::workload::Mix;
    for mix in [Mix::READ_MOSTLY, Mix::WRITE_HEAVY, Mix::READ_ONLY] {
        let repeat = run_set_repeat::<LockedSet<HONEST>>(mixing(2), &set_params(mix)).unwrap();
        assert_eq!(repeat.check, Ok(()), "{mix}");
        assert!(
            repeat.ops() > 0 && repeat.per_thread_ops.len() == 2,
            "{mix}"
        );
        assert!(
            !repeat.latency.unwrap().is_empty(),
            "{mix}: operations timed"
        );
        let list =
            run_set_repeat::<reclaim_structures::HmList<Ebr>>(mixing(2), &set_params(mix)).unwrap();
        assert_eq!(list.check, Ok(()), "hmlist-ebr, {mix}");
    }
}

/// The nodes visited are sampled once a batch, by every mixed thread: one operation in
/// 64 for a list, which can say; never for a set behind a lock, which cannot.
#[test]
fn the_nodes_visited_are_sampled_once_a_batch() {
    let params = Params {
        stop: Stop::Iterations(6_400 + 10),
        ..set_params(crate::workload::Mix::READ_MOSTLY)
    };
    let list = run_set_repeat::<reclaim_structures::HmList<Ebr>>(mixing(2), &params).unwrap();
    assert_eq!(list.check, Ok(()));
    let (nodes, sampled) = list.visits.expect("a list says what it visited");
    // 100 full batches and a short one, on each of two threads.
    assert_eq!(sampled, 2 * 101);
    // About 32 of the 64 keys in the list: more than one node a search on average, and
    // never more than the range's 64.
    assert!(
        nodes > sampled && nodes <= sampled * 64,
        "{nodes} over {sampled}"
    );
    let locked = run_set_repeat::<LockedSet<HONEST>>(mixing(2), &params).unwrap();
    assert_eq!(locked.check, Ok(()));
    assert_eq!(locked.visits, None);
}

#[test]
fn a_lost_insert_a_double_remove_and_a_missed_key_fail_the_set_check() {
    use crate::workload::Mix;
    let lost = run_set_repeat::<LockedSet<LOSE>>(mixing(2), &set_params(Mix::BALANCED)).unwrap();
    assert!(lost.check.is_err(), "a lost insert passed");
    let twice =
        run_set_repeat::<LockedSet<DUPLICATE>>(mixing(2), &set_params(Mix::BALANCED)).unwrap();
    assert!(twice.check.is_err(), "a remove of an absent key passed");
    // A read-only run: nothing moves, only the end's reading back can see the miss.
    let missed =
        run_set_repeat::<LockedSet<CORRUPT>>(mixing(1), &set_params(Mix::READ_ONLY)).unwrap();
    let err = missed.check.unwrap_err();
    assert!(err.contains("32 prefilled + 0 inserted"), "{err}");
}

/// A set whose inserts never take: the prefill gives up with an error instead of
/// drawing keys for ever.
struct Refusing;

impl reclaim_core::ConcurrentSet for Refusing {
    type Handle<'s> = Refusing;

    fn new(_: &Config) -> Result<Self, BuildError> {
        Ok(Refusing)
    }

    fn handle(&self) -> Refusing {
        Refusing
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        None
    }
}

impl reclaim_core::SetHandle for Refusing {
    fn insert(&mut self, _: u64) -> bool {
        false
    }

    fn remove(&mut self, _: u64) -> bool {
        false
    }

    fn contains(&mut self, _: u64) -> bool {
        false
    }
}

#[test]
fn a_set_that_refuses_its_prefill_is_an_error_not_a_hang() {
    let err = run_set_repeat::<Refusing>(mixing(1), &set_params(crate::workload::Mix::BALANCED))
        .unwrap_err();
    assert!(
        matches!(
            err,
            RepeatError::Prefill {
                inserted: 0,
                wanted: 32,
                draws: 4096
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("its inserts keep failing"),
        "{err}"
    );
}

#[test]
fn a_set_repeat_without_a_key_range_is_an_error() {
    assert!(matches!(
        run_set_repeat::<LockedSet<HONEST>>(mixing(1), &params()),
        Err(RepeatError::NoKeyRange)
    ));
}

#[test]
fn the_long_reader_walks_the_set_while_the_others_run_and_says_when_it_cannot() {
    use crate::workload::Mix;
    let shape = Workload::LongReader.set_shape(2, 2).unwrap();
    let repeat =
        run_set_repeat::<reclaim_structures::HmList<Hp>>(shape, &set_params(Mix::BALANCED))
            .unwrap();
    assert_eq!(repeat.check, Ok(()));
    let (walks, nodes) = repeat.walks.expect("the reader walked");
    assert!(walks > 0);
    // 64 keys, half present, give or take the other thread's inserts and removes (and the
    // marked nodes a walk unlinks on its way).
    let per_walk = nodes as f64 / walks as f64;
    assert!((1.0..=64.0).contains(&per_walk), "{per_walk} nodes a walk");
    // The reader's loop is not the run's throughput: only the mixing thread's operations.
    assert_eq!(repeat.per_thread_ops.len(), 2);
    assert_eq!(
        repeat.per_thread_ops[1], 0,
        "the reader counts no operation"
    );
    let cannot = run_set_repeat::<LockedSet<HONEST>>(shape, &set_params(Mix::BALANCED)).unwrap();
    assert!(cannot.check.unwrap_err().contains("cannot walk"));
}
