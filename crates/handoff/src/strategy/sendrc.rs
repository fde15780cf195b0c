//! `sendrc`: each message is a small patch graph of `sendable::SendRc` nodes, moved whole
//! between threads with the crate's park protocol, and sent back to the producer (as
//! `return-to-sender` does) to be dropped there.
//!
//! # The graph
//!
//! Four nodes, five pointers: a mixer whose two inputs are gain stages, and both gain
//! stages read one shared source node, which holds the [`Message`] (its block of samples).
//! The source is reached by two parents, so its `SendRc` count is 2: the case `Rc` exists
//! for, and the case sendable's protocol checks. The callback evaluates the graph (the
//! mixer sums both gains, each reading the shared block), so the graph is used, not just
//! carried.
//!
//! # The protocol
//!
//! `SendRc` is `Rc` pinned to a thread and checked at run time. To move a graph, its
//! owner parks every pointer of it with one `PreSend` (walking the graph through the
//! references `park` returns: the links live in `RefCell`s so that a parked node's
//! children can be parked in turn), then calls `ready`, which panics unless every pointer
//! to every parked value was parked, and gives a `Send` token, `PostSend`. The graph and
//! its token travel together; `unpark` on the receiving thread pins the graph there. Any
//! use of a pointer that skipped this — a deref, clone or drop on the wrong thread, or
//! while parked — panics. Here:
//!
//! - the producer builds a graph, parks it and sends it with its token;
//! - the consumer unparks only the message it swaps in (one it releases unused goes back
//!   still parked, with its own token);
//! - the consumer parks the message it replaces and sends it back over a preallocated
//!   bounded channel (sized as in `return-to-sender`);
//! - the producer drops what comes back; dropping a parcel that still holds its token
//!   unparks it first, on the dropping thread, so a graph left in a channel at the end of
//!   the run is freed wherever the channel goes.
//!
//! A panic from a violated protocol is a panic of that thread, which the run reports as
//! [`HandoffError::Panicked`]; `SendRc`'s drop does not panic again while its thread is
//! already unwinding, so it never aborts the process (it leaks that graph instead).
//!
//! # What it costs the consumer
//!
//! The message's blocks (four nodes and the samples) are freed on the producer. The
//! protocol's own bookkeeping is not free: `PreSend` records parked pointers in a
//! `HashMap`, `ready` counts them in another and returns the token as a `HashSet`, and
//! `unpark` consumes (frees) that set. Unparking the new graph and parking the old one
//! therefore allocate and free a few small blocks on the consumer at every swap; the
//! report's `consumer_frees` counts them, and `messages_freed_on_consumer` stays 0.

use std::cell::RefCell;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use sendable::SendRc;
use sendable::send_rc::{PostSend, PreSend};

use crate::config::{HandoffConfig, HandoffError};
use crate::driver::{Block, Measured, Produce, Release, drive};
use crate::message::{Message, Outstanding};
use crate::strategy::return_to_sender::RETURN_CAPACITY;

/// The gains of the two stages between the source and the mixer.
const GAINS: [f32; 2] = [0.5, 0.25];

/// One node of a patch graph. Links sit in `RefCell`s: parking goes through a shared
/// reference to the parked node, and needs the child pointer mutably.
enum Node {
    /// The block of samples.
    Source(Message),
    /// Scales its input.
    Gain {
        gain: f32,
        input: RefCell<SendRc<Node>>,
    },
    /// Sums its inputs.
    Mix { inputs: [RefCell<SendRc<Node>>; 2] },
}

impl Node {
    /// The node's output: for the source, the sum of its samples.
    fn evaluate(&self) -> f32 {
        match self {
            Node::Source(message) => message.samples().iter().sum(),
            Node::Gain { gain, input } => gain * input.borrow().evaluate(),
            Node::Mix { inputs } => inputs.iter().map(|i| i.borrow().evaluate()).sum(),
        }
    }
}

