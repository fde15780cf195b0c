//! `prodcons`: P producers and C consumers, half the threads each (producers get the odd
//! one out).
//!
//! Producers only push and consumers only pop, so nodes are allocated on one set of
//! threads and freed (or retired) on the other: the cross-thread pattern where
//! reclamation schemes differ most. Producers wait when `max_in_flight` values are queued,
//! so a slow consumer side shows up as lower throughput, not as a queue filling memory.

use super::{Shape, ShapeError};

pub(super) const SUMMARY: &str = "half the threads push, half pop (P producers, C consumers)";

pub(super) fn shape(threads: usize) -> Result<Shape, ShapeError> {
    if threads < 2 {
        return Err(ShapeError::TooFewThreads {
            needs: 2,
            roles: "a producer and a consumer",
        });
    }
    let consumers = threads / 2;
    Ok(Shape {
        producers: threads - consumers,
        consumers,
        ..Shape::default()
    })
}
