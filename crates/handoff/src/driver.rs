//! The run itself, written once for every strategy: a producer thread, a consumer thread
//! with a periodic callback, a bounded channel between them.
//!
//! A strategy only says how a [`Message`] is wrapped before it is sent ([`Produce`]) and
//! what the consumer does with a message it is done with ([`Release`]). Everything that is
//! measured — the callback's duration, the consumer's allocations and frees — is measured
//! here, the same way for all of them.
//!
//! # The consumer
//!
//! Every `callback_period` (deadlines on a fixed grid from the start, re-anchored if the
//! thread falls more than a period behind) the consumer runs one callback:
//!
//! 1. take every message waiting on the channel with `try_recv` (never blocking), keeping
//!    the newest and releasing the older ones unused;
//! 2. if one arrived, ready it for this thread ([`Release::adopt`]: only `sendrc` has
//!    anything to do), swap it in as the current message and release the old current one;
//! 3. "process" the current block (sum its samples), as a real callback would read it
//!    (through the message's wrapper: for `sendrc`, through its graph).
//!
//! The time from the start of step 1 to the end of step 3 is one histogram entry. The
//! consumer's allocation tally is taken just before its first callback and just after its
//! last: the window holds the callbacks and the sleeps between them, and nothing else runs
//! on that thread then, so what it counts is what the callbacks did. The same window marks
//! the thread for the message count (see the `message` module): a message destroyed in it
//! counts as destroyed on the consumer.
//!
//! # The producer
//!
//! Every `producer_interval` the producer builds a message and `try_send`s it. When the
//! channel is full (the consumer is far behind) the producer drops the new message itself
//! and counts it refused: it must never block on the consumer, and the consumer only
//! wants the newest message anyway. It sleeps on a stop channel, so the end of the run
//! wakes it at once.
//!
//! # Start and end
//!
//! Both threads set up first (histogram, epoch registration), then wait at a start gate
//! (a barrier that the run can abandon if the second thread cannot be started). The
//! consumer ends the run after its last callback: it releases its current message and
//! drops the stop channel; the producer then stops; the run joins both before the
//! strategy tears down what it owns (the sweep collector, the epoch collector).

use std::hint::black_box;
use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use hdrhistogram::Histogram;
use reclaim_alloc::{Tally, thread_tally};

use crate::config::{HandoffConfig, HandoffError};
use crate::message::{Message, Outstanding, set_in_callbacks};

/// Capacity of the producer-to-consumer channel (an array channel: its buffer is
/// allocated once, and neither `try_send` nor `try_recv` allocates). In the steady state it
/// holds zero or one message; the rest is headroom for a consumer that falls behind.
pub const QUEUE_CAPACITY: usize = 16;

/// The longest callback duration the histogram resolves (10 s); longer ones are recorded
/// as this value.
const MAX_RECORDED_NANOS: u64 = 10_000_000_000;

/// The producer's side of a strategy: what travels on the channel.
pub(crate) trait Produce: Send {
    /// A message as the strategy hands it over.
    type Item: Block + Send + 'static;

    /// Wraps a new message for sending.
    fn wrap(&mut self, message: Message) -> Self::Item;

    /// Runs before each new message (return-to-sender collects what came back here).
    fn before_message(&mut self) {}

    /// Runs once after the producer's last message.
    fn finish(&mut self) {}
}

/// What the callback reads: a message's block, through whatever holds it.
pub(crate) trait Block {
    /// What the callback computes from the block each period (the sum of its samples,
    /// or for `sendrc` its graph's output).
    fn process(&self) -> f32;
}

/// A message behind a pointer (`Box`, `Arc`, `Swept`, `Gc`): the sum of its samples.
impl<T: Deref<Target = Message>> Block for T {
    fn process(&self) -> f32 {
        self.samples().iter().sum()
    }
}

/// The consumer's side of a strategy: what happens to a message it is done with. This is
/// the only thing that differs between strategies on the consumer thread.
pub(crate) trait Release<T> {
    /// Gets rid of `old`, inline or not.
    fn release(&mut self, old: T);

    /// Readies `new`, which is about to become the current message, for use on this
    /// thread: `sendrc` unparks its graph here. Messages released unused are never
    /// adopted.
    fn adopt(&mut self, new: &mut T) {
        let _ = new;
    }
}

/// Drops the message inline: `box` and `arc` free it here; `sweep`'s drop only decrements.
#[derive(Debug)]
pub(crate) struct DropInline;

impl<T> Release<T> for DropInline {
    fn release(&mut self, old: T) {
        drop(old);
    }
}

