//! `sweep`: messages are `Swept<Message>` from a `reclaim_smr` sweep collector owned by the
//! run. The collector holds a reference to every message from the moment it is wrapped
//! (on the producer, before it is sent), so the consumer's drop is never the last: it
//! decrements the count and sets the collector's dirty hint, and the collector thread
//! frees the message at its next pass. The consumer frees nothing.
//!
//! The collector is shut down after both threads are joined — every message is dropped by
//! then (the channel with its contents goes with its last endpoint) — so its final pass
//! frees them all on the collector thread, and none is leaked.

use std::sync::Arc;

use reclaim_smr::sweep::{Collector, SweepConfig, Swept, Tracker};

use crate::config::{HandoffConfig, HandoffError};
use crate::driver::{DropInline, Measured, Produce, drive};
use crate::message::{Message, Outstanding};

/// Wraps each message in a `Swept` tracked by the run's collector.
#[derive(Debug)]
struct Tracked(Tracker);

impl Produce for Tracked {
    type Item = Swept<Message>;

    fn wrap(&mut self, message: Message) -> Swept<Message> {
        self.0.wrap(message)
    }
}

pub(super) fn run(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
) -> Result<Measured, HandoffError> {
    // `Collector::new` panics if the operating system refuses its thread: the one start
    // failure of a run that is not a `HandoffError::Spawn`.
    let collector = Collector::new(SweepConfig::default());
    let measured = drive(config, outstanding, Tracked(collector.tracker()), || {
        DropInline
    });
    collector.shutdown();
    measured
}