/// Parks `node` and every pointer reachable from it with `pre_send`.
fn park_all(pre_send: &PreSend<Node>, node: &mut SendRc<Node>) {
    match pre_send.park(node) {
        Node::Source(_) => {}
        Node::Gain { input, .. } => park_all(pre_send, &mut input.borrow_mut()),
        Node::Mix { inputs } => {
            for input in inputs {
                park_all(pre_send, &mut input.borrow_mut());
            }
        }
    }
}

/// A patch graph, as it travels and as the consumer holds it.
struct Parcel {
    /// The mixer: the one pointer into the graph from outside it.
    out: SendRc<Node>,
    /// While the graph is parked, the token that pins it to the thread that unparks it.
    token: Option<PostSend<Node>>,
}

impl Parcel {
    /// Builds the graph around `message` on this thread and parks it for sending.
    fn build(message: Message) -> Parcel {
        let source = SendRc::new(Node::Source(message));
        let [left, right] = GAINS.map(|gain| {
            SendRc::new(Node::Gain {
                gain,
                input: RefCell::new(SendRc::clone(&source)),
            })
        });
        drop(source);
        let mut parcel = Parcel {
            out: SendRc::new(Node::Mix {
                inputs: [RefCell::new(left), RefCell::new(right)],
            }),
            token: None,
        };
        parcel.park();
        parcel
    }

    /// Parks the whole graph; `ready` panics if a pointer to one of its nodes was missed.
    fn park(&mut self) {
        debug_assert!(self.token.is_none(), "parked twice");
        let pre_send = SendRc::pre_send();
        park_all(&pre_send, &mut self.out);
        self.token = Some(pre_send.ready());
    }

    /// Pins the graph to this thread, if it is parked.
    fn unpark(&mut self) {
        if let Some(token) = self.token.take() {
            token.unpark();
        }
    }
}

impl Block for Parcel {
    fn process(&self) -> f32 {
        self.out.evaluate()
    }
}

/// A graph still parked is unparked here first, so that it is dropped on the thread that
/// owns it: this one.
impl Drop for Parcel {
    fn drop(&mut self) {
        self.unpark();
    }
}

/// Builds graphs, and drops the ones that come back.
struct Builds {
    returned: Receiver<Parcel>,
}

impl Builds {
    fn drain(&mut self) {
        while let Ok(parcel) = self.returned.try_recv() {
            drop(parcel);
        }
    }
}

impl Produce for Builds {
    type Item = Parcel;

    fn wrap(&mut self, message: Message) -> Parcel {
        Parcel::build(message)
    }

    fn before_message(&mut self) {
        self.drain();
    }

    fn finish(&mut self) {
        self.drain();
    }
}

/// The consumer's end of the return channel.
struct SendsBack(Sender<Parcel>);

impl Release<Parcel> for SendsBack {
    fn adopt(&mut self, new: &mut Parcel) {
        new.unpark();
    }

    fn release(&mut self, mut old: Parcel) {
        // A graph released unused is still parked; one the consumer used is parked now.
        if old.token.is_none() {
            old.park();
        }
        if let Err(failed) = self.0.try_send(old) {
            // Unreachable while the producer runs (see `return-to-sender`).
            drop(failed.into_inner());
        }
    }
}

