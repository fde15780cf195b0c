//! `stalled`: one thread enters an operation and stays there for the whole run — pinned
//! in its epoch, its hazard pointer on the front node, or a counted reference to it —
//! while the other threads push and pop in pairs.
//!
//! This is the failure mode that separates the schemes (Hart, McKenney et al., 2007): a
//! descheduled reader under epochs stops *all* reclamation, so garbage grows for as long
//! as it sleeps; under hazard pointers it keeps only the node it protects; under counted
//! references it keeps that node and everything reachable from it (on a queue, every node
//! enqueued after it). The result is the memory and garbage series, not the throughput.
//!
//! The stalled thread pushes a few values before the run so that the structure has a
//! front node to hold.

use super::{Shape, ShapeError};

pub(super) const SUMMARY: &str =
    "one thread stays inside an operation for the whole run while the others push and pop";

/// Values the stalled thread pushes before the start, so there is a front node to hold.
pub(crate) const PREFILL: u64 = 64;

pub(super) fn shape(threads: usize) -> Result<Shape, ShapeError> {
    if threads < 2 {
        return Err(ShapeError::TooFewThreads {
            needs: 2,
            roles: "the stalled one and one that churns",
        });
    }
    Ok(Shape {
        pairs: threads - 1,
        stalled: 1,
        ..Shape::default()
    })
}
