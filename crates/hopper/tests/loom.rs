//! loom models of the channel's own synchronization (`scripts/loom.sh`): the `spilled`
//! flag, the receiver's claim under the writer's lock, the sleep flag and its fences, the
//! sender count. Every interleaving (up to `LOOM_MAX_PREEMPTIONS`) must deliver each
//! sender's items in order, never strand one on disk, never lose a wake-up (loom reports
//! a deadlock) and say `Disconnected` only after the last item.
#![cfg(loom)]

use loom::thread;
use reclaim_hopper::{Accounting, Builder, RecvError, slot_bytes};

/// Runs `f` under loom with at most `LOOM_MAX_PREEMPTIONS` preemptions (2 if unset):
/// every send and receive touches several atomics, a lock and the file system, so the
/// structures' bound of 3 makes these models take tens of minutes.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
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
