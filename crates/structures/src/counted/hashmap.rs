//! Michael's hash set over counted references: the table of [`crate::hashmap`], sized and
//! hashed the same way, with a [counted Harris–Michael list](super::hmlist) in each bucket,
//! every bucket's nodes in one domain.
//!
//! An operation costs a hash, then a counted search of one short list: with about four
//! keys a bucket, a few counted hops, so where the list rows show what a count per hop
//! costs over a long traversal, these show it on the short ones a hash set makes.

use std::marker::PhantomData;

use reclaim_core::{BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetInfo};
use reclaim_smr::CountedScheme;
use reclaim_smr::counters::Participant;

use super::handle::{CountedSetHandle, CountedSetOps, counted_domain};
use super::hmlist::Bucket;
use crate::hashmap::Table;

/// A lock-free hash set of `u64` keys over counted scheme `C`.
pub struct CountedHmHashMap<C: CountedScheme> {
    table: Table<Bucket>,
    domain: C::Domain,
}

impl<C: CountedScheme> std::fmt::Debug for CountedHmHashMap<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountedHmHashMap")
            .field("scheme", &C::NAME)
            .field("buckets", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl<C: CountedScheme> CountedHmHashMap<C> {
    /// An empty set whose table suits `keys` distinct keys.
    pub fn with_keys(keys: u64) -> Self {
        CountedHmHashMap {
            table: Table::with_keys(keys),
            domain: C::new_domain(),
        }
    }

    /// Buckets in the table.
    pub fn buckets(&self) -> usize {
        self.table.len()
    }

    /// What the domain has retired and freed so far.
    pub fn stats(&self) -> ReclaimStats {
        C::stats(&self.domain)
    }
}

impl<C: CountedScheme> CountedSetOps for CountedHmHashMap<C> {
    type Scheme = C;

    fn domain(&self) -> &C::Domain {
        &self.domain
    }

    fn insert(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        let bucket = self.table.bucket(key);
        bucket.insert::<C>(&self.domain, key, participant, visited)
    }

    fn remove(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        let bucket = self.table.bucket(key);
        bucket.remove::<C>(&self.domain, key, participant, visited)
    }

    fn contains(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        let bucket = self.table.bucket(key);
        bucket.contains::<C>(&self.domain, key, participant, visited)
    }

    /// Every bucket in turn.
    fn walk(&self, participant: &Participant<'_>) -> u64 {
        self.table
            .iter()
            .map(|bucket| bucket.walk::<C>(&self.domain, participant))
            .sum()
    }

    /// Holds the first node of key 0's bucket while `wait` runs.
    fn stall(&self, wait: &mut dyn FnMut()) {
        self.table.bucket(0).stall::<C>(&self.domain, wait);
    }
}

impl<C: CountedScheme> ConcurrentSet for CountedHmHashMap<C> {
    type Handle<'s> = CountedSetHandle<'s, Self>;

    fn new(config: &Config) -> Result<Self, BuildError> {
        let table = Table::for_config(config)?;
        let backend = CountedMichaelHashMap::<C>::INFO.structure;
        Ok(CountedHmHashMap {
            table,
            domain: counted_domain::<C>(backend, config)?,
        })
    }

    fn handle(&self) -> Self::Handle<'_> {
        CountedSetHandle::new(self)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        Some(self.stats())
    }
}

impl<C: CountedScheme> Drop for CountedHmHashMap<C> {
    fn drop(&mut self) {
        // As for the counted list, bucket by bucket.
        let table = &self.table;
        C::teardown(&mut self.domain, || table.iter().for_each(Bucket::clear));
    }
}

/// The registry's marker for Michael's hash set over counted scheme `C`.
#[derive(Debug)]
pub struct CountedMichaelHashMap<C>(PhantomData<fn() -> C>);

