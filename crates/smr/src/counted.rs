//! Counted-reference schemes: the links of a structure own reference counts, and an
//! object is reclaimed when its last reference is dropped — not through a `retire` call.
//! That is why they sit beside [`Scheme`](crate::Scheme) rather than under it.
//!
//! Structures written against [`CountedScheme`] keep their nodes in `Arc`s and load shared
//! links with a protected load (arc-swap), so holding a loaded node is holding a count:
//! the node cannot be freed under the reader, and its address cannot come back (no ABA).
//! The two schemes differ in where the last drop lands:
//!
//! - [`Rc`](crate::Rc): on whichever thread drops the last reference, inline;
//! - [`Sweep`](crate::Sweep): never on a worker: a collector thread holds one more
//!   reference to every node and frees those only it still holds.
//!
//! Counting: a node is *retired* when the operation that unlinked it counts it
//! ([`Participant::note_retired`](crate::counters::Participant::note_retired)) and
//! *freed* when its memory goes; the structure's node type calls
//! [`counters::note_freed`](crate::counters::note_freed) from its `Drop` for retired nodes,
//! in the shard of whichever thread frees it (a worker's operation or the structure's
//! teardown for `rc`, the collector thread for `sweep`).

use std::sync::Arc;

use reclaim_core::{Knob, SchemeSetting};

use crate::ReclaimStats;
use crate::counters::Counters;

/// A counted-reference reclamation scheme.
pub trait CountedScheme: 'static {
    /// The name users select the scheme by: `"rc"`, `"sweep"`.
    const NAME: &'static str;

    /// One line on how the scheme reclaims, for listings.
    const SUMMARY: &'static str;

    /// The scheme's tuning in words, for result files.
    const SETTINGS: &'static str;

    /// Per-structure state (counters; the collector for `sweep`).
    type Domain: Send + Sync;

    /// The tuning knobs a domain can be built with, as [`Scheme::KNOBS`](crate::Scheme::KNOBS);
    /// none by default.
    const KNOBS: &'static [Knob] = &[];

    /// A fresh domain.
    fn new_domain() -> Self::Domain;

    /// A fresh domain with one of [`KNOBS`](CountedScheme::KNOBS) set, or at its defaults
    /// for `None`, as [`Scheme::new_domain_with`](crate::Scheme::new_domain_with).
    ///
    /// # Errors
    /// The key is none of the scheme's knobs, or the value is out of range; the default
    /// refuses every setting.
    fn new_domain_with(setting: Option<&SchemeSetting>) -> Result<Self::Domain, String> {
        match setting {
            None => Ok(Self::new_domain()),
            Some(setting) => Err(crate::unapplied(Self::NAME, Self::KNOBS, setting)),
        }
    }

    /// The domain's retire/free counters.
    fn counters(domain: &Self::Domain) -> &Counters;

    /// Called with every node once it is linked, while the caller still holds its own
    /// reference, so no other thread can drop the node's last count before the scheme has
    /// one (`sweep` hands the collector a clone). After linking rather than before, so the
    /// collector's list follows the order of the chain: a node tracked before the one in
    /// front of it cannot be freed when that one is, and the collector has to retry it.
    fn track<N: Send + Sync + 'static>(domain: &Self::Domain, node: &Arc<N>);

    /// Called at the end of an operation that dropped references it held (`sweep` sets
    /// the collector's dirty hint — after the drops, as its protocol requires).
    fn released(domain: &Self::Domain);

    /// Runs the structure's teardown, `free`: counting its frees in the domain's teardown
    /// shard when frees happen on the thread that drops the structure (`rc`), as is when
    /// they do not (`sweep`).
    fn teardown<R>(domain: &mut Self::Domain, free: impl FnOnce() -> R) -> R;

    /// What the domain has retired and freed so far.
    fn stats(domain: &Self::Domain) -> ReclaimStats {
        Self::counters(domain).stats()
    }
}
