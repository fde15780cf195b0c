//! Values that count their own drops, and the check that every value is dropped exactly
//! once — whether it was popped, or still inside when the container was dropped.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

use reclaim_core::{Backend, Container, Handle};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::concurrent::push_until_accepted;
use crate::{CheckResult, Sizes, build, config_for};

/// Per value: how many instances were made and how many dropped.
///
/// A value is made once when pushed; a backend that serializes (a disk-spilling channel)
/// makes another instance when it decodes one, and drops the one it encoded. Either way,
/// at the end every value must have been dropped exactly as often as it was made.
pub struct Ledger {
    index: usize,
    made: Vec<AtomicU32>,
    dropped: Vec<AtomicU32>,
}

/// Every ledger, so that a decoded value finds its own. Ledgers live for the process
/// (a handful per test run); being reachable from this static, they are not leaks.
static LEDGERS: Mutex<Vec<&'static Ledger>> = Mutex::new(Vec::new());

impl Ledger {
    /// A ledger for values `0..len`.
    pub fn new(len: usize) -> &'static Ledger {
        let mut ledgers = LEDGERS.lock().unwrap_or_else(PoisonError::into_inner);
        let ledger: &'static Ledger = Box::leak(Box::new(Ledger {
            index: ledgers.len(),
            made: (0..len).map(|_| AtomicU32::new(0)).collect(),
            dropped: (0..len).map(|_| AtomicU32::new(0)).collect(),
        }));
        ledgers.push(ledger);
        ledger
    }

    /// Makes value `id`.
    pub fn make(&'static self, id: u32) -> Tracked {
        self.made[id as usize].fetch_add(1, Ordering::Relaxed);
        Tracked { ledger: self, id }
    }

    /// Describes every value not dropped exactly as often as it was made.
    pub fn check_balanced(&self) -> CheckResult {
        let unbalanced: Vec<String> = self
            .made
            .iter()
            .zip(&self.dropped)
            .enumerate()
            .filter_map(|(id, (made, dropped))| {
                let (made, dropped) = (
                    made.load(Ordering::Relaxed),
                    dropped.load(Ordering::Relaxed),
                );
                (made != dropped || made == 0)
                    .then(|| format!("value {id} made {made}× dropped {dropped}×"))
            })
            .collect();
        match unbalanced.len() {
            0 => Ok(()),
            n => Err(format!(
                "{n} values unbalanced, first: {}",
                unbalanced[..n.min(5)].join(", ")
            )),
        }
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("index", &self.index)
            .field("values", &self.made.len())
            .finish_non_exhaustive()
    }
}

/// A value that records its drop in its ledger.
pub struct Tracked {
    ledger: &'static Ledger,
    id: u32,
}

impl Tracked {
    /// The value's id in its ledger.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl fmt::Debug for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tracked({}#{})", self.ledger.index, self.id)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger.dropped[self.id as usize].fetch_add(1, Ordering::Relaxed);
    }
}

impl Serialize for Tracked {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.ledger.index, self.id).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Tracked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (index, id) = <(usize, u32)>::deserialize(deserializer)?;
        let ledger = LEDGERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(index)
            .copied()
            .ok_or_else(|| serde::de::Error::custom(format!("no ledger {index}")))?;
        if id as usize >= ledger.made.len() {
            return Err(serde::de::Error::custom(format!(
                "no value {id} in ledger {index}"
            )));
        }
        Ok(ledger.make(id))
    }
}

/// Values are dropped exactly once: popped ones by whoever popped them, the rest by the
/// container's drop. Two threads push and pop concurrently, then the container is dropped
/// with values still inside.
pub fn drop_accounting<B: Backend>() -> CheckResult {
    let sizes = Sizes::from_env();
    let per_thread = (sizes.per_producer / 4).max(8) as u32;
    let threads = 2u32;
    let ledger = Ledger::new((per_thread * threads) as usize);
    let container = build::<B, Tracked>(&config_for::<B>(4 * per_thread as usize))?;
    let popped_ok = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let container = &container;
                s.spawn(move || {
                    let mut handle = container.handle();
                    let mut popped = 0u32;
                    for i in 0..per_thread {
                        push_until_accepted(&mut handle, ledger.make(t * per_thread + i));
                        // Pop after every third push: about a third of the values stay in.
                        if i % 3 == 2 && handle.pop().is_some() {
                            popped += 1;
                        }
                    }
                    popped
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join())
            .collect::<Result<Vec<_>, _>>()
    });
    let popped: u32 = popped_ok
        .map_err(|_| "a worker panicked".to_string())?
        .into_iter()
        .sum();
    if popped == 0 {
        return Err("no value was popped: the check did not exercise popping".into());
    }
    let dropped_early: u32 = ledger
        .dropped
        .iter()
        .map(|d| d.load(Ordering::Relaxed))
        .sum();
    let made: u32 = ledger.made.iter().map(|m| m.load(Ordering::Relaxed)).sum();
    let pushed = per_thread * threads;
    // A container that never re-made a value (by decoding it) holds the very instances it
    // was given: exactly the popped ones are dropped before it. One that serializes (a
    // spilling channel) drops the instances it encoded, so only a lower bound holds; lost
    // values are then caught by the multiset check, which drains the container.
    let serialized = made > pushed;
    if dropped_early < popped || (!serialized && dropped_early != popped) {
        return Err(format!(
            "{popped} values popped (and dropped) but {dropped_early} dropped before the container"
        ));
    }
    drop(container);
    ledger.check_balanced()
}
