//! A multi-producer, single-consumer channel with bounded memory that spills to disk —
//! hopper's promise, kept.
//!
//! hopper (postmates, 0.4) was written for a telemetry daemon that must neither lose data
//! nor crowd out its application when a downstream system is down: memory is scarce, disk
//! is plentiful. Items are queued in memory up to a byte bound, then appended to segment
//! files on disk; the receiver reads them back in order and deletes each file once read.
//! `send` fails only when memory and disk are both full, and then hands the item back.
//!
//! This crate is a drop-in for hopper 0.4's API — change the import — that fixes its
//! defects:
//!
//! | hopper 0.4 | here |
//! |---|---|
//! | the tail of a spilled stream is invisible until the sender calls `flush` | the receiver claims spilled items itself; `flush` is never needed |
//! | the iterator's `None` means "closed" or "disk error" (or never comes) | `None` means every sender is gone and the channel is drained; disk errors come from [`Receiver::recv`] / [`Receiver::try_recv`] |
//! | bounds count `size_of::<T>()` | memory counts the bytes items occupy ([`Accounting`]); disk counts encoded bytes |
//! | a corrupt or truncated record panics | every block of records has a length and a CRC-32C; bad data is a [`DiskError`] naming file and offset |
//! | no recovery after a restart | [`Durability::Recover`] reopens and delivers what reached disk |
//!
//! plus owner-only files, validated channel names, and a lock file so that a second
//! channel on the same directory is refused instead of corrupting the first.
//!
//! # Bounds
//!
//! - **Memory**: an item in memory is charged [`slot_bytes`] plus, by default, its
//!   encoded length ([`Accounting`]); at most `memory_bytes` are charged at once. The
//!   memory queue's spare blocks are charged too: a new channel allocates blocks for its
//!   whole bound up front (up to 64 MiB), as `sync_channel(n)` allocates its `n` slots, so
//!   that items later flow into memory already mapped; a send that needs their room frees
//!   them first, so they never make it spill or fail. Beyond the charged bytes the channel
//!   holds at most [`memory_overhead`] bytes — three blocks of its memory queue, the write
//!   buffer ([`WRITE_BUFFER`]), the receiver's read buffer (as large), 4 KiB of bookkeeping —
//!   and, while it lasts: one encoded record more in each of those two buffers, and one
//!   block per sender caught by the scheduler in the middle of a send. `tests/memory_bound.rs` checks this with a counting allocator. One exception,
//!   kept from hopper (which always held at least one item in memory): when the disk
//!   cannot take an item and memory is empty, the item goes to memory whatever its charge,
//!   so that no configuration refuses everything.
//! - **Slack**: a send may find the bound reached while up to 1/8 of it is charged for
//!   nothing in memory: up to 1/16 for items the receiver has taken and not yet returned
//!   the charge of (it returns them in batches), and up to 1/16 leased to senders and not
//!   yet used (at most 8 senders at a time take the budget in chunks of 1/128 of it, so
//!   that most sends take their charge without touching a shared counter). A bound too
//!   small for a chunk to hold two items leases nothing.
//! - **Disk**: at most `max_disk_files` segment files, each closed once the next record
//!   would take it past `max_disk_bytes` — so at most
//!   `max_disk_files × max(max_disk_bytes, largest record)` bytes. Unlike hopper, a small
//!   `max_disk_bytes` is honoured, not raised to 1 MiB. Running out of real disk space (or
//!   hitting a file size limit or quota) is [`Error::Full`] too.
//!
//! # Order
//!
//! Items from one [`Sender`] arrive in the order it sent them, whether they went through
//! memory or disk; items from different senders interleave. See the `channel` module
//! source for how one order is kept across memory and disk.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let (mut tx, mut rx) = reclaim_hopper::channel("example", dir.path()).unwrap();
//! tx.send(9_u64).unwrap();
//! assert_eq!(Some(9), rx.iter().next());
//! ```

mod budget;
mod builder;
mod channel;
mod dir;
mod error;
mod lease;
mod queue;
mod reader;
mod record;
mod sync;
mod writer;

pub use builder::{Builder, DEFAULT_DISK_FILE_BYTES, DEFAULT_MEMORY_BYTES, Durability};
pub use channel::{Accounting, IntoIter, Iter, Receiver, Sender, memory_overhead, slot_bytes};
pub use error::{DiskError, Error, RecvError, TryRecvError};
pub use writer::WRITE_BUFFER;

/// The memory queue on its own, for `tests/loom.rs` to model-check (built with
/// `--cfg loom` only; not part of the API).
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_queue {
    /// The channel's memory queue with its budget; see `src/queue/mod.rs`.
    pub struct Queue<T>(crate::queue::Queue<T>);

    impl<T> std::fmt::Debug for Queue<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Queue").finish_non_exhaustive()
        }
    }

    /// Bytes one block of a queue of `T` occupies.
    pub const fn block_bytes<T>() -> usize {
        crate::queue::block_bytes::<T>()
    }

    impl<T> Queue<T> {
        /// The list flavour, whatever the bound: the models check block installs,
        /// passing and recycling.
        pub fn new(limit: usize) -> Self {
            Queue(crate::queue::Queue::new(limit))
        }

        pub fn push(&self, value: T) {
            assert!(self.0.push(value).is_ok(), "the list flavour is unbounded");
        }

        pub fn reserve(&self, bytes: usize) -> bool {
            self.0.reserve(bytes)
        }

        pub fn release(&self, bytes: usize) {
            self.0.release(bytes);
        }

        /// # Safety
        ///
        /// One consumer at a time (see the queue's `pop`).
        pub unsafe fn pop(&self) -> Option<T> {
            // SAFETY: the caller's guarantee.
            unsafe { self.0.pop() }
        }

        /// # Safety
        ///
        /// As for [`pop`](Self::pop).
        pub unsafe fn is_empty(&self) -> bool {
            // SAFETY: the caller's guarantee.
            unsafe { self.0.is_empty() }
        }
    }
}

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Creates a channel named `name` in `data_dir` with hopper's defaults: 1 MiB in memory,
/// segment files of 256 MiB, no limit on their number.
pub fn channel<T>(name: &str, data_dir: &Path) -> Result<(Sender<T>, Receiver<T>), Error>
where
    T: Serialize + DeserializeOwned + Send,
{
    Builder::new().build(name, data_dir)
}

/// Creates a channel named `name` in `data_dir` holding at most `max_memory_bytes` in
/// memory and at most `max_disk_files` segment files of about `max_disk_bytes` each.
pub fn channel_with_explicit_capacity<T>(
    name: &str,
    data_dir: &Path,
    max_memory_bytes: usize,
    max_disk_bytes: usize,
    max_disk_files: usize,
) -> Result<(Sender<T>, Receiver<T>), Error>
where
    T: Serialize + DeserializeOwned + Send,
{
    Builder::new()
        .memory_bytes(max_memory_bytes)
        .disk_file_bytes(max_disk_bytes)
        .disk_files(max_disk_files)
        .build(name, data_dir)
}