/// What the two threads measured.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) callbacks: u64,
    pub(crate) swaps: u64,
    pub(crate) callback_nanos: Histogram<u64>,
    pub(crate) consumer: Tally,
    pub(crate) producer: Tally,
    pub(crate) messages_sent: u64,
    pub(crate) messages_refused: u64,
}

struct ConsumerOutcome {
    callbacks: u64,
    swaps: u64,
    histogram: Histogram<u64>,
    tally: Tally,
}

#[derive(Default)]
struct ProducerOutcome {
    sent: u64,
    refused: u64,
    tally: Tally,
}

/// Runs one handoff with the producer side `producer` and the consumer side built by
/// `make_release` on the consumer thread (so it may be `!Send`, like an epoch handle).
/// Returns once both threads have been joined.
pub(crate) fn drive<P, R, F>(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
    producer: P,
    make_release: F,
) -> Result<Measured, HandoffError>
where
    P: Produce,
    F: FnOnce() -> R + Send,
    R: Release<P::Item>,
{
    let histogram = Histogram::<u64>::new_with_bounds(1, MAX_RECORDED_NANOS, 3)
        .expect("constant histogram bounds are valid");
    let (tx, rx) = crossbeam_channel::bounded::<P::Item>(QUEUE_CAPACITY);
    // Never sent on: the consumer drops its end to stop the producer.
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let gate = Gate::new(2);

    thread::scope(|s| {
        let producer = thread::Builder::new()
            .name("handoff-producer".into())
            .spawn_scoped(s, || {
                run_producer(config, outstanding, producer, tx, stop_rx, &gate)
            })
            .map_err(|source| HandoffError::Spawn {
                thread: "producer",
                source,
            })?;
        let consumer = thread::Builder::new()
            .name("handoff-consumer".into())
            .spawn_scoped(s, || {
                let release = make_release();
                run_consumer(config, rx, release, histogram, stop_tx, &gate)
            });
        let consumer = match consumer {
            Ok(consumer) => consumer,
            Err(source) => {
                gate.abandon();
                let _ = producer.join();
                return Err(HandoffError::Spawn {
                    thread: "consumer",
                    source,
                });
            }
        };
        let consumed = consumer.join();
        let produced = producer.join();
        let consumed = consumed.map_err(|_| HandoffError::Panicked { thread: "consumer" })?;
        let produced = produced.map_err(|_| HandoffError::Panicked { thread: "producer" })?;
        let consumed = consumed.expect("the gate is only abandoned before the consumer starts");
        Ok(Measured {
            callbacks: consumed.callbacks,
            swaps: consumed.swaps,
            callback_nanos: consumed.histogram,
            consumer: consumed.tally,
            producer: produced.tally,
            messages_sent: produced.sent,
            messages_refused: produced.refused,
        })
    })
}

fn run_producer<P: Produce>(
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
    mut producer: P,
    tx: Sender<P::Item>,
    stop: Receiver<()>,
    gate: &Gate,
) -> ProducerOutcome {
    let mut outcome = ProducerOutcome::default();
    if !gate.wait() {
        return outcome;
    }
    let start = thread_tally();
    let mut seq = 0;
    let mut next = Instant::now();
    loop {
        producer.before_message();
        let message = Message::new(seq, config.samples_per_message, outstanding);
        seq += 1;
        match tx.try_send(producer.wrap(message)) {
            Ok(()) => outcome.sent += 1,
            Err(TrySendError::Full(refused)) => {
                outcome.refused += 1;
                drop(refused);
            }
            Err(TrySendError::Disconnected(_)) => break,
        }
        next = next_deadline(next, config.producer_interval);
        match stop.recv_deadline(next) {
            Err(RecvTimeoutError::Timeout) => {}
            // Disconnected: the consumer is done.
            _ => break,
        }
    }
    producer.finish();
    outcome.tally = thread_tally().since(start);
    outcome
}

/// `None` if the gate was abandoned (the producer never started).
fn run_consumer<T, R>(
    config: &HandoffConfig,
    rx: Receiver<T>,
    mut release: R,
    mut histogram: Histogram<u64>,
    stop: Sender<()>,
    gate: &Gate,
) -> Option<ConsumerOutcome>
where
    T: Block,
    R: Release<T>,
{
    let mut current: Option<T> = None;
    let mut swaps = 0;
    if !gate.wait() {
        return None;
    }
    set_in_callbacks(true);
    let start = thread_tally();
    let mut next = Instant::now();
    for _ in 0..config.callbacks {
        next = next_deadline(next, config.callback_period);
        sleep_until(next);
        let began = Instant::now();
        swaps += u64::from(callback(&rx, &mut current, &mut release));
        histogram.saturating_record(nanos(began.elapsed()));
    }
    let tally = thread_tally().since(start);
    set_in_callbacks(false);
    // Outside the measured window: the last message goes the way of the others (back to
    // the producer, which is still draining, for return-to-sender), then the producer is
    // told to stop.
    if let Some(last) = current.take() {
        release.release(last);
    }
    drop(release);
    drop(stop);
    Some(ConsumerOutcome {
        callbacks: config.callbacks,
        swaps,
        histogram,
        tally,
    })
}

