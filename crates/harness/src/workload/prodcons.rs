//! `prodcons`: P producers and C consumers, half the threads each (producers get the odd
//! one out).
//!
//! Producers only push and consumers only pop, so nodes are allocated on one set of
//! threads and freed (or retired) on the other: the cross-thread pattern where
//! reclamation schemes differ most. Producers wait when `max_in_flight` values are queued,
//! so a slow consumer side shows up as lower throughput, not as a queue filling memory.

use super::Shape;

pub(super) const SUMMARY: &str = "half the threads push, half pop (P producers, C consumers)";

pub(super) fn shape(threads: usize) -> Result<Shape, String> {
    if threads < 2 {
        return Err("needs at least 2 threads (a producer and a consumer)".into());
    }
    let consumers = threads / 2;
    Ok(Shape {
        producers: threads - consumers,
        consumers,
        ..Shape::default()
    })
}