pub(super) fn run(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
) -> Result<Measured, HandoffError> {
    let (back, returned) = crossbeam_channel::bounded(RETURN_CAPACITY);
    drive(config, outstanding, Builds { returned }, move || {
        SendsBack(back)
    })
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Duration;

    use super::*;

    fn small() -> HandoffConfig {
        HandoffConfig {
            samples_per_message: 8,
            callback_period: Duration::from_micros(100),
            callbacks: if cfg!(miri) { 12 } else { 200 },
            producer_interval: Duration::from_micros(80),
        }
    }

    #[test]
    fn a_parked_graph_crosses_threads_and_reads_its_shared_block() {
        let outstanding = Arc::new(Outstanding::default());
        let parcel = Parcel::build(Message::new(2, 4, &outstanding));
        let (value, parcel) = thread::spawn(move || {
            let mut parcel = parcel;
            parcel.unpark();
            let value = parcel.process();
            parcel.park();
            (value, parcel)
        })
        .join()
        .unwrap();
        // Samples 2 + i/1024 for i in 0..4, through both gains.
        let block = 8.0 + 6.0 / 1024.0;
        assert_eq!(value, block * (GAINS[0] + GAINS[1]));
        assert_eq!(outstanding.live(), 1);
        drop(parcel);
        assert_eq!(outstanding.live(), 0);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "the graph the panic strands is leaked, which Miri reports"
    )]
    #[should_panic(expected = "accessed from wrong thread")]
    fn a_graph_used_without_unparking_panics() {
        let outstanding = Arc::new(Outstanding::default());
        let mut parcel = Parcel::build(Message::new(0, 4, &outstanding));
        // Drop the token without unparking: the graph stays pinned to no thread.
        drop(parcel.token.take());
        let _ = parcel.process();
    }

    /// Runs `drive` with `make` until the consumer has swapped in two messages (the second
    /// replaces the first inside the measured window); a starved producer (Miri's
    /// scheduler, a loaded machine) gets a run twice as long, up to 64 times the first.
    fn run_until_two_swaps<R: Release<Parcel>>(
        outstanding: &Arc<Outstanding>,
        make: impl Fn(Sender<Parcel>) -> R + Sync,
    ) -> Measured {
        let mut config = small();
        loop {
            let (back, returned) = crossbeam_channel::bounded(RETURN_CAPACITY);
            let measured = drive(&config, outstanding, Builds { returned }, || make(back)).unwrap();
            if measured.swaps >= 2 {
                return measured;
            }
            assert!(config.callbacks < 64 * small().callbacks, "{measured:?}");
            config.callbacks *= 2;
        }
    }

    #[test]
    fn the_consumer_frees_no_message_and_every_message_is_freed() {
        let outstanding = Arc::new(Outstanding::default());
        run_until_two_swaps(&outstanding, SendsBack);
        assert_eq!(outstanding.live(), 0);
        assert_eq!(outstanding.destroyed_on_consumer(), 0);
        assert_eq!(outstanding.destroyed_elsewhere(), outstanding.made());
    }

    /// The same run with a consumer that drops the graphs it is done with itself (legal:
    /// it unparked them, they are pinned to it): the count sees those frees.
    #[test]
    fn a_consumer_that_drops_the_graph_is_seen_freeing() {
        struct DropsHere;
        impl Release<Parcel> for DropsHere {
            fn adopt(&mut self, new: &mut Parcel) {
                new.unpark();
            }
            fn release(&mut self, old: Parcel) {
                drop(old);
            }
        }
        let outstanding = Arc::new(Outstanding::default());
        run_until_two_swaps(&outstanding, |_| DropsHere);
        assert!(outstanding.destroyed_on_consumer() > 0);
        assert_eq!(outstanding.live(), 0);
    }

    /// A consumer that breaks the protocol — it sends the graph back without parking it —
    /// makes the producer's drop panic: the run reports an error, it does not abort.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "the graph the panic strands is leaked, which Miri reports"
    )]
    fn a_broken_protocol_is_an_error_of_the_run() {
        struct SendsBackUnparked(Sender<Parcel>);
        impl Release<Parcel> for SendsBackUnparked {
            fn adopt(&mut self, new: &mut Parcel) {
                new.unpark();
            }
            fn release(&mut self, old: Parcel) {
                if let Err(failed) = self.0.try_send(old) {
                    drop(failed.into_inner());
                }
            }
        }
        let outstanding = Arc::new(Outstanding::default());
        let mut config = small();
        config.callbacks = 2_000;
        let (back, returned) = crossbeam_channel::bounded(RETURN_CAPACITY);
        let error = drive(&config, &outstanding, Builds { returned }, move || {
            SendsBackUnparked(back)
        })
        .unwrap_err();
        assert!(
            matches!(error, HandoffError::Panicked { thread: "producer" }),
            "{error:?}"
        );
    }
}
