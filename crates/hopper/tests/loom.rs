//! loom models of the channel's own synchronization (`scripts/loom.sh`): the memory
//! queue (slot claims, block installs, the consumer passing a slot whose producer is
//! away, block recycling, a recycled block installed again under a producer still holding
//! its address, and the spare pool charged to the budget), the `spilled` flag,
//! the receiver's claim under the writer's lock, the sleep flag and its fences, the
//! sender count. Every interleaving (up to `LOOM_MAX_PREEMPTIONS`) must deliver each
//! sender's items in order, never strand one on disk, never lose a wake-up (loom reports
//! a deadlock) and say `Disconnected` only after the last item. Under loom the channel's
//! queue is always the list (its ring flavour is crossbeam's `ArrayQueue`, whose atomics
//! loom does not see). Under loom a queue block
//! has two slots and the consumer passes a claimed, unwritten slot at once, so these
//! small models install, cross, pass and recycle blocks. The sender's `SeqCst` half of
//! the wake-up handshake is checked here only with the fence loom needs in its place
//! (see `Shared::wake_after_push`). A model in which two threads spin-wait for a third
//! at the same time (a producer on a block install, the consumer on an empty queue)
//! runs into loom's bound of branches: loom also explores the schedules that run the two
//! spinners in turn for ever.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use reclaim_hopper::loom_queue::{Queue, block_bytes};
use reclaim_hopper::{Accounting, Builder, RecvError, slot_bytes};

/// Runs `f` under loom with at most `LOOM_MAX_PREEMPTIONS` preemptions (2 if unset):
/// every send and receive touches several atomics, a lock and the file system, so the
/// structures' bound of 3 makes these models take tens of minutes.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    // A receiver polling an empty queue takes many steps per execution (loom's default
    // allows 1,000): enough to finish, still a bound that catches a livelock.
    builder.max_branches = 20_000;
    builder.check(f);
}

/// Memory for one item: the second spills unless the receiver is quick, and the marker
/// announcing it competes with the next item for the same slot.
#[test]
fn items_spilled_and_queued_arrive_in_order_and_the_end_is_seen() {
    model(|| {
        let dir = tempfile::tempdir().unwrap();
        let (mut tx, mut rx) = Builder::<u64>::new()
            .memory_bytes(slot_bytes::<u64>())
            .accounting(Accounting::Shallow)
            .build("order", dir.path())
            .unwrap();
        let sender = thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
        });
        for i in 0..3 {
            assert_eq!(rx.recv().unwrap(), i);
        }
        assert!(matches!(rx.recv(), Err(RecvError::Disconnected)));
        sender.join().unwrap();
    });
}

/// Two senders through the disk only: the receiver must claim records written by either,
/// whichever order their appends and its claims take, and wake for each.
#[test]
fn two_senders_through_the_disk_are_both_delivered() {
    model(|| {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = Builder::<u64>::new()
            .memory_bytes(0)
            .build("claims", dir.path())
            .unwrap();
        let senders: Vec<_> = (0..2)
            .map(|s| {
                let mut tx = tx.clone();
                thread::spawn(move || tx.send(s).unwrap())
            })
            .collect();
        drop(tx);
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        assert!(matches!(rx.recv(), Err(RecvError::Disconnected)));
        for s in senders {
            s.join().unwrap();
        }
    });
}

/// Two producers and the consumer on the queue alone, one item each: the second claim
/// installs the next block. A slot claimed and not yet written is passed and its value
/// pushed again — and a producer whose slot was passed in a block the consumer has left
/// recycles that block itself. Emptied blocks go to the spare pool while the budget has
/// room and come back out for installs. Every value arrives once and the queue ends
/// empty.
#[test]
fn queue_values_arrive_once_across_an_install_and_passed_slots() {
    model(|| {
        let queue = Arc::new(Queue::<(usize, usize)>::new(
            2 * block_bytes::<(usize, usize)>(),
        ));
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.push((p, 0)))
            })
            .collect();
        let mut next = [0; 2];
        let mut received = 0;
        while received < 2 {
            // SAFETY: this thread is the only consumer.
            match unsafe { queue.pop() } {
                Some((p, i)) => {
                    assert_eq!(next[p], i, "producer {p}'s value twice");
                    next[p] += 1;
                    received += 1;
                }
                None => thread::yield_now(),
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        // SAFETY: as above.
        unsafe {
            assert!(queue.pop().is_none());
            assert!(queue.is_empty());
        }
    });
}

