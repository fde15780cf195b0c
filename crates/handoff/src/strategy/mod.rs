//! The strategies: how a message the consumer is done with gets freed, and on which thread.
//!
//! Each strategy is a small module that picks a wrapper for the message ([`Produce`]) and
//! a way to release it on the consumer ([`Release`]), and owns whatever must outlive the
//! threads (a collector). The run itself is [`drive`](crate::driver::drive), shared by all.
//!
//! [`Produce`]: crate::driver::Produce
//! [`Release`]: crate::driver::Release

mod dumpster_sync;
mod ebr;
mod inline;
mod return_to_sender;
mod sendrc;
mod sweep;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::config::{HandoffConfig, HandoffError};
use crate::driver::Measured;
use crate::message::Outstanding;

/// How the consumer gets rid of the message it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// `Box<Message>`, dropped inline on the consumer: the baseline that frees in the
    /// callback.
    Box,
    /// `Arc<Message>` that the producer does not keep, dropped inline on the consumer: the
    /// last reference is the consumer's, so it frees in the callback too.
    Arc,
    /// `Swept<Message>` tracked by a sweep collector: the consumer's drop only decrements;
    /// the collector thread frees.
    Sweep,
    /// `Box<Message>` whose drop the consumer defers with crossbeam-epoch: frees run
    /// later, on whichever thread collects (the consumer itself, when it pins).
    Ebr,
    /// `Box<Message>` sent back to the producer over a second bounded channel; the
    /// producer drops it.
    ReturnToSender,
    /// A patch graph of `sendable::SendRc` nodes sharing one block, parked and sent
    /// whole, unparked on the consumer, parked again and sent back; the producer drops
    /// it. The park protocol's own bookkeeping allocates and frees on the consumer.
    SendRc,
    /// `dumpster::sync::Gc<Message>`, dropped inline on the consumer: counts where the
    /// collector's frees run (in the callback, or elsewhere).
    DumpsterSync,
}

impl Strategy {
    /// Every strategy, in a stable order.
    pub const ALL: [Strategy; 7] = [
        Strategy::Box,
        Strategy::Arc,
        Strategy::Sweep,
        Strategy::Ebr,
        Strategy::ReturnToSender,
        Strategy::SendRc,
        Strategy::DumpsterSync,
    ];

    /// The stable name a strategy is selected and reported by.
    pub const fn name(self) -> &'static str {
        match self {
            Strategy::Box => "box",
            Strategy::Arc => "arc",
            Strategy::Sweep => "sweep",
            Strategy::Ebr => "ebr",
            Strategy::ReturnToSender => "return-to-sender",
            Strategy::SendRc => "sendrc",
            Strategy::DumpsterSync => "dumpster-sync",
        }
    }

    /// Runs the scenario with this strategy; `config` is already validated.
    pub(crate) fn drive(
        self,
        config: &HandoffConfig,
        outstanding: &Arc<Outstanding>,
    ) -> Result<Measured, HandoffError> {
        match self {
            Strategy::Box => inline::run_box(config, outstanding),
            Strategy::Arc => inline::run_arc(config, outstanding),
            Strategy::Sweep => sweep::run(config, outstanding),
            Strategy::Ebr => ebr::run(config, outstanding),
            Strategy::ReturnToSender => return_to_sender::run(config, outstanding),
            Strategy::SendRc => sendrc::run(config, outstanding),
            Strategy::DumpsterSync => dumpster_sync::run(config, outstanding),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no strategy's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown handoff strategy {0:?} (expected one of: box, arc, sweep, ebr, return-to-sender, \
     sendrc, dumpster-sync)"
)]
pub struct UnknownStrategy(pub String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Strategy, UnknownStrategy> {
        Strategy::ALL
            .into_iter()
            .find(|strategy| strategy.name() == s)
            .ok_or_else(|| UnknownStrategy(s.to_owned()))
    }
}

/// Serialized as its name, the same string as [`Strategy::name`].
impl Serialize for Strategy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let names: Vec<_> = Strategy::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "box",
                "arc",
                "sweep",
                "ebr",
                "return-to-sender",
                "sendrc",
                "dumpster-sync"
            ]
        );
        for strategy in Strategy::ALL {
            assert_eq!(strategy.name().parse::<Strategy>(), Ok(strategy));
            assert_eq!(strategy.to_string(), strategy.name());
        }
        assert_eq!(
            "hazard".parse::<Strategy>(),
            Err(UnknownStrategy("hazard".into()))
        );
        let message = UnknownStrategy("hazard".into()).to_string();
        for strategy in Strategy::ALL {
            assert!(message.contains(strategy.name()), "{message}");
        }
    }
}
