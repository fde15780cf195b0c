//! `ebr`: the consumer defers the drop of the old `Box<Message>` with crossbeam-epoch.
//!
//! The run owns a local `crossbeam_epoch::Collector` (not the global default one, so runs
//! do not share garbage or epochs); the consumer registers a `LocalHandle` on its own
//! thread before the start gate and, for each message it releases, pins and hands the drop
//! to [`Guard::defer`](crossbeam_epoch::Guard::defer). That call is safe: the closure owns
//! the box (it is `Send + 'static`), no other thread can reach the message, so running it
//! later on any thread is sound.
//!
//! What this shows: deferring does not move frees off the consumer. Deferred drops are
//! kept in a per-handle bag of 64; a full bag is pushed to the collector's global queue
//! (a queue node: an allocation on the consumer), and every 128th pin the consumer itself
//! collects expired bags and runs their drops — frees in the callback, in bursts. Only
//! one thread is registered, so nothing else ever collects during the run; what is left is
//! freed when the run drops the collector, after the threads are joined.

use std::sync::Arc;

use crossbeam_epoch::{Collector, LocalHandle};

use crate::config::{HandoffConfig, HandoffError};
use crate::driver::{Measured, Release, drive};
use crate::message::{Message, Outstanding};
use crate::strategy::inline::Boxed;

/// The consumer's registration with the run's epoch collector.
struct Deferring(LocalHandle);

impl Release<Box<Message>> for Deferring {
    fn release(&mut self, old: Box<Message>) {
        // One pin per message released; in the steady state that is one per callback.
        let guard = self.0.pin();
        // The closure captures one pointer, so crossbeam stores it inline in the bag: no
        // allocation for the deferral itself.
        guard.defer(move || drop(old));
    }
}

pub(super) fn run(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
) -> Result<Measured, HandoffError> {
    let collector = Collector::new();
    let for_consumer = collector.clone();
    let measured = drive(config, outstanding, Boxed, move || {
        Deferring(for_consumer.register())
    });
    // The consumer's handle is gone (its bag went to the global queue); dropping the last
    // reference to the collector runs every drop still deferred, on this thread.
    drop(collector);
    measured
}
