//! The sets a user would pick instead of a hand-made lock-free set, and why each is here:
//!
//! - `rwlock-btreeset`, `RwLock<BTreeSet<u64>>`: the ordered set in std behind the lock
//!   that lets readers share it — what a read-mostly workload tempts one to write first.
//! - `mutex-hashset`, `Mutex<HashSet<u64>>`: the plain answer for an unordered set, and
//!   the floor any concurrent set must beat once there are writers.
//! - `dashset`, dashmap's `DashSet`: the most used concurrent map crate, a table sharded
//!   over read-write locks.
//! - `skipset`, crossbeam-skiplist's `SkipSet`: a lock-free ordered set on crossbeam-epoch,
//!   the same scheme as `ebr`, written by the scheme's authors.
//! - `papaya`, papaya's `HashSet`: a lock-free hash table on seize, the reclamation scheme
//!   of the Hyaline family.
//!
//! None has per-thread state a handle must keep (papaya and the skip list pin per
//! operation), so they share [`SetBaseline`]; none reports reclamation counters, nor the
//! nodes an operation visited ([`SetHandle::visited`] is `None`: a lock or a library's
//! structure does not say how far its search went).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Mutex, PoisonError, RwLock};

use reclaim_core::{
    BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetHandle, SetInfo,
};

/// A set every thread uses through a shared reference, which [`SetBaseline`] turns into
/// a registry set.
pub trait SharedSet: Send + Sync + Sized {
    /// The registry's marker, whose `SetInfo` names the baseline in build errors.
    type Backend: SetBackend;

    /// An empty set for up to `keys` distinct keys (a hint: none of these must be sized).
    fn build(keys: Option<u64>) -> Self;
    /// Adds `key`; `false` if it was there.
    fn insert(&self, key: u64) -> bool;
    /// Removes `key`; `false` if it was not there.
    fn remove(&self, key: u64) -> bool;
    /// Whether `key` is there.
    fn contains(&self, key: u64) -> bool;
    /// Iterates over every key, as one reader (under one lock, one pin, or as the
    /// crate's iterator goes); the number of keys seen.
    fn walk(&self) -> u64;
}

/// A [`SharedSet`] as a registry set.
#[derive(Debug)]
pub struct SetBaseline<C>(C);

impl<C: SharedSet> ConcurrentSet for SetBaseline<C> {
    type Handle<'s>
        = SetBaselineHandle<'s, C>
    where
        Self: 's;

    /// Builds the set; refuses a scheme setting (a baseline has no knobs).
    fn new(config: &Config) -> Result<Self, BuildError> {
        let info = C::Backend::INFO;
        config.refuse_scheme_setting(info.structure, info.scheme)?;
        Ok(SetBaseline(C::build(config.keys)))
    }

    fn handle(&self) -> SetBaselineHandle<'_, C> {
        SetBaselineHandle(&self.0)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        None
    }
}

/// The handle of a [`SetBaseline`]: a reference to the set.
#[derive(Debug)]
pub struct SetBaselineHandle<'s, C>(&'s C);

impl<C: SharedSet> SetHandle for SetBaselineHandle<'_, C> {
    #[inline]
    fn insert(&mut self, key: u64) -> bool {
        self.0.insert(key)
    }

    #[inline]
    fn remove(&mut self, key: u64) -> bool {
        self.0.remove(key)
    }

    #[inline]
    fn contains(&mut self, key: u64) -> bool {
        self.0.contains(key)
    }

    fn walk(&mut self) -> Option<u64> {
        Some(self.0.walk())
    }
}

/// Capacity to reserve for `keys`, bounded so that a huge hint does not allocate at once.
fn reserve(keys: Option<u64>) -> usize {
    keys.map_or(0, |k| usize::try_from(k).unwrap_or(usize::MAX).min(1 << 20))
}

impl SharedSet for RwLock<BTreeSet<u64>> {
    type Backend = RwLockBTreeSet;

    fn build(_keys: Option<u64>) -> Self {
        RwLock::new(BTreeSet::new())
    }

    // A panic while the lock is held leaves a set that is whole either way (each
    // operation is one call into the set), so a poisoned lock is taken as is.
    fn insert(&self, key: u64) -> bool {
        self.write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key)
    }

    fn remove(&self, key: u64) -> bool {
        self.write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key)
    }

    fn contains(&self, key: u64) -> bool {
        self.read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&key)
    }

    /// Under the read lock throughout: writers wait for the whole walk.
    fn walk(&self) -> u64 {
        let keys = self.read().unwrap_or_else(PoisonError::into_inner);
        keys.iter().count() as u64
    }
}

impl SharedSet for Mutex<HashSet<u64>> {
    type Backend = MutexHashSet;

    fn build(keys: Option<u64>) -> Self {
        Mutex::new(HashSet::with_capacity(reserve(keys)))
    }

    fn insert(&self, key: u64) -> bool {
        self.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key)
    }

    fn remove(&self, key: u64) -> bool {
        self.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key)
    }

    fn contains(&self, key: u64) -> bool {
        self.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&key)
    }

    /// Under the lock throughout: every other operation waits for the whole walk.
    fn walk(&self) -> u64 {
        let keys = self.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter().count() as u64
    }
}

impl SharedSet for dashmap::DashSet<u64> {
    type Backend = DashSetBackend;

