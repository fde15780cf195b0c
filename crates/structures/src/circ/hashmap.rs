//! Michael's hash set over circ: the table of [`crate::hashmap`], sized and hashed the same
//! way, with a [circ Harris–Michael list](super::hmlist) in each bucket, every bucket's
//! nodes counted in one domain.

use std::marker::PhantomData;

use reclaim_core::{BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetInfo};
use reclaim_smr::counters::Participant;

use super::domain::{self, CircDomain};
use super::handle::{CircSetHandle, CircSetOps};
use super::hmlist::Bucket;
use crate::hashmap::Table;

/// A lock-free hash set of `u64` keys over circ.
pub struct CircHmHashMap {
    pub(super) table: Table<Bucket>,
    domain: CircDomain,
}

impl std::fmt::Debug for CircHmHashMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircHmHashMap")
            .field("scheme", &domain::NAME)
            .field("buckets", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl CircHmHashMap {
    /// An empty set whose table suits `keys` distinct keys.
    pub fn with_keys(keys: u64) -> Self {
        CircHmHashMap {
            table: Table::with_keys(keys),
            domain: CircDomain::default(),
        }
    }

    /// Buckets in the table.
    pub fn buckets(&self) -> usize {
        self.table.len()
    }
}

impl CircSetOps for CircHmHashMap {
    fn domain(&self) -> &CircDomain {
        &self.domain
    }

    fn insert(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        let bucket = self.table.bucket(key);
        bucket.insert(key, &self.domain, participant, visited)
    }

    fn remove(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        let bucket = self.table.bucket(key);
        bucket.remove(key, &self.domain, participant, visited)
    }

    fn contains(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        let bucket = self.table.bucket(key);
        bucket.contains(key, &self.domain, participant, visited)
    }

    /// Every bucket in turn, each in a critical section of its own.
    fn walk(&self, participant: &Participant<'_>) -> u64 {
        self.table
            .iter()
            .map(|bucket| bucket.walk(&self.domain, participant))
            .sum()
    }

    /// Holds the first node of key 0's bucket while `wait` runs.
    fn stall(&self, wait: &mut dyn FnMut()) {
        self.table.bucket(0).stall(wait);
    }
}

impl ConcurrentSet for CircHmHashMap {
    type Handle<'s> = CircSetHandle<'s, Self>;

    fn new(config: &Config) -> Result<Self, BuildError> {
        let info = CircMichaelHashMap::INFO;
        config.refuse_scheme_setting(info.structure, info.scheme)?;
        Ok(CircHmHashMap {
            table: Table::for_config(config)?,
            domain: CircDomain::default(),
        })
    }

    fn handle(&self) -> Self::Handle<'_> {
        CircSetHandle::new(self)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        Some(self.domain.stats())
    }
}

/// The registry's marker for Michael's hash set over circ.
#[derive(Debug)]
pub struct CircMichaelHashMap(PhantomData<()>);

impl SetBackend for CircMichaelHashMap {
    const INFO: SetInfo = SetInfo {
        structure: "hashmap",
        scheme: domain::NAME,
        ordered: false,
        summary: crate::hashmap::SUMMARY,
        settings: domain::SETTINGS,
        knobs: &[],
    };
    type Set = CircHmHashMap;
}
