//! `box` and `arc`: the consumer drops the old message inline, so its callback runs the
//! destructor and the allocator's free path. The baselines the other strategies are
//! measured against.

use std::sync::Arc;

use crate::config::{HandoffConfig, HandoffError};
use crate::driver::{DropInline, Measured, Produce, drive};
use crate::message::{Message, Outstanding};

/// Sends `Box<Message>` (also what `ebr` sends).
#[derive(Debug)]
pub(super) struct Boxed;

impl Produce for Boxed {
    type Item = Box<Message>;

    fn wrap(&mut self, message: Message) -> Box<Message> {
        Box::new(message)
    }
}

/// Sends `Arc<Message>` and keeps no reference: the consumer's is the last.
#[derive(Debug)]
struct Arced;

impl Produce for Arced {
    type Item = Arc<Message>;

    fn wrap(&mut self, message: Message) -> Arc<Message> {
        Arc::new(message)
    }
}

pub(super) fn run_box(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
) -> Result<Measured, HandoffError> {
    drive(config, outstanding, Boxed, || DropInline)
}

pub(super) fn run_arc(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
) -> Result<Measured, HandoffError> {
    drive(config, outstanding, Arced, || DropInline)
}