impl<C: CountedScheme> SetBackend for CountedMichaelHashMap<C> {
    const INFO: SetInfo = SetInfo {
        structure: "hashmap",
        scheme: C::NAME,
        ordered: false,
        summary: crate::hashmap::SUMMARY,
        settings: C::SETTINGS,
        knobs: C::KNOBS,
    };
    type Set = CountedHmHashMap<C>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counted::hmlist::tests::{drops_every_node_once, serial};
    use crate::set_tests::{self, MIRI};
    use reclaim_conformance::wait_for;
    use reclaim_core::SetHandle;
    use reclaim_smr::{Rc, Sweep};

    #[test]
    fn the_table_is_the_pointer_family_s() {
        for keys in [1, 9, 17, 1_024] {
            let ours = CountedHmHashMap::<Rc>::with_keys(keys).buckets();
            let theirs = crate::HmHashMap::<reclaim_smr::Leak>::with_keys(keys).buckets();
            assert_eq!(ours, theirs, "{keys}");
        }
        assert!(CountedHmHashMap::<Rc>::new(&Config::default().with_keys(0)).is_err());
    }

    // The shared tests build each set for their own key range, so the tables are small
    // and keys share buckets.

    #[test]
    fn agrees_with_a_btreeset_rc() {
        drops_every_node_once(set_tests::agrees_with_a_btreeset::<CountedHmHashMap<Rc>>);
    }

    #[test]
    fn agrees_with_a_btreeset_sweep() {
        drops_every_node_once(set_tests::agrees_with_a_btreeset::<CountedHmHashMap<Sweep>>);
    }

    /// A search visits its key's bucket only, as in the pointer family's hash set.
    fn a_search_visits_one_bucket<C: CountedScheme>() {
        drops_every_node_once(|| {
            let keys = if MIRI { 40 } else { 1_000 };
            let map = CountedHmHashMap::<C>::with_keys(keys);
            let bucket = |key| std::ptr::from_ref(map.table.bucket(key)) as usize;
            set_tests::a_hash_set_visits_one_bucket(&map, keys, bucket);
            map
        });
    }

    #[test]
    fn a_search_visits_one_bucket_rc() {
        a_search_visits_one_bucket::<Rc>();
    }

    #[test]
    fn a_search_visits_one_bucket_sweep() {
        a_search_visits_one_bucket::<Sweep>();
    }

    #[test]
    fn overlapping_keys_add_up_rc() {
        drops_every_node_once(set_tests::overlapping_keys_add_up::<CountedHmHashMap<Rc>>);
    }

    #[test]
    fn overlapping_keys_add_up_sweep() {
        drops_every_node_once(set_tests::overlapping_keys_add_up::<CountedHmHashMap<Sweep>>);
    }

    /// Filled and emptied by three threads, every bucket is empty, marked nodes too.
    fn disjoint_ranges_fill_and_empty<C: CountedScheme>() {
        drops_every_node_once(|| {
            let map = set_tests::disjoint_ranges_fill_and_empty::<CountedHmHashMap<C>>();
            assert!(map.table.iter().all(Bucket::is_empty), "emptied");
            map
        });
    }

    #[test]
    fn disjoint_ranges_fill_and_empty_rc() {
        disjoint_ranges_fill_and_empty::<Rc>();
    }

    #[test]
    fn disjoint_ranges_fill_and_empty_sweep() {
        disjoint_ranges_fill_and_empty::<Sweep>();
    }

    /// The collector frees the removed nodes of every bucket while the set lives.
    #[test]
    fn the_sweep_collector_frees_removed_nodes() {
        let _serial = serial();
        let map = CountedHmHashMap::<Sweep>::with_keys(16);
        let mut h = map.handle();
        let n = if MIRI { 20 } else { 1_000 };
        for key in 0..n {
            assert!(h.insert(key));
        }
        for key in 0..n {
            assert!(h.remove(key));
        }
        assert_eq!(map.stats().retired, n);
        wait_for("the collector to free the removed nodes", || {
            map.stats().freed == n
        });
    }
}
