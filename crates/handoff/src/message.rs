//! The message the producer hands over, and the count of messages still alive.
//!
//! "Outstanding" is the memory cost of a strategy: a message is outstanding from its
//! construction until its destructor runs, wherever that happens — inline on the
//! consumer, on the sweep collector, two epochs later, or back on the producer. A scheme
//! that defers frees keeps more messages outstanding; the peak says how many. The count
//! belongs to one run (not a global), so runs in parallel do not mix.
//!
//! The same count says where each message was destroyed: on the consumer during its
//! callbacks, or anywhere else (the producer, a collector, the run's teardown). The driver
//! marks the consumer's measured window with a thread-local flag; a message's `Drop`
//! reads it. Whoever runs a message's destructor also frees its blocks right after (its
//! samples inside the destructor, the wrapper around it next), so this is where the
//! message's memory went back to the allocator, counted per message rather than per block.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Messages of one run alive now, and the most alive at once. Readable from any thread
/// while the run goes on: the harness samples it as the scenario's garbage over time.
#[derive(Debug, Default)]
pub struct Outstanding {
    live: AtomicU64,
    peak: AtomicU64,
    made: AtomicU64,
    destroyed_on_consumer: AtomicU64,
    destroyed_elsewhere: AtomicU64,
}

thread_local! {
    /// Set on the consumer thread for its measured window (its callbacks). `const`, no
    /// destructor: reading it never allocates.
    static IN_CALLBACKS: Cell<bool> = const { Cell::new(false) };
}

/// Marks (or unmarks) the calling thread as the consumer inside its measured window.
pub(crate) fn set_in_callbacks(on: bool) {
    IN_CALLBACKS.with(|flag| flag.set(on));
}

impl Outstanding {
    /// Messages alive now.
    pub fn live(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// The most messages alive at once so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Messages built so far (sent, refused, or built as the run ended).
    pub fn made(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }

    /// Messages destroyed on the consumer thread during its callbacks.
    pub fn destroyed_on_consumer(&self) -> u64 {
        self.destroyed_on_consumer.load(Ordering::Relaxed)
    }

    /// Messages destroyed anywhere else: another thread, or the consumer outside its
    /// callbacks (its last message, released after the measured window).
    pub fn destroyed_elsewhere(&self) -> u64 {
        self.destroyed_elsewhere.load(Ordering::Relaxed)
    }
}

/// One block of samples, as a producer thread would hand it to a real-time callback.
///
/// Two allocations: the block and the handle the strategy wraps it in (a `Box`, an `Arc`,
/// a `Swept`), so dropping one frees two blocks.
pub struct Message {
    seq: u64,
    samples: Box<[f32]>,
    /// Counted in the constructor, released in `Drop`. Cloning the `Arc` is an atomic
    /// increment, and the run keeps its own reference, so dropping a message never frees
    /// this.
    outstanding: Arc<Outstanding>,
}

impl Message {
    /// A message numbered `seq` with a ramp of `samples` values, counted in `outstanding`.
    pub(crate) fn new(seq: u64, samples: usize, outstanding: &Arc<Outstanding>) -> Message {
        outstanding.made.fetch_add(1, Ordering::Relaxed);
        let now = outstanding.live.fetch_add(1, Ordering::Relaxed) + 1;
        if now > outstanding.peak.load(Ordering::Relaxed) {
            outstanding.peak.fetch_max(now, Ordering::Relaxed);
        }
        let base = seq as f32;
        Message {
            seq,
            // An exact-size iterator: one allocation of exactly `samples` values.
            samples: (0..samples).map(|i| base + i as f32 / 1024.0).collect(),
            outstanding: Arc::clone(outstanding),
        }
    }

    /// The producer's sequence number (0 for the first message of a run).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The block.
    pub fn samples(&self) -> &[f32] {
        &self.samples
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        let place = if IN_CALLBACKS.with(Cell::get) {
            &self.outstanding.destroyed_on_consumer
        } else {
            &self.outstanding.destroyed_elsewhere
        };
        place.fetch_add(1, Ordering::Relaxed);
        self.outstanding.live.fetch_sub(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("seq", &self.seq)
            .field("samples", &self.samples.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outstanding_counts_construction_and_drop_with_a_peak() {
        let outstanding = Arc::new(Outstanding::default());
        let a = Message::new(0, 4, &outstanding);
        let b = Message::new(1, 4, &outstanding);
        assert_eq!((outstanding.live(), outstanding.peak()), (2, 2));
        drop(a);
        let c = Message::new(2, 4, &outstanding);
        assert_eq!((outstanding.live(), outstanding.peak()), (2, 2));
        drop((b, c));
        assert_eq!((outstanding.live(), outstanding.peak()), (0, 2));
        assert_eq!(outstanding.made(), 3);
    }

    #[test]
    fn a_drop_is_counted_where_it_ran() {
        let outstanding = Arc::new(Outstanding::default());
        let a = Message::new(0, 4, &outstanding);
        let b = Message::new(1, 4, &outstanding);
        set_in_callbacks(true);
        drop(a);
        set_in_callbacks(false);
        drop(b);
        assert_eq!(outstanding.destroyed_on_consumer(), 1);
        assert_eq!(outstanding.destroyed_elsewhere(), 1);
        // Another thread's flag is its own.
        set_in_callbacks(true);
        let c = Message::new(2, 4, &outstanding);
        std::thread::spawn(move || drop(c)).join().unwrap();
        set_in_callbacks(false);
        assert_eq!(outstanding.destroyed_elsewhere(), 2);
    }

    #[test]
    fn a_message_holds_its_block() {
        let outstanding = Arc::new(Outstanding::default());
        let m = Message::new(3, 64, &outstanding);
        assert_eq!(m.seq(), 3);
        assert_eq!(m.samples().len(), 64);
        assert_eq!(m.samples()[0], 3.0);
    }
}
