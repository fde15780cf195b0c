//! Model checks of the structures' own synchronization with loom: every interleaving of a
//! few threads (up to loom's preemption bound), under the `leak` scheme so that the only
//! synchronization explored is the structures' (the schemes are covered by Miri).
//!
//! Loom also checks the values: they sit in loom `UnsafeCell`s, so a pop that could read a
//! value not yet published by its push's Release is reported as a race.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release -p reclaim-structures --test loom`
//! (`LOOM_MAX_PREEMPTIONS` bounds the search; `scripts/loom.sh` sets it).
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use reclaim_core::{ConcurrentSet, Config, Container, Handle, SetHandle};
use reclaim_smr::Leak;
use reclaim_structures::{HarrisList, HmList, MsQueue, SkipList, TreiberStack};

fn build<C: Container<u32>>() -> Arc<C> {
    Arc::new(C::new(&Config::default()).expect("lock-free structures always build"))
}

/// Two threads each push one value and pop one; whatever they popped plus what is left
/// is exactly what was pushed.
fn pairs_lose_nothing<C: Container<u32> + 'static>() {
    loom::model(|| {
        let structure = build::<C>();
        let workers: Vec<_> = [1, 2]
            .into_iter()
            .map(|value| {
                let structure = Arc::clone(&structure);
                thread::spawn(move || {
                    let mut handle = structure.handle();
                    assert_eq!(handle.push(value), Ok(()));
                    handle.pop()
                })
            })
            .collect();
        let mut seen: Vec<u32> = workers
            .into_iter()
            .filter_map(|w| w.join().unwrap())
            .collect();
        let mut handle = structure.handle();
        while let Some(left) = handle.pop() {
            seen.push(left);
        }
        seen.sort_unstable();
        assert_eq!(seen, [1, 2]);
    });
}

#[test]
fn treiber_pairs_lose_nothing() {
    pairs_lose_nothing::<TreiberStack<u32, Leak>>();
}

#[test]
fn msqueue_pairs_lose_nothing() {
    pairs_lose_nothing::<MsQueue<u32, Leak>>();
}

/// One producer pushes 1 then 2 while a consumer pops twice: the consumer never sees 2
/// before 1, and nothing is lost or duplicated.
#[test]
fn msqueue_keeps_fifo_order_against_a_concurrent_consumer() {
    loom::model(|| {
        let queue = build::<MsQueue<u32, Leak>>();
        let producer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                let mut handle = queue.handle();
                assert_eq!(handle.push(1), Ok(()));
                assert_eq!(handle.push(2), Ok(()));
            })
        };
        let consumer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                let mut handle = queue.handle();
                [handle.pop(), handle.pop()]
            })
        };
        producer.join().unwrap();
        let popped = consumer.join().unwrap();
        let mut handle = queue.handle();
        let mut all: Vec<u32> = popped.iter().flatten().copied().collect();
        match popped {
            [Some(first), Some(second)] => assert!(first < second, "popped {popped:?}"),
            [None, Some(_)] | [Some(_), None] | [None, None] => {}
        }
        while let Some(left) = handle.pop() {
            all.push(left);
        }
        assert_eq!(all, [1, 2], "FIFO order overall");
    });
}

/// Two consumers race for the one value behind a dummy whose tail may lag (the enqueue
/// can be preempted between linking and swinging the tail): exactly one gets it.
#[test]
fn msqueue_one_value_goes_to_exactly_one_consumer() {
    loom::model(|| {
        let queue = build::<MsQueue<u32, Leak>>();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || queue.handle().pop())
            })
            .collect();
        queue.handle().push(7).unwrap();
        let got: Vec<u32> = consumers
            .into_iter()
            .filter_map(|c| c.join().unwrap())
            .collect();
        let left = queue.handle().pop();
        let mut all = got.clone();
        all.extend(left);
        assert_eq!(all, [7], "consumers got {got:?}, left {left:?}");
    });
}