/// One callback (see the module docs). Returns whether a new message was swapped in.
fn callback<T, R>(rx: &Receiver<T>, current: &mut Option<T>, release: &mut R) -> bool
where
    T: Block,
    R: Release<T>,
{
    let mut newest = None;
    while let Ok(item) = rx.try_recv() {
        if let Some(older) = newest.replace(item) {
            release.release(older);
        }
    }
    let swapped = newest.is_some();
    if let Some(mut newest) = newest {
        release.adopt(&mut newest);
        if let Some(old) = current.replace(newest) {
            release.release(old);
        }
    }
    if let Some(message) = current {
        black_box(message.process());
    }
    swapped
}

/// The deadline one `step` after `previous`, or now if that is more than a step in the
/// past (a thread that fell behind does not run a burst of catch-up iterations).
fn next_deadline(previous: Instant, step: Duration) -> Instant {
    let now = Instant::now();
    match previous.checked_add(step) {
        Some(next) if next.checked_add(step).is_some_and(|late| late >= now) => next,
        _ => now,
    }
}

fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        thread::sleep(deadline - now);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A start barrier for `parties` threads that the spawning thread can abandon, so that a
/// thread already started is not left waiting forever when the next one fails to start.
/// A mutex and a condition variable: no allocation once built.
struct Gate {
    state: Mutex<GateState>,
    opened: Condvar,
}

struct GateState {
    waiting: usize,
    parties: usize,
    open: bool,
    abandoned: bool,
}

impl Gate {
    fn new(parties: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState {
                waiting: 0,
                parties,
                open: false,
                abandoned: false,
            }),
            opened: Condvar::new(),
        }
    }

    /// Waits for every party; `false` if the gate was abandoned instead.
    fn wait(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting += 1;
        if state.waiting == state.parties {
            state.open = true;
            self.opened.notify_all();
        }
        let state = self
            .opened
            .wait_while(state, |s| !s.open && !s.abandoned)
            .unwrap_or_else(PoisonError::into_inner);
        !state.abandoned
    }

    fn abandon(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.abandoned = true;
        self.opened.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abandoned_gate_releases_its_waiter_with_false() {
        let gate = Gate::new(2);
        thread::scope(|s| {
            let waiter = s.spawn(|| gate.wait());
            gate.abandon();
            assert!(!waiter.join().unwrap());
        });
    }

    #[test]
    fn a_full_gate_opens_for_everyone() {
        let gate = Gate::new(3);
        thread::scope(|s| {
            let waiters: Vec<_> = (0..3).map(|_| s.spawn(|| gate.wait())).collect();
            for waiter in waiters {
                assert!(waiter.join().unwrap());
            }
        });
    }

    #[test]
    fn a_callback_keeps_the_newest_and_releases_the_rest() {
        struct Collect(Vec<u64>);
        impl Release<Box<Message>> for Collect {
            fn release(&mut self, old: Box<Message>) {
                self.0.push(old.seq());
            }
        }
        let outstanding = Arc::new(Outstanding::default());
        let (tx, rx) = crossbeam_channel::bounded(QUEUE_CAPACITY);
        let mut released = Collect(Vec::new());
        let mut current = None;

        assert!(!callback(&rx, &mut current, &mut released));
        for seq in 0..3 {
            tx.send(Box::new(Message::new(seq, 4, &outstanding)))
                .unwrap();
        }
        assert!(callback(&rx, &mut current, &mut released));
        assert_eq!(current.as_ref().map(|m| m.seq()), Some(2));
        assert_eq!(released.0, [0, 1]);

        tx.send(Box::new(Message::new(3, 4, &outstanding))).unwrap();
        assert!(callback(&rx, &mut current, &mut released));
        assert!(!callback(&rx, &mut current, &mut released));
        assert_eq!(current.as_ref().map(|m| m.seq()), Some(3));
        assert_eq!(released.0, [0, 1, 2]);
    }

    #[test]
    fn a_late_deadline_is_re_anchored_to_now() {
        let step = Duration::from_secs(1);
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(10))
            .expect("the clock is more than 10 s past its origin");
        let next = next_deadline(long_ago, step);
        assert!(next > long_ago + step, "it would have run a catch-up burst");
        let on_time = Instant::now();
        assert_eq!(next_deadline(on_time, step), on_time + step);
    }
}
