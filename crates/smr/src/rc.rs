//! `rc`: lock-free reference counting, sound.
//!
//! The naive reference-counted list keeps the count inside the node and increments it
//! after loading the pointer: between the load and the increment the node can be freed,
//! and the increment writes into freed memory. The structures over `rc` avoid that with a
//! protected load (arc-swap's `load_full`/`compare_and_swap`): a loader first records the
//! pointer in a thread-local "debt" slot, and a writer that replaces the pointer pays
//! every outstanding debt (increments the count on the reader's behalf) before it may drop
//! its own reference. So a loaded pointer is always backed by a count, and the last
//! reference — wherever it is dropped — frees the node, inline.
//!
//! Costs: every load and every drop of a node touches its shared count (a contended
//! read-modify-write under load), writers walk the debt slots, and a thread holding an old
//! node keeps every node after it alive (the `next` links own counts), so a stalled reader
//! retains a growing suffix of popped nodes.

use std::sync::Arc;

use crate::counted::CountedScheme;
use crate::counters::Counters;

/// Reference counting with arc-swap protected loads; the last holder frees, inline.
#[derive(Debug)]
pub enum Rc {}

/// An `rc` structure's counters.
#[derive(Debug, Default)]
pub struct RcDomain {
    counters: Counters,
}

impl CountedScheme for Rc {
    const NAME: &'static str = "rc";
    const SUMMARY: &'static str =
        "reference counting (arc-swap protected loads): the last holder frees, inline";
    const SETTINGS: &'static str = "arc-swap 1 default strategy (thread-local debt slots)";
    type Domain = RcDomain;

    fn new_domain() -> RcDomain {
        RcDomain::default()
    }

    fn counters(domain: &RcDomain) -> &Counters {
        &domain.counters
    }

    fn track<N: Send + Sync + 'static>(_: &RcDomain, _: &Arc<N>) {}

    fn released(_: &RcDomain) {}

    fn teardown<R>(domain: &mut RcDomain, free: impl FnOnce() -> R) -> R {
        domain.counters.teardown(free)
    }
}
