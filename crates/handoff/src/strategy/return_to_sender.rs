//! `return-to-sender`: the consumer sends the old `Box<Message>` back to the producer over
//! a second bounded array channel, and the producer drops it before building its next
//! message. Sending on an array channel does not allocate, so the callback neither
//! allocates nor frees; the cost is a second channel and a producer that must keep
//! draining it.
//!
//! The return channel never fills. A message the producer no longer holds is in the
//! forward channel (at most `QUEUE_CAPACITY`), on the consumer (at most 3 during a
//! callback: the current one, the newest and an older one being released) or on its way
//! back. The producer empties the return channel before every message, so right after
//! that at most `QUEUE_CAPACITY + 3` messages exist outside it, and until its next drain
//! it adds one: at most `QUEUE_CAPACITY + 4` can ever be on their way back. The capacity
//! is twice that. Should a return still fail (the producer has stopped, at the very end),
//! the consumer drops the message itself.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::config::{HandoffConfig, HandoffError};
use crate::driver::{Measured, Produce, QUEUE_CAPACITY, Release, drive};
use crate::message::{Message, Outstanding};

/// Capacity of the channel back to the producer (see the module docs); `sendrc` sends
/// its graphs back the same way.
pub(super) const RETURN_CAPACITY: usize = 2 * (QUEUE_CAPACITY + 4);

/// Sends `Box<Message>` and drops what comes back.
#[derive(Debug)]
struct TakesBack {
    returned: Receiver<Box<Message>>,
}

impl TakesBack {
    fn drain(&mut self) {
        while let Ok(message) = self.returned.try_recv() {
            drop(message);
        }
    }
}

impl Produce for TakesBack {
    type Item = Box<Message>;

    fn wrap(&mut self, message: Message) -> Box<Message> {
        Box::new(message)
    }

    fn before_message(&mut self) {
        self.drain();
    }

    fn finish(&mut self) {
        self.drain();
    }
}

/// The consumer's end of the return channel.
#[derive(Debug)]
struct ReturnToSender(Sender<Box<Message>>);

impl Release<Box<Message>> for ReturnToSender {
    fn release(&mut self, old: Box<Message>) {
        if let Err(failed) = self.0.try_send(old) {
            // Unreachable while the producer runs (see the module docs).
            drop(failed.into_inner());
        }
    }
}

pub(super) fn run(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
) -> Result<Measured, HandoffError> {
    let (back, returned) = crossbeam_channel::bounded(RETURN_CAPACITY);
    drive(config, outstanding, TakesBack { returned }, move || {
        ReturnToSender(back)
    })
}