/// A list's one hard case (for both Harris's and Michael's): a key inserted right after a
/// node that is being removed. With {1, 3} in the list, one thread removes 1 while another inserts 2
/// (linking it from 1's `next`): 2 must not be lost with 1, and each reports success.
#[test]
fn hmlist_keeps_a_key_inserted_next_to_one_being_removed() {
    inserted_next_to_one_being_removed::<HmList<Leak>>();
}

#[test]
fn harris_keeps_a_key_inserted_next_to_one_being_removed() {
    inserted_next_to_one_being_removed::<HarrisList<Leak>>();
}

/// The skip list's levels are such lists: here 1 and 3 have two-level towers and 2
/// goes in with one level or two (each handle draws its own heights), so the insert
/// links next to 1 on level 0, and maybe on level 1, while 1 is being unlinked from both.
#[test]
fn skiplist_keeps_a_key_inserted_next_to_one_being_removed() {
    inserted_next_to_one_being_removed::<SkipList<Leak>>();
}

fn inserted_next_to_one_being_removed<L: ConcurrentSet + 'static>() {
    loom::model(|| {
        let list = Arc::new(L::new(&Config::default()).unwrap());
        {
            let mut handle = list.handle();
            assert!(handle.insert(1) && handle.insert(3));
        }
        let remover = {
            let list = Arc::clone(&list);
            thread::spawn(move || list.handle().remove(1))
        };
        let inserter = {
            let list = Arc::clone(&list);
            thread::spawn(move || list.handle().insert(2))
        };
        assert!(remover.join().unwrap(), "1 was there to remove");
        assert!(inserter.join().unwrap(), "2 was not there");
        let mut handle = list.handle();
        assert_eq!(
            [1, 2, 3].map(|key| handle.contains(key)),
            [false, true, true]
        );
    });
}

/// Two threads remove the same key: exactly one succeeds, and the key is gone.
#[test]
fn hmlist_removes_a_key_once() {
    removes_a_key_once::<HmList<Leak>>();
}

#[test]
fn harris_removes_a_key_once() {
    removes_a_key_once::<HarrisList<Leak>>();
}

#[test]
fn skiplist_removes_a_key_once() {
    removes_a_key_once::<SkipList<Leak>>();
}

fn removes_a_key_once<L: ConcurrentSet + 'static>() {
    loom::model(|| {
        let list = Arc::new(L::new(&Config::default()).unwrap());
        assert!(list.handle().insert(5));
        let removers: Vec<_> = (0..2)
            .map(|_| {
                let list = Arc::clone(&list);
                thread::spawn(move || list.handle().remove(5))
            })
            .collect();
        let succeeded = removers
            .into_iter()
            .map(|r| r.join().unwrap())
            .filter(|&removed| removed)
            .count();
        assert_eq!(succeeded, 1);
        assert!(!list.handle().contains(5));
        let retired = list.reclamation().map(|stats| stats.retired);
        assert_eq!(retired, Some(1), "retired once");
    });
}

/// The skip list's own hard case: a tower still going up while its key is removed. One
/// thread inserts 5 with a two-level tower (the first height both handles draw), the
/// other removes 5: the remove may mark the upper level before the insert links it
/// there, or after, or find nothing yet. Whatever the order, the key is absent exactly
/// when the remove succeeded, and the node is retired exactly then — so once both are
/// done it is linked on no level, however late its upper level was linked.
#[test]
fn skiplist_retires_a_tower_removed_while_it_goes_up() {
    loom::model(|| {
        let set = Arc::new(SkipList::<Leak>::new(&Config::default()).unwrap());
        let inserter = {
            let set = Arc::clone(&set);
            thread::spawn(move || set.handle().insert(5))
        };
        let remover = {
            let set = Arc::clone(&set);
            thread::spawn(move || set.handle().remove(5))
        };
        assert!(inserter.join().unwrap(), "5 was not there");
        let removed = remover.join().unwrap();
        // Before any other search, which would unlink what the two left linked.
        let retired = set.reclamation().map(|stats| stats.retired);
        assert_eq!(
            retired,
            Some(u64::from(removed)),
            "retired once, when removed"
        );
        assert_eq!(set.handle().contains(5), !removed);
    });
}