    fn build(keys: Option<u64>) -> Self {
        dashmap::DashSet::with_capacity(reserve(keys))
    }

    fn insert(&self, key: u64) -> bool {
        dashmap::DashSet::insert(self, key)
    }

    fn remove(&self, key: u64) -> bool {
        dashmap::DashSet::remove(self, &key).is_some()
    }

    fn contains(&self, key: u64) -> bool {
        dashmap::DashSet::contains(self, &key)
    }

    /// dashmap's iterator read-locks one shard at a time.
    fn walk(&self) -> u64 {
        self.iter().count() as u64
    }
}

/// crossbeam-skiplist's set as a map from each key to the token of the insert that added
/// it: `SkipSet::insert` replaces an equal key and does not say whether there was one,
/// and checking first would make two operations of one (another thread could insert in
/// between). `get_or_insert` keeps the entry that is there, so an insert added the key
/// exactly when the entry it gets back holds its own token. (`SkipSet` itself is the same
/// structure: a `SkipMap` with `()` values.)
#[derive(Debug)]
pub struct SkipSet(crossbeam_skiplist::SkipMap<u64, u64>);

/// Tokens no other insert uses: a per-thread block of 2^32 from a global counter, then
/// a per-thread count (no shared write per insert).
fn token() -> u64 {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};
    static BLOCKS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static NEXT: Cell<u64> = Cell::new(BLOCKS.fetch_add(1 << 32, Ordering::Relaxed));
    }
    NEXT.with(|next| {
        let token = next.get();
        next.set(token + 1);
        token
    })
}

impl SharedSet for SkipSet {
    type Backend = SkipSetBackend;

    fn build(_keys: Option<u64>) -> Self {
        SkipSet(crossbeam_skiplist::SkipMap::new())
    }

    fn insert(&self, key: u64) -> bool {
        let token = token();
        loop {
            let entry = self.0.get_or_insert(key, token);
            if *entry.value() == token {
                return true;
            }
            // `get_or_insert` may hand back an entry a remove has marked but not yet
            // unlinked: the key is gone then, and the insert must try again (seen by the
            // conformance suite as more successful removes than inserts). An entry not
            // removed when checked holds the key at that moment.
            if !entry.is_removed() {
                return false;
            }
        }
    }

    fn remove(&self, key: u64) -> bool {
        // Not `SkipMap::remove`: in 0.1.3 it returns the entry whether this call marked
        // it removed or another thread did, so two removes of one key can both report it
        // (the conformance suite saw more successful removes than inserts).
        // `Entry::remove` says whether this call removed it; an entry someone else removed
        // meanwhile may have been replaced by a new insert, hence the loop.
        loop {
            match self.0.get(&key) {
                None => return false,
                Some(entry) if entry.remove() => return true,
                Some(_) => {}
            }
        }
    }

    fn contains(&self, key: u64) -> bool {
        self.0.contains_key(&key)
    }

    /// crossbeam-skiplist's iterator pins for each step, not for the whole walk.
    fn walk(&self) -> u64 {
        self.0.iter().count() as u64
    }
}

impl SharedSet for papaya::HashSet<u64> {
    type Backend = PapayaBackend;

    fn build(keys: Option<u64>) -> Self {
        papaya::HashSet::with_capacity(reserve(keys))
    }

    fn insert(&self, key: u64) -> bool {
        self.pin().insert(key)
    }

    fn remove(&self, key: u64) -> bool {
        self.pin().remove(&key)
    }

    fn contains(&self, key: u64) -> bool {
        self.pin().contains(&key)
    }

    /// Under one pin throughout.
    fn walk(&self) -> u64 {
        self.pin().iter().count() as u64
    }
}

/// The registry's marker for a set baseline: its facts and the set it wraps.
macro_rules! set_baseline {
    ($(#[$doc:meta])* $marker:ident, $set:ty, $structure:literal, $scheme:literal, $ordered:literal, $summary:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $marker;

        impl SetBackend for $marker {
            const INFO: SetInfo = SetInfo {
                structure: $structure,
                scheme: $scheme,
                ordered: $ordered,
                summary: $summary,
                settings: "",
                knobs: &[],
            };
            type Set = SetBaseline<$set>;
        }
    };
}

set_baseline!(
    /// `RwLock<BTreeSet<u64>>`.
    RwLockBTreeSet, RwLock<BTreeSet<u64>>, "rwlock-btreeset", "lock", true,
    "std BTreeSet behind an RwLock: readers share it, writers take it whole"
);
set_baseline!(
    /// `Mutex<HashSet<u64>>`.
    MutexHashSet, Mutex<HashSet<u64>>, "mutex-hashset", "lock", false,
    "std HashSet behind one Mutex"
);
set_baseline!(
    /// dashmap's `DashSet<u64>`.
    DashSetBackend, dashmap::DashSet<u64>, "dashset", "lock", false,
    "dashmap DashSet: a hash table sharded over read-write locks"
);
set_baseline!(
    /// crossbeam-skiplist's skip list, through [`SkipSet`].
    SkipSetBackend, SkipSet, "skipset", "internal", true,
    "crossbeam-skiplist: a lock-free skip list on crossbeam-epoch"
);
set_baseline!(
    /// papaya's `HashSet<u64>`.
    PapayaBackend, papaya::HashSet<u64>, "papaya", "internal", false,
    "papaya HashSet: a lock-free hash table on seize"
);
