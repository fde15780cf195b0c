//! `oversubscription`: more threads than cores, up to twice as many.
//!
//! With more runnable threads than cores, the scheduler preempts threads in the middle of
//! operations: a preempted lock holder stalls every other thread, a preempted pinned
//! thread delays epoch advance, a preempted hazard-pointer reader costs nothing extra.
//! Lock-free structures are meant to shine here; the run shows whether they do.
//!
//! The threads do `pairs` on backends that allow many consumers and `mpsc` on the others.

use reclaim_core::Info;

use super::{Shape, ShapeError};

pub(super) const SUMMARY: &str =
    "more threads than cores, up to twice as many (pairs; mpsc on one-consumer backends)";

pub(super) fn shape(info: &Info, threads: usize, cores: usize) -> Result<Shape, ShapeError> {
    if threads <= cores {
        return Err(ShapeError::NotOversubscribed { threads, cores });
    }
    if info.consumers.allows(threads) {
        super::pairs::shape(threads)
    } else {
        super::mpsc::shape(threads)
    }
}

/// The requested counts above `cores`, or `2 × cores` when there are none.
pub(super) fn thread_counts(requested: &[usize], cores: usize) -> Vec<usize> {
    let above: Vec<usize> = requested.iter().copied().filter(|&t| t > cores).collect();
    if above.is_empty() {
        vec![2 * cores]
    } else {
        above
    }
}
