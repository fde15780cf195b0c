//! The structure family of the `circ` scheme: concurrent immediate reference counting
//! with the [circ](https://docs.rs/circ) crate (Jung, Kim, Parkinson and Kang, PLDI 2024).
//! The same algorithms as the other families — the [Treiber stack](CircTreiberStack), the
//! [Michael–Scott queue](CircMsQueue), and the sets: the [Harris–Michael list](CircHmList)
//! and [Michael's hash set](CircHmHashMap) of such lists — written once more, because
//! circ's pointers are its own: nodes live in `circ::Rc`s with the count inside the
//! allocation, links are `AtomicRc`s, and a thread reads through uncounted `Snapshot`s
//! that circ's epoch-based reclamation (EBR) keeps valid while the thread is inside a
//! critical section (`cs()`).
//!
//! A node whose count reaches zero is not destroyed at once: circ defers it through EBR,
//! then destroys it and, along the edges its [`RcObject`](circ::RcObject) names (here the
//! `next` link), every successor it held the last count of, in one go, as soon as their
//! link epochs show no reader can still hold a `Snapshot` of them (*immediate recursive
//! destruction*). So unlike `rc` a reader takes no count to walk, and unlike `ebr` a long
//! chain of garbage goes in one collection rather than one epoch per node.
//!
//! # Counting, and the one global collector
//!
//! circ has a single EBR collector for the whole process; a structure cannot own one, as
//! its `ebr` and `seize` rows do. A retired node may therefore be destroyed on any thread
//! that collects — a worker of this structure, of another structure, or the thread
//! dropping a structure — so its free cannot be counted in the shard of whichever thread
//! is current ([`note_freed`](reclaim_smr::counters::note_freed) would count it in the
//! wrong structure, or as stray). Instead:
//!
//! - *retired* is counted by the operation that unlinked the node, in its thread's shard
//!   of the structure's [`Counters`](reclaim_smr::counters::Counters), as everywhere;
//! - the same operation hands the node a pointer to the structure's *tally* (one atomic
//!   counter, [`CircDomain`]), and the node's drop adds one to it: *freed*, whatever
//!   thread it runs on. One atomic add per free, off the operations' path (it runs where
//!   circ collects).
//!
//! At teardown the structure drops what it still links, and its domain then drives circ's
//! collector (critical sections that flush this thread's garbage and collect) until every
//! retired node is freed, so that the tally can go with the structure. Garbage parked in
//! the local bag of a thread that is still alive elsewhere cannot be reached from here;
//! if the tally is not complete after a bounded number of rounds it is leaked (a few bytes)
//! rather than freed under the nodes that will still count into it. Values are never left
//! to the collector: a pop takes its value out of the node, and teardown takes the values
//! of the nodes still linked, so every value is dropped by the time the structure is.

mod domain;
mod handle;
mod hashmap;
mod hmlist;
mod msqueue;
mod node;
mod treiber;

// Not on 32-bit targets, where circ 0.2 crashes (see the registry's `CIRC_ON_32_BIT`).
#[cfg(all(test, target_pointer_width = "64"))]
mod tests;

pub use domain::CircDomain;
pub use handle::{CircHandle, CircOps, CircSetHandle, CircSetOps};
pub use hashmap::{CircHmHashMap, CircMichaelHashMap};
pub use hmlist::{CircHarrisMichael, CircHmList};
pub use msqueue::{CircMichaelScott, CircMsQueue};
pub use treiber::{CircTreiber, CircTreiberStack};
