//! A lock-free hash set of `u64` keys (Michael 2002, §4): a fixed table of Harris–Michael
//! lists, one per bucket, sharing one reclamation domain.
//!
//! The table is sized once, for the key range the set is built for
//! ([`Config::keys`](reclaim_core::Config)): about four keys a bucket, a power of two
//! (100,000 keys, the default, give 32,768 buckets). It never grows, so an operation is a
//! hash, one bucket's short list, and the list's protocol; where schemes part ways here is
//! the per-operation cost (a pin, or two or three hazard pointers) rather than a long
//! traversal.

use std::marker::PhantomData;

use reclaim_core::{
    BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetHandle, SetInfo,
};
use reclaim_smr::{Local, Scheme};

use crate::handle::scheme_domain;
use crate::hmlist::{Bucket, SLOTS};

/// The key range a table is sized for when the configuration gives none.
pub const DEFAULT_KEYS: u64 = 100_000;

/// Keys a bucket holds on average when the set holds its whole key range.
const KEYS_PER_BUCKET: u64 = 4;

/// The fixed table of buckets both families' hash sets are made of: sized for a key
/// range, a key's bucket picked by hashing.
pub(crate) struct Table<B> {
    buckets: Box<[B]>,
    /// `64 - log2(buckets.len())`: a key's bucket is the top bits of its hash.
    shift: u32,
}

impl<B: Default> Table<B> {
    /// A table of empty buckets that suits `keys` distinct keys.
    pub(crate) fn with_keys(keys: u64) -> Self {
        // At least two buckets, so that the shift stays below 64.
        let buckets = (keys / KEYS_PER_BUCKET).max(2).next_power_of_two();
        Table {
            buckets: (0..buckets).map(|_| B::default()).collect(),
            shift: 64 - buckets.trailing_zeros(),
        }
    }

    /// The table for the key range `config` gives ([`DEFAULT_KEYS`] if none).
    ///
    /// # Errors
    /// A key range of 0 keys.
    pub(crate) fn for_config(config: &Config) -> Result<Self, BuildError> {
        match config.keys {
            Some(0) => Err(BuildError::InvalidConfig {
                backend: "hashmap",
                reason: "a key range of 0 keys: the set could hold nothing".into(),
            }),
            keys => Ok(Self::with_keys(keys.unwrap_or(DEFAULT_KEYS))),
        }
    }
}

impl<B> Table<B> {
    /// Buckets in the table.
    pub(crate) fn len(&self) -> usize {
        self.buckets.len()
    }

    /// The bucket of `key`: Fibonacci hashing, the top bits of a multiplication, which
    /// spreads consecutive keys over the whole table.
    pub(crate) fn bucket(&self, key: u64) -> &B {
        let hash = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        &self.buckets[(hash >> self.shift) as usize]
    }

    /// Every bucket, in table order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, B> {
        self.buckets.iter()
    }
}

/// A lock-free hash set of `u64` keys over reclamation scheme `S`.
pub struct HmHashMap<S: Scheme> {
    table: Table<Bucket>,
    domain: S::Domain,
}

// SAFETY: as for `HmList`: `u64` keys and owned nodes behind atomics and the scheme's
// protection; the domain is `Send + Sync` by the `Scheme` contract.
unsafe impl<S: Scheme> Send for HmHashMap<S> {}
// SAFETY: as above.
unsafe impl<S: Scheme> Sync for HmHashMap<S> {}

impl<S: Scheme> std::fmt::Debug for HmHashMap<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmHashMap")
            .field("scheme", &S::NAME)
            .field("buckets", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl<S: Scheme> HmHashMap<S> {
    /// An empty set whose table suits `keys` distinct keys.
    pub fn with_keys(keys: u64) -> Self {
        HmHashMap {
            table: Table::with_keys(keys),
            domain: S::new_domain(),
        }
    }

    /// Buckets in the table.
    pub fn buckets(&self) -> usize {
        self.table.len()
    }

    fn bucket(&self, key: u64) -> &Bucket {
        self.table.bucket(key)
    }

    /// What the domain has retired and freed so far.
    pub fn stats(&self) -> ReclaimStats {
        S::stats(&self.domain)
    }
}

impl<S: Scheme> ConcurrentSet for HmHashMap<S> {
    type Handle<'s> = HmHashMapHandle<'s, S>;

    fn new(config: &Config) -> Result<Self, BuildError> {
        let table = Table::for_config(config)?;
        let backend = MichaelHashMap::<S>::INFO.structure;
        Ok(HmHashMap {
            table,
            domain: scheme_domain::<S>(backend, config)?,
        })
    }

    fn handle(&self) -> HmHashMapHandle<'_, S> {
        HmHashMapHandle {
            map: self,
            local: S::register(&self.domain, SLOTS),
            visited: 0,
        }
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        Some(self.stats())
    }
}

