//! The pool of spare blocks: emptied blocks kept for the queue's next installs, so that a
//! queue in use does not go back to the allocator (and, for fresh memory, to the kernel's
//! page faults) every `BLOCK_SLOTS` items.
//!
//! Every spare is charged to the memory budget, so the pool can keep as many as the bound
//! has room for without the channel ever holding more than its bound: a sender that finds
//! the budget short frees spares first ([`Spares::evict`]), and only when none is left is
//! the channel really full. A spare taken for an install gives its charge back, because
//! the values that fill it are charged instead. So spares cost the senders nothing and the
//! bound nothing, and the queue can be given its blocks up front ([`Spares::preallocate`])
//! instead of faulting them in while items flow.
//!
//! The list is threaded through the blocks' `next` links under a mutex. Installs and
//! recycling only `try_lock` it — a busy pool means allocating or freeing one block, never
//! waiting — and only a sender short of budget waits for it, on its way to spilling. The
//! pool's charge changes only under the lock, so that sender, once it has the lock, sees
//! every spare there is and every charge given back: a block on its way into or out of the
//! pool never makes the budget look full when it is not.

use super::block::{Block, block_bytes};
use crate::budget::Budget;
use crate::sync::{AtomicUsize, Mutex};
use std::ptr;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

pub(super) struct Spares<T> {
    list: Mutex<List<T>>,
    /// The list's length, readable without the lock: an install sees at once that there
    /// is no spare to take. Written under the lock.
    len: AtomicUsize,
}

/// Blocks linked through `next`, owned by the list.
struct List<T> {
    first: *mut Block<T>,
    len: usize,
}

// SAFETY: the list owns its blocks (each came from `Box::into_raw` and is reachable only
// through the list); moving the list moves that ownership. Blocks hold no values.
unsafe impl<T: Send> Send for List<T> {}

impl<T> List<T> {
    fn push(&mut self, block: Box<Block<T>>) {
        block.next.store(self.first, Ordering::Relaxed);
        self.first = Box::into_raw(block);
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Box<Block<T>>> {
        if self.first.is_null() {
            return None;
        }
        // SAFETY: a non-null `first` is a block this list owns (see `Send` above).
        let block = unsafe { Box::from_raw(self.first) };
        self.first = block.next.load(Ordering::Relaxed);
        block.next.store(ptr::null_mut(), Ordering::Relaxed);
        self.len -= 1;
        Some(block)
    }
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

impl<T> Spares<T> {
    pub(super) fn new() -> Self {
        Spares {
            list: Mutex::new(List {
                first: ptr::null_mut(),
                len: 0,
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// Fills the pool with blocks for as much of the budget as it has room for, up to
    /// `max_bytes`.
    pub(super) fn preallocate(&self, budget: &Budget, max_bytes: usize) {
        let mut list = self.lock();
        let blocks = budget.limit().min(max_bytes) / block_bytes::<T>();
        for _ in 0..blocks {
            if !budget.reserve(block_bytes::<T>()) {
                break;
            }
            list.push(Block::new());
        }
        self.len.store(list.len, Ordering::Relaxed);
    }

    /// A spare for the next install, its charge given back; `None` if the pool is empty
    /// or busy.
    pub(super) fn take(&self, budget: &Budget) -> Option<Box<Block<T>>> {
        // A stale length only costs an allocation.
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut list = self.list.try_lock().ok()?;
        let block = list.pop()?;
        self.len.store(list.len, Ordering::Relaxed);
        // Under the lock, like every change to the pool's charge: a sender short of budget
        // that waits for the lock in `evict` then sees it.
        budget.release(block_bytes::<T>());
        Some(block)
    }

    /// Keeps `block` (cleared, holding no values) if the pool is free and the budget has
    /// room for it; frees it otherwise.
    pub(super) fn put(&self, block: Box<Block<T>>, budget: &Budget) {
        let Ok(mut list) = self.list.try_lock() else {
            return;
        };
        // Charged under the lock, so that a sender that finds the budget short, and waits
        // for the lock in `evict`, finds the block in the list.
        if budget.reserve(block_bytes::<T>()) {
            list.push(block);
            self.len.store(list.len, Ordering::Relaxed);
        }
    }

    /// Frees spares until `bytes` have been given back to the budget or none is left;
    /// whether any was. Every charge the pool took or gave back before this call is
    /// visible to the caller's next look at the budget.
    pub(super) fn evict(&self, budget: &Budget, bytes: usize) -> bool {
        let mut freed = 0;
        let mut list = self.lock();
        while freed < bytes {
            match list.pop() {
                Some(block) => {
                    drop(block);
                    freed += block_bytes::<T>();
                }
                None => break,
            }
        }
        self.len.store(list.len, Ordering::Relaxed);
        budget.release(freed);
        freed > 0
    }

    fn lock(&self) -> crate::sync::MutexGuard<'_, List<T>> {
        // The lock guards no invariant a panic could break mid-way: a poisoned list is
        // still a list.
        self.list.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(all(test, not(loom)))]
    pub(super) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}
