//! `pairs`: every thread pushes a value and then pops one, in a loop — the reference
//! book's exercise (Troutwine, ch. 6), which it ran at one thread per core over a Treiber
//! stack.
//!
//! Each thread keeps the structure non-empty for its own pop, so on a linearizable
//! structure every pop finds a value: the run measures the cost of the two operations and
//! of reclaiming one node per pair under contention on the same end of the structure.

use super::{Shape, ShapeError};

pub(super) const SUMMARY: &str = "each thread pushes then pops (the reference book's exercise)";

pub(super) fn shape(threads: usize) -> Result<Shape, ShapeError> {
    Ok(Shape {
        pairs: threads,
        ..Shape::default()
    })
}
