//! `dumpster-sync`: messages are `dumpster::sync::Gc<Message>` (the dumpster crate's
//! shared cycle-collecting pointer), dropped inline in the callback.
//!
//! A dumpster `Gc` is freed by its count when the count reaches zero, like an `Arc`; a
//! drop that leaves the count above zero marks the value as a possible cycle member in a
//! per-thread buffer, and a collection — started by some drop on whatever thread, when the
//! library's condition holds, or forced with `collect` — later frees what was unreachable.
//! So where a message's memory goes back to the allocator depends on how it died. That is
//! what this row shows: the consumer drops the replaced `Gc`, and the report counts the
//! messages destroyed on the consumer during its callbacks (`messages_freed_on_consumer`,
//! with the allocator's `consumer_frees` beside it) and those destroyed anywhere else.
//!
//! With dumpster 2.1 and a producer that keeps no reference, the consumer's drop is the
//! last one and frees the message there and then, as `arc` does; no message goes through
//! a collection. The collection condition is the process's (another part of the program
//! may have set it); the consumer's drops may start a collection, which then runs in the
//! callback too.
//!
//! After the threads are joined the run calls `dumpster::sync::collect`, so that anything
//! a collection still holds is freed before the run reports what is outstanding.

use std::sync::Arc;

use dumpster::sync::{Gc, collect};
use dumpster::{TraceWith, Visitor};

use crate::config::{HandoffConfig, HandoffError};
use crate::driver::{DropInline, Measured, Produce, drive};
use crate::message::{Message, Outstanding};

// SAFETY: a message holds no `Gc` (a sequence number, a boxed block of samples and an
// `Arc` of the run's count), so visiting nothing visits every `Gc` it holds.
unsafe impl<V: Visitor> TraceWith<V> for Message {
    fn accept(&self, _visitor: &mut V) -> Result<(), ()> {
        Ok(())
    }
}

/// Sends `Gc<Message>` and keeps no reference: the consumer's is the last.
#[derive(Debug)]
struct Collected;

impl Produce for Collected {
    type Item = Gc<Message>;

    fn wrap(&mut self, message: Message) -> Gc<Message> {
        Gc::new(message)
    }
}

pub(super) fn run(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
) -> Result<Measured, HandoffError> {
    let measured = drive(config, outstanding, Collected, || DropInline);
    collect();
    measured
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_message_is_freed_once_on_the_consumer_or_elsewhere() {
        let config = HandoffConfig {
            samples_per_message: 8,
            callback_period: Duration::from_micros(100),
            callbacks: if cfg!(miri) { 12 } else { 200 },
            producer_interval: Duration::from_micros(80),
        };
        let outstanding = Arc::new(Outstanding::default());
        let measured = run(&config, &outstanding).unwrap();
        assert!(measured.messages_sent > 0);
        assert_eq!(outstanding.live(), 0);
        assert_eq!(
            outstanding.destroyed_on_consumer() + outstanding.destroyed_elsewhere(),
            outstanding.made()
        );
    }
}
