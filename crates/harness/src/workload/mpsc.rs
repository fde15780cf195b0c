//! `mpsc`: every thread but one pushes; one thread pops — the channel's use case (a
//! telemetry daemon's many senders and one writer), run over every backend so channels
//! and general-purpose structures compare on the pattern channels are built for.

use super::{Shape, ShapeError};

pub(super) const SUMMARY: &str = "all threads but one push into one consumer";

pub(super) fn shape(threads: usize) -> Result<Shape, ShapeError> {
    if threads < 2 {
        return Err(ShapeError::TooFewThreads {
            needs: 2,
            roles: "a producer and the consumer",
        });
    }
    Ok(Shape {
        producers: threads - 1,
        consumers: 1,
        ..Shape::default()
    })
}