/// A producer short of budget frees spare blocks while the consumer recycles into the
/// pool: the reservation succeeds exactly when the bound has room once the spares are
/// gone, and the budget ends where the two left it.
#[test]
fn queue_spares_give_way_to_a_reservation() {
    model(|| {
        let block = block_bytes::<usize>();
        // Room for one spare (allocated up front) and nothing else.
        let queue = Arc::new(Queue::<usize>::new(block));
        let producer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                for i in 0..3 {
                    queue.push(i);
                }
                // The consumer's emptied blocks may be in the pool: they give way.
                assert!(queue.reserve(block));
                queue.release(block);
            })
        };
        let mut received = 0;
        while received < 3 {
            // SAFETY: this thread is the only consumer.
            match unsafe { queue.pop() } {
                Some(i) => {
                    assert_eq!(i, received);
                    received += 1;
                }
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
    });
}

/// One sender through the disk only, twice: the second spill finds `spilled` still set
/// (unless the receiver claimed in between) and does not wake the receiver — whoever set
/// the flag did. The receiver, parking in between or not, must get both, in order.
#[test]
fn a_spill_that_finds_the_channel_spilled_needs_no_wake() {
    model(|| {
        let dir = tempfile::tempdir().unwrap();
        let (mut tx, mut rx) = Builder::<u64>::new()
            .memory_bytes(0)
            .build("quiet", dir.path())
            .unwrap();
        let sender = thread::spawn(move || {
            tx.send(0).unwrap();
            tx.send(1).unwrap();
            // Still alive: the receiver cannot learn of the items from a disconnect.
            tx
        });
        assert_eq!(rx.recv().unwrap(), 0);
        assert_eq!(rx.recv().unwrap(), 1);
        drop(sender.join().unwrap());
        assert!(matches!(rx.recv(), Err(RecvError::Disconnected)));
    });
}

/// A producer racing the consumer, which pushes values of its own, for a block's last
/// slot and the next block's first: whichever claims the last slot installs the next
/// block, and a passed value (the installer's included) pushed again may claim the next
/// block's last slot and install a third block itself, or land in a block installed while
/// it was away. The block a passed slot was in is recycled by the consumer or by its
/// producer, whichever lets go last, and comes back out of the pool for a later install.
/// Every value arrives once, each thread's in its order.
///
/// Only one thread at a time waits for another here. With two producers of two values
/// each, a producer waiting on the sentinel and the consumer waiting for a value spin
/// together while loom schedules each of them in turn and never the installer they wait
/// for (a schedule no real scheduler keeps up): loom exceeded its bound of branches per
/// execution after 16 minutes.
#[test]
fn queue_passed_values_racing_installs_and_recycling_arrive_once_in_order() {
    model(|| {
        let queue = Arc::new(Queue::<(usize, usize)>::new(
            2 * block_bytes::<(usize, usize)>(),
        ));
        queue.push((0, 0));
        let producer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                queue.push((1, 0));
                queue.push((1, 1));
            })
        };
        let mut next = [0; 2];
        let mut take = |(p, i): (usize, usize)| {
            assert_eq!(next[p], i, "{p}'s values out of order or twice");
            next[p] += 1;
        };
        queue.push((0, 1));
        for _ in 0..2 {
            // SAFETY: this thread is the only consumer.
            if let Some(value) = unsafe { queue.pop() } {
                take(value);
            }
        }
        queue.push((0, 2));
        // SAFETY: as above.
        if let Some(value) = unsafe { queue.pop() } {
            take(value);
        }
        producer.join().unwrap();
        // SAFETY: as above.
        while let Some(value) = unsafe { queue.pop() } {
            take(value);
        }
        assert_eq!(next, [3, 2]);
        // SAFETY: as above.
        assert!(unsafe { queue.is_empty() });
    });
}

/// A block recycled and installed again while a producer still holds its address from
/// an earlier lap: with room for one spare, the first block goes back to the pool once
/// emptied and is the next install's. The slow producer's claim must fail on the moved
/// index, not land in the reinstalled block (loom would see its write race the
/// consumer's read, or a value arrive out of order or twice).
#[test]
fn queue_a_block_reinstalled_under_a_stale_producer_is_not_written_through_its_old_index() {
    model(|| {
        let queue = Arc::new(Queue::<(usize, usize)>::new(block_bytes::<(usize, usize)>()));
        let slow = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.push((1, 0)))
        };
        // Three laps of two slots each, pushed and taken on the consumer's own thread: the
        // first block is emptied and recycled before the third lap's install takes it.
        let mut next = [0; 2];
        let mut take = |(p, i): (usize, usize)| {
            assert_eq!(next[p], i, "producer {p}'s values out of order or twice");
            next[p] += 1;
        };
        for i in 0..5 {
            queue.push((0, i));
            // SAFETY: this thread is the only consumer.
            if let Some(value) = unsafe { queue.pop() } {
                take(value);
            }
        }
        slow.join().unwrap();
        // SAFETY: as above.
        while let Some(value) = unsafe { queue.pop() } {
            take(value);
        }
        assert_eq!(next, [5, 1]);
    });
}