/// One thread's access to an [`HmHashMap`].
pub struct HmHashMapHandle<'m, S: Scheme> {
    map: &'m HmHashMap<S>,
    local: S::Local<'m>,
    /// Nodes of its bucket the last operation's search passed ([`SetHandle::visited`]).
    visited: u64,
}

impl<S: Scheme> std::fmt::Debug for HmHashMapHandle<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmHashMapHandle").finish_non_exhaustive()
    }
}

// SAFETY (every call below): the guard is pinned in the map's own domain, the one every
// bucket's nodes are retired to, which the map owns and so outlives its nodes.
impl<S: Scheme> SetHandle for HmHashMapHandle<'_, S> {
    fn insert(&mut self, key: u64) -> bool {
        // SAFETY: see above.
        unsafe {
            self.map
                .bucket(key)
                .insert(&mut self.local.pin(), key, &mut self.visited)
        }
    }

    fn remove(&mut self, key: u64) -> bool {
        // SAFETY: see above.
        unsafe {
            self.map
                .bucket(key)
                .remove(&mut self.local.pin(), key, &mut self.visited)
        }
    }

    fn contains(&mut self, key: u64) -> bool {
        // SAFETY: see above.
        unsafe {
            self.map
                .bucket(key)
                .contains(&mut self.local.pin(), key, &mut self.visited)
        }
    }

    /// The nodes of its key's bucket the last operation passed.
    fn visited(&self) -> Option<u64> {
        Some(self.visited)
    }

    /// Every bucket in turn, under one guard.
    fn walk(&mut self) -> Option<u64> {
        let mut guard = self.local.pin();
        // SAFETY: see above.
        Some(
            self.map
                .table
                .iter()
                .map(|bucket| unsafe { bucket.walk(&mut guard) })
                .sum(),
        )
    }

    /// Enters an operation and holds the first node of key 0's bucket while `wait` runs.
    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        let mut guard = self.local.pin();
        self.map.bucket(0).hold_first(&mut guard);
        wait();
        true
    }
}

/// What `list` says of the hash set, in either family.
pub(crate) const SUMMARY: &str =
    "Michael's hash set: a fixed table of Harris–Michael lists, ~4 keys a bucket";

/// The registry's marker for Michael's hash set over scheme `S`.
#[derive(Debug)]
pub struct MichaelHashMap<S>(PhantomData<fn() -> S>);

impl<S: Scheme> SetBackend for MichaelHashMap<S> {
    const INFO: SetInfo = SetInfo {
        structure: "hashmap",
        scheme: S::NAME,
        ordered: false,
        summary: SUMMARY,
        settings: S::SETTINGS,
        knobs: S::KNOBS,
    };
    type Set = HmHashMap<S>;
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use reclaim_smr::Hp;
    use std::ptr;

    #[test]
    fn the_table_has_about_four_keys_a_bucket_in_a_power_of_two() {
        for (keys, buckets) in [(1_024, 256), (1, 2), (9, 2), (17, 4)] {
            let map = HmHashMap::<Hp>::with_keys(keys);
            assert_eq!(map.buckets(), buckets, "{keys}");
        }
        assert!(HmHashMap::<Hp>::new(&Config::default().with_keys(0)).is_err());
    }

    /// The default table (slow to build and drop under Miri; the test above covers the
    /// sizing there).
    #[test]
    #[cfg_attr(miri, ignore)]
    fn the_default_table_suits_100_000_keys() {
        let default = HmHashMap::<Hp>::new(&Config::default()).unwrap();
        assert_eq!(default.buckets(), 32_768);
    }

    /// A search visits its key's bucket only: with the table full (about four keys a
    /// bucket), a few nodes, where a list of the same 1,000 keys would average 500.
    #[test]
    fn a_search_visits_one_bucket() {
        let keys = if cfg!(miri) { 40 } else { 1_000 };
        let map = HmHashMap::<Hp>::with_keys(keys);
        let bucket = |key| ptr::from_ref(map.table.bucket(key)) as usize;
        crate::set_tests::a_hash_set_visits_one_bucket(&map, keys, bucket);
    }

    /// Consecutive keys land in many buckets, and a key always in the same one.
    #[test]
    fn keys_spread_over_the_table() {
        let map = HmHashMap::<Hp>::with_keys(1_024);
        let used: std::collections::HashSet<*const Bucket> =
            (0..1_024).map(|k| map.bucket(k) as *const Bucket).collect();
        assert!(
            used.len() > 200,
            "1,024 keys in {} of 256 buckets",
            used.len()
        );
        assert!(std::ptr::eq(map.bucket(77), map.bucket(77)));
    }
}
