//! The channel over its ring-flavoured memory queue (shallow accounting, a bound of at
//! least a block's worth of slots): the ring fills, items spill, the markers announcing
//! them take ring slots, and the ring wraps many times — and every sender's items still
//! arrive once, in the order sent, with the end seen only after the last.

use reclaim_hopper::{Accounting, Builder, RecvError, slot_bytes};
use std::thread;
use std::time::{Duration, Instant};

const SENDERS: u64 = 4;

/// Sends `per_sender` items from each of [`SENDERS`] threads through a channel holding
/// `slots` items in memory; checks order, count and the end. With `spill`, the receiver
/// starts only once a segment file exists, so the ring has filled and items spilled
/// (their markers then take ring slots), whatever the scheduling.
fn round_trip(slots: usize, per_sender: u64, spill: bool) {
    let data = tempfile::tempdir().unwrap();
    let (tx, mut rx) = Builder::<(u64, u64)>::new()
        .memory_bytes(slots * slot_bytes::<(u64, u64)>())
        .accounting(Accounting::Shallow)
        .build("ring", data.path())
        .unwrap();
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let mut tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per_sender {
                    tx.send((s, i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    if spill {
        // A hang guard, generous for qemu on a loaded host.
        let deadline = Instant::now() + Duration::from_secs(60);
        let dir = data.path().join("ring");
        // The directory holds the lock file beside the segments.
        while std::fs::read_dir(&dir).unwrap().count() < 2 {
            assert!(Instant::now() < deadline, "nothing spilled within 60 s");
            thread::sleep(Duration::from_millis(1));
        }
    }
    let mut next = [0u64; SENDERS as usize];
    for _ in 0..SENDERS * per_sender {
        let (s, i) = rx.recv().unwrap();
        assert_eq!(i, next[s as usize], "sender {s}'s items out of order");
        next[s as usize] += 1;
    }
    assert!(matches!(rx.recv(), Err(RecvError::Disconnected)));
    assert_eq!(next, [per_sender; SENDERS as usize]);
    for s in senders {
        s.join().unwrap();
    }
}

#[test]
fn items_through_a_ring_that_wraps_and_spills_arrive_in_order() {
    // 64 slots, 40,000 items: the ring fills before the receiver starts, and wraps
    // hundreds of times while memory and disk are drained together.
    round_trip(64, 10_000, true);
}

#[test]
fn items_through_a_ring_that_keeps_up_arrive_in_order() {
    round_trip(4096, 50_000, false);
}
