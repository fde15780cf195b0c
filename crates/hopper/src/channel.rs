//! The channel: a lock-free memory queue with a byte budget, in front of the disk.
//!
//! # One order across memory and disk
//!
//! Items go into an unbounded lock-free FIFO queue (`queue/`) as long as the memory
//! budget has room for their charge. When it has none, the item is encoded and appended to
//! the segment files instead, and the channel is *spilled*: from then on every send goes to
//! disk too, until the records on disk are *announced* — by a marker `Disk { upto }`
//! pushed into the memory queue (a sender does this as soon as the budget has room for
//! one), or by the receiver claiming them when it finds the memory queue empty. The
//! receiver reads records up to each announced index before it takes the next item from
//! memory. So an item never overtakes one its sender sent earlier: a sender that spilled
//! sees the channel spilled until its record is announced, and the announcement is ahead
//! of anything it puts in memory afterwards.
//!
//! The queue keeps its entries in the order their pushes completed, with one freedom: a
//! push whose producer lost its processor between claiming a slot and writing it may be
//! passed by the receiver and land later (`Queue::wait_or_pass`). That send has not
//! returned, so nothing was ordered after it: the argument above holds, since the marker
//! and every item it must precede or follow are pushes that completed before the other
//! began.
//!
//! The receiver's claim is what fixes hopper 0.4's stranded tail: there, records on disk
//! waited for a sender to push a marker, which a quiet sender never did.
//!
//! # The budget
//!
//! A sender takes its item's charge from a lease (`lease.rs`) — budget it took ahead, in
//! chunks — so that most sends write no shared counter but the queue's tail. The receiver
//! returns charges in batches ([`RELEASE_BATCH_DIVISOR`]). The queue charges its spare
//! blocks to the same budget and frees them when a sender needs the room
//! (`queue/spares.rs`).
//!
//! # Sleeping and waking
//!
//! The receiver parks only after announcing it will (`receiver_sleeping`, then a `SeqCst`
//! fence) and checking once more that nothing was claimed in the queue beyond its head,
//! nothing is spilled and a sender remains; a sender claims its slot with a `SeqCst`
//! compare-and-swap and, after writing it, loads the flag (`SeqCst`) and unparks if it is
//! set. Either the receiver's check sees the claim or the sender's load sees the flag: no
//! lost wake-up (see [`Shared::wake_after_push`]). A claim seen but not yet written keeps
//! the receiver from parking: it yields and looks again.

use crate::error::{DiskError, Error, RecvError, TryRecvError};
use crate::lease::Lease;
use crate::queue::{self, Queue};
use crate::reader::DiskReader;
use crate::record;
use crate::sync::{
    Arc, AtomicBool, AtomicU64, AtomicUsize, Mutex, MutexGuard, Parker, Unparker, fence,
};
use crate::writer::Writer;
use crossbeam_utils::CachePadded;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::io;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// An entry of the memory queue.
enum Entry<T> {
    Item {
        value: T,
        charge: usize,
    },
    /// Spilled records below `upto` come before whatever follows this marker.
    Disk {
        upto: u64,
    },
}

/// An entry as the ring flavour of the memory queue keeps it: the ring holds only items
/// charged exactly their slot ([`Accounting::Shallow`]), so the charge is implied.
enum Packed<T> {
    Item(T),
    Disk(u64),
}

impl<T> queue::Pack<Entry<T>> for Packed<T> {
    #[inline]
    fn pack(entry: Entry<T>) -> Result<Self, Entry<T>> {
        match entry {
            Entry::Item { value, charge } if charge == slot_bytes::<T>() => Ok(Packed::Item(value)),
            Entry::Disk { upto } => Ok(Packed::Disk(upto)),
            // Charged otherwise: it would be released as a slot's worth.
            other => Err(other),
        }
    }

    #[inline]
    fn unpack(self) -> Entry<T> {
        match self {
            Packed::Item(value) => Entry::Item {
                value,
                charge: slot_bytes::<T>(),
            },
            Packed::Disk(upto) => Entry::Disk { upto },
        }
    }
}

/// What one entry of the memory queue occupies: its slot (the entry and the slot's
/// `written` flag) and its share of the block's link, rounded up. Every queued item is
/// charged at least this.
pub const fn slot_bytes<T>() -> usize {
    queue::slot_bytes::<Entry<T>>()
}

/// Bytes the channel may hold beyond what its memory bound charges, for items of type `T`:
/// three blocks of the memory queue (with the list flavour: the partly used ones at each
/// end, and the one a sender holds while it installs the next; the ring flavour, chosen
/// with shallow accounting for bounds up to 64 MiB, exceeds the bound by one slot at most), the spill write buffer, the receiver's read
/// buffer and 4 KiB for the channel's own bookkeeping (paths, segment list, lock). The
/// queue's spare blocks are not overhead: they are charged to the bound (see
/// `queue/spares.rs`). On top of it, only while it lasts: one encoded record per sender
/// spilling and one for the receiver reading back, and one block for each further sender
/// installing a block at the same moment or descheduled in the middle of a send (a block
/// the receiver has left waits for such a sender, see `Queue::leave`).
pub const fn memory_overhead<T>() -> usize {
    3 * queue::block_bytes::<Entry<T>>()
        + crate::writer::WRITE_BUFFER
        + crate::reader::READ_CHUNK
        + 4096
}

/// How the memory bound counts a queued item.
///
/// An item is charged [`slot_bytes`] (its place in the queue) plus:
pub enum Accounting<T> {
    /// nothing more: exact for items without heap data (`u64`, plain structs). Since
    /// an item's charge is then its slot, a bound of up to 64 MiB is allocated whole as
    /// an array of slots when the channel is built (as `sync_channel(n)` does), the
    /// fastest memory queue the channel has; the other accountings use a list of blocks
    /// whose spares give way to the heap bytes they charge.
    Shallow,
    /// the length of its encoding (postcard), which for strings and byte vectors is their
    /// heap payload plus a few bytes; the default, so a `Vec<u8>` of 1 KiB is charged
    /// about 1 KiB, not its 24-byte handle.
    Encoded,
    /// what the function returns: for callers who know their items' heap footprint.
    Custom(fn(&T) -> usize),
}

impl<T> Accounting<T> {
    fn charge(&self, item: &T) -> usize
    where
        T: Serialize,
    {
        // Saturating: a size function may answer `usize::MAX` ("never in memory"), and a
        // wrapped sum would charge such an item less than its slot.
        slot_bytes::<T>().saturating_add(match self {
            Accounting::Shallow => 0,
            Accounting::Encoded => record::encoded_len(item),
            Accounting::Custom(heap) => heap(item),
        })
    }
}

impl<T> Clone for Accounting<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Accounting<T> {}

impl<T> fmt::Debug for Accounting<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accounting::Shallow => f.write_str("Shallow"),
            Accounting::Encoded => f.write_str("Encoded"),
            Accounting::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// State shared by the senders and the receiver.
pub(crate) struct Shared<T> {
    /// The memory queue, and the memory budget: bytes charged for the items and markers in
    /// it and for its spare blocks.
    queue: Queue<Entry<T>, Packed<T>>,
    accounting: Accounting<T>,
    /// Records on disk not yet announced; read on every send.
    spilled: CachePadded<AtomicBool>,
    writer: Mutex<Writer>,
    /// Spilled records the receiver has read: lets the writer reclaim a file the receiver
    /// has finished but not yet deleted.
    consumed: AtomicU64,
    senders: AtomicUsize,
    receiver_alive: AtomicBool,
    receiver_sleeping: CachePadded<AtomicBool>,
    unparker: Unparker,
    /// Recover mode: segments outlive the channel.
    keep_segments: bool,
    name: String,
    /// Holds the directory's lock; dropped after the writer has closed its files.
    _dir: crate::dir::ChannelDir,
}

impl<T> Shared<T> {
    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        crate::writer::lock(&self.writer)
    }

    /// Queues an item whose `charge` is taken; if the memory queue has no slot for it,
    /// gives the charge back and hands the item back, to be spilled.
    ///
    /// Only a ring can refuse, and only if it is full, which the channel never lets it
    /// be: every queued entry is charged at least a slot, the ring has a slot for every
    /// charge the bound allows and one for the item forced past it, and a slot is free
    /// before its charge is given back (`Queue::new`). Should that reasoning ever fail, an
    /// item goes to disk instead of being lost or waiting for a slot.
    // Always: left to itself the compiler calls it, and a send pays for the call and for
    // the registers saved around it (17 more instructions per send and receive in the
    // callgrind count of `scripts/instructions.sh -b hopper`).
    #[inline(always)]
    fn queue_item(&self, value: T, charge: usize) -> Result<(), T> {
        match self.queue.push(Entry::Item { value, charge }) {
            Ok(()) => Ok(()),
            Err(Entry::Item { value, charge }) => {
                self.queue.release(charge);
                Err(value)
            }
            Err(Entry::Disk { .. }) => unreachable!("an item was pushed"),
        }
    }

    /// Wakes the receiver after an entry was pushed.
    ///
    /// No fence needed: the receiver sets its flag (`SeqCst`), fences, then reads the
    /// queue's tail and sleeps only if nothing was claimed beyond its head. If that read
    /// missed this sender's claim (a `SeqCst` compare-and-swap on the tail), the fence
    /// precedes the claim in the single `SeqCst` order (C++20 [atomics.order]/4.3), so
    /// the flag was set before it and this `SeqCst` load sees it. If the read saw the
    /// claim, the receiver does not sleep. (A claim the receiver then passes is pushed
    /// again, with a `SeqCst` claim of its own, before this call.) loom treats `SeqCst`
    /// accesses as acquire/release only, so it gets the fence spelled out: the models
    /// check the handshake with it, and this build, without it, rests on the argument
    /// above.
    #[inline]
    fn wake_after_push(&self) {
        #[cfg(loom)]
        fence(Ordering::SeqCst);
        if self.receiver_sleeping.load(Ordering::SeqCst) {
            self.unparker.unpark();
        }
    }

    /// Wakes the receiver after something it cannot see in the budget: records spilled,
    /// the last sender gone.
    fn wake(&self) {
        fence(Ordering::SeqCst);
        if self.receiver_sleeping.load(Ordering::Relaxed) {
            self.unparker.unpark();
        }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        let keep = self.keep_segments;
        self.lock_writer().close(keep);
    }
}

/// Everything [`Builder`](crate::Builder) decided, for [`new`].
pub(crate) struct Parts<T> {
    pub name: String,
    pub dir: crate::dir::ChannelDir,
    pub writer: Writer,
    pub memory_limit: usize,
    pub accounting: Accounting<T>,
    pub keep_segments: bool,
}

pub(crate) fn new<T>(parts: Parts<T>) -> (Sender<T>, Receiver<T>) {
    let first = parts.writer.first_index();
    let spilled = parts.writer.next_index() > first;
    let parker = Parker::new();
    let shared = Arc::new(Shared {
        // Only shallow accounting charges an item exactly its slot, so that a ring
        // allocated whole for the bound is the memory those items would take. The others
        // also charge heap bytes to the bound, which a ring held whole would double; their
        // list gives its spare blocks up to them.
        queue: match parts.accounting {
            Accounting::Shallow => Queue::for_slot_charges(parts.memory_limit),
            _ => Queue::new(parts.memory_limit),
        },
        accounting: parts.accounting,
        spilled: CachePadded::new(AtomicBool::new(spilled)),
        writer: Mutex::new(parts.writer),
        consumed: AtomicU64::new(first),
        senders: AtomicUsize::new(1),
        receiver_alive: AtomicBool::new(true),
        receiver_sleeping: CachePadded::new(AtomicBool::new(false)),
        unparker: parker.unparker().clone(),
        keep_segments: parts.keep_segments,
        name: parts.name,
        _dir: parts.dir,
    });
    let sender = Sender {
        shared: Arc::clone(&shared),
        lease: Lease::default(),
    };
    let receiver = Receiver {
        shared,
        disk: DiskReader::new(first),
        parker,
        unreleased: 0,
        release_batch: parts.memory_limit / RELEASE_BATCH_DIVISOR,
        errors: Vec::new(),
    };
    (sender, receiver)
}

/// The sending side. Clone it for each producing thread; the channel closes when every
/// clone is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    /// Memory budget this sender has taken ahead for its next items.
    lease: Lease,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: Arc::clone(&self.shared),
            lease: Lease::default(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.lease.give_back(&self.shared.queue);
        // Release: everything this sender published happens-before the receiver sees the
        // count reach zero.
        if self.shared.senders.fetch_sub(1, Ordering::Release) == 1 {
            self.shared.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned + Send> Sender<T> {
    /// Sends `item`: into memory if the memory bound has room for it, to disk otherwise.
    ///
    /// Fails, handing the item back, with [`Error::Full`] when memory and disk are both
    /// at their bound (the configured ones or the disk's own), with [`Error::IoError`] if
    /// the disk fails, the item cannot be encoded, or the receiver is gone. Every item for
    /// which `send` returned `Ok` reaches the receiver; no `flush` is needed.
    #[inline]
    pub fn send(&mut self, item: T) -> Result<(), (T, Error)> {
        // The common case inline: into memory.
        let shared = &*self.shared;
        if shared.receiver_alive.load(Ordering::Relaxed) && !shared.spilled.load(Ordering::Acquire)
        {
            let charge = shared.accounting.charge(&item);
            if self.lease.take(&shared.queue, charge) {
                match shared.queue_item(item, charge) {
                    Ok(()) => {
                        shared.wake_after_push();
                        return Ok(());
                    }
                    Err(back) => return self.send_otherwise(back),
                }
            }
        }
        self.send_otherwise(item)
    }

    /// `send` when memory cannot take the item: the receiver is gone, the channel is
    /// spilled or memory is full.
    #[inline(never)]
    fn send_otherwise(&mut self, item: T) -> Result<(), (T, Error)> {
        if !self.shared.receiver_alive.load(Ordering::Relaxed) {
            let e = io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the receiver was dropped; nothing would read this item",
            );
            return Err((item, Error::IoError(e)));
        }
        self.spill(item)
    }

    /// Sends through the disk; see the module docs for the order this keeps.
    #[cold]
    fn spill(&mut self, item: T) -> Result<(), (T, Error)> {
        // Measured outside the lock, so that the writer can reserve exactly and the item
        // is encoded once, straight into the block being filled.
        let payload = match record::payload_len(&item) {
            Ok(payload) => payload,
            Err(why) => {
                let e = io::Error::new(io::ErrorKind::InvalidData, why);
                return Err((item, Error::IoError(e)));
            }
        };
        let shared = &*self.shared;
        let mut item = Some(item);
        // Whether this spill showed the receiver anything new: a push, or `spilled` set.
        let mut news = false;
        let result = {
            let mut writer = shared.lock_writer();
            let value = item.as_ref().expect("taken only below");
            let mut appended = writer.append(value, payload, &shared.consumed);
            if let (Err(Error::Full), Some(value)) = (&appended, &item) {
                // The disk cannot take it. An empty channel still takes one item however
                // large, as hopper did (it held at least one item in memory), so that no
                // configuration refuses everything; its memory then exceeds the bound by
                // that one item. Only with nothing spilled unannounced, so it cannot
                // overtake a record. Under the writer's lock, like every such item: a
                // second one finds the first in the queue.
                let empty = !shared.spilled.load(Ordering::Relaxed) && shared.queue.looks_empty();
                if empty {
                    let charge = shared.accounting.charge(value);
                    shared.queue.budget().force(charge);
                    let value = item.take().expect("checked above");
                    match shared.queue_item(value, charge) {
                        Ok(()) => {
                            appended = Ok(());
                            news = true;
                        }
                        // No slot (see `Shared::queue_item`): `Full` stands.
                        Err(back) => item = Some(back),
                    }
                }
            } else if appended.is_ok() {
                // Announce right away if a marker fits; otherwise the receiver will claim.
                let mut announced_all = false;
                // (A bound below a slot never has room: not worth the spares' lock.)
                if shared.queue.limit() >= slot_bytes::<T>()
                    && shared.queue.reserve(slot_bytes::<T>())
                {
                    announced_all = true;
                    match writer.unannounced() {
                        Some(upto) => match shared.queue.push(Entry::Disk { upto }) {
                            Ok(()) => {
                                writer.mark_announced(upto);
                                news = true;
                            }
                            // No slot (see `Shared::queue_item`): the receiver claims them.
                            Err(_) => {
                                shared.queue.release(slot_bytes::<T>());
                                announced_all = false;
                            }
                        },
                        None => shared.queue.release(slot_bytes::<T>()),
                    }
                }
                // Under the writer's lock, like every change of `spilled`, so reading it
                // first is no race. A store of the value it holds would still take the
                // line from every sender that reads it on each send.
                if shared.spilled.load(Ordering::Relaxed) == announced_all {
                    shared.spilled.store(!announced_all, Ordering::Release);
                    news = true;
                }
            }
            appended
        };
        // With `spilled` set before this spill and still set, the sender that set it
        // woke the receiver (or saw it awake: the receiver parks only after reading
        // `spilled` clear behind its fence), and the receiver claims everything on disk,
        // this record included, before it clears `spilled` — under the lock, where this
        // spill would have seen it clear. So only news needs the fence and the wake: a
        // fence per spilled item was a fifth of the spilling senders' time.
        match result {
            Ok(()) => {
                if news {
                    shared.wake();
                }
                Ok(())
            }
            Err(e) => Err((item.expect("an item is taken only on success"), e)),
        }
    }

    /// Writes spilled items still in the write buffer to their file (outside recover
    /// mode, those the receiver has not taken from it already).
    ///
    /// Never needed for delivery — the receiver gets every item without it — but useful
    /// before handing the files to another process in recover mode.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.shared
            .lock_writer()
            .flush()
            .map_err(crate::error::from_io)
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }
}

/// The receiving side. There is one; it is `Send`, not `Clone`.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    disk: DiskReader,
    parker: Parker,
    /// Charges of items taken but not yet returned to the budget: returned in batches, to
    /// spare the budget's cache line a write per item.
    unreleased: usize,
    /// Returned once `unreleased` exceeds this: the bound / [`RELEASE_BATCH_DIVISOR`].
    release_batch: usize,
    /// Disk errors the iterators stepped over, oldest first (at most [`KEPT_ERRORS`]).
    errors: Vec<DiskError>,
}

/// The receiver returns its taken charges to the budget once they exceed the memory bound
/// divided by this (and whenever it finds the queue empty): senders may see the budget
/// up to 1/16 fuller than it is, never emptier.
const RELEASE_BATCH_DIVISOR: usize = 16;

/// Times the receiver yields, finding nothing, before it claims spilled records or parks.
///
/// It used to spin first (crossbeam's `Backoff`: 127 pauses over seven polls, then four
/// yields). On `hopper/1M-in-memory` (4 senders, 2 cores) that spinning receiver polled
/// the ring's tail while the senders were claiming slots on it; yielding at once hands
/// its processor to a sender instead. Seven alternated criterion runs of `--
/// '1M-in-memory/(reclaim-hopper|sync_channel)'`: 114–136 Melem/s (median 125) against
/// 101–109 (median 105) spinning, every pair faster (`docs/channel.md`).
#[cfg(not(loom))]
const RECV_YIELDS: u32 = 10;
#[cfg(loom)]
const RECV_YIELDS: u32 = 0;

/// Disk errors an iterator keeps for [`Receiver::take_errors`]; later ones are dropped.
const KEPT_ERRORS: usize = 64;

/// Pause before an iterator retries after a read error (nothing was consumed).
const IO_RETRY: Duration = Duration::from_millis(10);

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_alive.store(false, Ordering::Relaxed);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned + Send> Receiver<T> {
    /// The next item, waiting while the channel is empty and a sender remains.
    #[inline]
    pub fn recv(&mut self) -> Result<T, RecvError> {
        match self.next_queued() {
            Some(item) => Ok(item),
            None => self.recv_waiting(),
        }
    }

    /// `recv` when the next item is not in memory yet, or not next.
    #[inline(never)]
    fn recv_waiting(&mut self) -> Result<T, RecvError> {
        // Yield a few times before claiming or parking: a sender is usually about to
        // publish, and a futex wake per item costs more than a few yields. Yield, not
        // spin: each poll of an empty ring reads the tail behind a fence, and a receiver
        // polling in a loop keeps taking the tail's line from the senders' claims (see
        // `RECV_YIELDS`). (Not under loom, where the extra polls multiply the
        // interleavings without adding any protocol to check.)
        let mut yields = 0;
        loop {
            // Claim spilled records only once the yields are spent: a sender still
            // spilling then has time to add more, and one claim takes many records
            // instead of the two sides taking turns at the writer's lock for each.
            let claim = yields >= RECV_YIELDS;
            match self.poll(claim) {
                Ok(Some(item)) => return Ok(item),
                Ok(None) if claim => self.park(),
                Ok(None) => {
                    yields += 1;
                    crate::sync::yield_now();
                }
                Err(TryRecvError::Empty) => unreachable!("poll reports empty as None"),
                Err(TryRecvError::Disconnected) => return Err(RecvError::Disconnected),
                Err(TryRecvError::Disk(e)) => return Err(RecvError::Disk(e)),
            }
        }
    }

    /// The next item if one is ready now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.next_queued() {
            Some(item) => Ok(item),
            None => self.poll(true)?.ok_or(TryRecvError::Empty),
        }
    }

    /// Blocking iterator: yields items, waits while the channel is empty, ends when every
    /// sender is gone and every item has been received — and only then.
    ///
    /// Spilled data that cannot be read back does not end it: the damaged records are
    /// skipped (their count is in the error), the error is kept for
    /// [`take_errors`](Self::take_errors), and iteration goes on. Use [`recv`](Self::recv)
    /// to stop at the first error instead.
    pub fn iter(&mut self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// Disk errors the iterators stepped over since the last call.
    pub fn take_errors(&mut self) -> Vec<DiskError> {
        std::mem::take(&mut self.errors)
    }

    fn next_for_iter(&mut self) -> Option<T> {
        loop {
            match self.recv() {
                Ok(item) => return Some(item),
                Err(RecvError::Disconnected) => return None,
                Err(RecvError::Disk(e)) => {
                    let retry = matches!(e, DiskError::Io { .. });
                    if self.errors.len() < KEPT_ERRORS {
                        self.errors.push(e);
                    }
                    if retry {
                        std::thread::sleep(IO_RETRY);
                    }
                }
            }
        }
    }

    /// The next item if it is the next entry in memory and no spilled record is due
    /// before it: the receiver's common case, inline.
    #[inline]
    fn next_queued(&mut self) -> Option<T> {
        if self.disk.has_due() {
            return None;
        }
        // SAFETY: the receiver is the queue's one consumer (it is not `Clone`, and every
        // consumer call is made through its `&mut self`).
        let entry = unsafe { self.shared.queue.pop() }?;
        self.accept(entry)
    }

    /// Accounts for an entry taken from the queue: an item is returned, its charge to be
    /// released; a marker makes the records it announces due.
    #[inline]
    fn accept(&mut self, entry: Entry<T>) -> Option<T> {
        match entry {
            Entry::Item { value, charge } => {
                // Checked: an item may be charged up to `usize::MAX` (the one an empty
                // channel takes whatever its charge, see `Sender::spill`). What is held
                // back goes first then. (Held back is at most the batch afterwards, so a
                // marker's slot below cannot overflow it.)
                self.unreleased = match self.unreleased.checked_add(charge) {
                    Some(sum) => sum,
                    None => {
                        self.release();
                        charge
                    }
                };
                if self.unreleased > self.release_batch {
                    self.release();
                }
                Some(value)
            }
            Entry::Disk { upto } => {
                self.unreleased += slot_bytes::<T>();
                self.disk.due_until(upto);
                None
            }
        }
    }

    /// One attempt: an item, `None` if there is none now, or why there will be none.
    /// `claim`: whether to claim spilled records when memory is empty (else report none
    /// ready, and let the caller come back).
    fn poll(&mut self, claim: bool) -> Result<Option<T>, TryRecvError> {
        loop {
            if self.disk.has_due() {
                return self.read_disk().map(Some).map_err(TryRecvError::Disk);
            }
            // SAFETY: as in `next_queued`.
            if let Some(entry) = unsafe { self.shared.queue.pop() } {
                match self.accept(entry) {
                    Some(item) => return Ok(Some(item)),
                    None => continue,
                }
            }
            let shared = &*self.shared;
            if self.unreleased > 0 {
                // Empty: give the budget back before anything else, so senders find it.
                shared.queue.release(std::mem::take(&mut self.unreleased));
            } else if shared.spilled.load(Ordering::Acquire) {
                if !claim {
                    return Ok(None);
                }
                // Claim what is on disk — but only with the queue empty under the writer's
                // lock: anything a sender queued before spilling is then already visible
                // here, and must be taken first.
                let mut writer = shared.lock_writer();
                // SAFETY: as in `next_queued`.
                if unsafe { shared.queue.is_empty() } {
                    if let Some(upto) = writer.announce() {
                        self.disk.due_until(upto);
                    }
                    shared.spilled.store(false, Ordering::Release);
                    // What was just claimed is most often still in the writer's block.
                    self.disk.refill(&mut writer);
                }
            } else if shared.senders.load(Ordering::Acquire) == 0 {
                // Every sender is gone and all they published is visible: one last look.
                // SAFETY: as in `next_queued`.
                let empty = unsafe { shared.queue.is_empty() };
                if empty && !shared.spilled.load(Ordering::Acquire) {
                    return Err(TryRecvError::Disconnected);
                }
            } else {
                return Ok(None);
            }
        }
    }

    fn read_disk(&mut self) -> Result<T, DiskError> {
        let record = self.disk.next(&self.shared.writer, &self.shared.consumed)?;
        let corrupt = |reason: String| DiskError::Corrupt {
            path: record.path.to_path_buf(),
            offset: record.offset,
            reason,
            lost: 1,
        };
        match postcard::take_from_bytes::<T>(record.payload) {
            Ok((item, [])) => Ok(item),
            Ok((_, rest)) => Err(corrupt(format!(
                "the record decodes as {} with {} byte(s) left over",
                std::any::type_name::<T>(),
                rest.len()
            ))),
            Err(e) => Err(corrupt(format!(
                "the record does not decode as {}: {e}",
                std::any::type_name::<T>()
            ))),
        }
    }

    fn release(&mut self) {
        self.shared
            .queue
            .release(std::mem::take(&mut self.unreleased));
    }

    fn park(&mut self) {
        self.release();
        let shared = &*self.shared;
        shared.receiver_sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // Nothing claimed beyond the head: an empty queue, and a push whose claim this
        // read missed will see the flag (`Shared::wake_after_push`). A claim seen but not
        // yet written is not idle: the receiver yields until it is.
        // SAFETY: the receiver is the queue's one consumer (see `poll`).
        let idle = unsafe { shared.queue.is_empty() }
            && !shared.spilled.load(Ordering::Relaxed)
            && shared.senders.load(Ordering::Relaxed) != 0;
        if idle {
            self.parker.park();
        } else {
            crate::sync::yield_now();
        }
        shared.receiver_sleeping.store(false, Ordering::Relaxed);
    }
}

/// Iterator over a borrowed [`Receiver`]; see [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T: Serialize + DeserializeOwned + Send> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.next_for_iter()
    }
}

/// Iterator owning a [`Receiver`]; see [`Receiver::iter`].
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T: Serialize + DeserializeOwned + Send> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.next_for_iter()
    }
}

impl<T: Serialize + DeserializeOwned + Send> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::Builder;

    /// The channel's entries hold a `usize` and a `u64`, so the list's one-byte slot
    /// state pads to the width of the ring's stamp: whatever the item, a channel with
    /// shallow accounting and a bound the ring can allocate gets the ring (see
    /// `Queue::for_slot_charges`).
    #[test]
    fn the_channel_queue_is_a_ring_for_every_item_type() {
        fn ring<T>() -> bool {
            Queue::<Entry<T>, Packed<T>>::for_slot_charges(64 << 10).is_ring()
        }
        assert!(ring::<u8>());
        assert!(ring::<u64>());
        assert!(ring::<(u16, u8)>());
        assert!(ring::<[u8; 3]>());
        assert!(ring::<[u8; 100]>());
        assert!(ring::<String>());
        assert!(ring::<Vec<u8>>());
        assert!(!Queue::<Entry<u64>, Packed<u64>>::for_slot_charges(0).is_ring());
        assert!(!Queue::<Entry<u64>, Packed<u64>>::new(64 << 10).is_ring());
    }

    /// The ring keeps an item without its charge: for `u64` items a slot of 24 bytes
    /// (crossbeam's stamp, the tag, the value), where the list's entry with its charge
    /// takes 32 on a 64-bit target (16 on a 32-bit one, whose `usize` charge fits beside
    /// the tag) plus its share of the block's link. And an item charged anything but its
    /// slot is handed back rather than kept in a form that would release a slot's worth
    /// for it.
    #[test]
    fn the_ring_keeps_items_without_their_charge() {
        use crate::queue::Pack;
        let ring = crate::queue::ring_slot_bytes::<Packed<u64>>();
        let list = slot_bytes::<u64>();
        // The ARMv7 Pi is the 32-bit target this runs on, under qemu in CI.
        let expected = if cfg!(target_pointer_width = "64") {
            (24, 33)
        } else {
            (24, 25)
        };
        assert_eq!((ring, list), expected);
        let q = Queue::<Entry<u64>, Packed<u64>>::for_slot_charges(64 << 10);
        let odd = Entry::Item {
            value: 7,
            charge: slot_bytes::<u64>() + 1,
        };
        assert!(matches!(q.push(odd), Err(Entry::Item { value: 7, .. })));
        let exact = Entry::Item {
            value: 8,
            charge: slot_bytes::<u64>(),
        };
        assert!(q.push(exact).is_ok());
        assert!(q.push(Entry::Disk { upto: 3 }).is_ok());
        // SAFETY: the test thread is the only consumer.
        let (first, second) = unsafe { (q.pop(), q.pop()) };
        assert!(
            matches!(first, Some(Entry::Item { value: 8, charge }) if charge == slot_bytes::<u64>())
        );
        assert!(matches!(second, Some(Entry::Disk { upto: 3 })));
        assert!(matches!(
            Packed::<u64>::pack(Entry::Disk { upto: 1 }),
            Ok(Packed::Disk(1))
        ));
    }

    /// A caller's size function may say "more than any bound" with `usize::MAX`: the
    /// item is then charged that much (and goes to disk), not its slot plus a wrapped sum.
    #[test]
    #[cfg_attr(miri, ignore = "the channel's files need the file system")]
    fn a_huge_custom_charge_saturates_and_the_item_goes_to_disk() {
        let huge = Accounting::<u64>::Custom(|_| usize::MAX);
        assert_eq!(huge.charge(&7), usize::MAX);
        let dir = tempfile::tempdir().unwrap();
        let (mut tx, mut rx) = Builder::<u64>::new()
            .memory_bytes(1 << 20)
            .accounting(huge)
            .build("huge", dir.path())
            .unwrap();
        tx.send(7).unwrap();
        assert_eq!(
            records_on_disk(&tx),
            1,
            "charged more than the bound: to disk"
        );
        assert_eq!(rx.try_recv().unwrap(), 7);
    }

    /// The one item an empty channel takes whatever its charge, when the disk is full too,
    /// may be charged `usize::MAX`: the receiver takes it while it holds back the charge of
    /// an earlier item, and gives both back, exactly.
    #[test]
    #[cfg_attr(miri, ignore = "the channel's files need the file system")]
    fn a_forced_item_charged_usize_max_is_taken_and_its_charge_given_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut tx, mut rx) = Builder::<u64>::new()
            .memory_bytes(1 << 20)
            .disk_files(0)
            .accounting(Accounting::Custom(|v| if *v == 7 { usize::MAX } else { 0 }))
            .build("forced", dir.path())
            .unwrap();
        tx.send(1).unwrap();
        // Taken; its charge is held back for the next batch.
        assert_eq!(rx.recv().unwrap(), 1);
        assert!(rx.unreleased > 0);
        // No room in memory, none on disk, the channel empty: taken all the same.
        tx.send(7).unwrap();
        assert_eq!(rx.recv().unwrap(), 7);
        assert!(
            rx.shared.queue.budget().used() <= 1 << 20,
            "charges given back"
        );
        // Memory takes items again: two, so that the second is not the empty channel's.
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        assert_eq!((rx.recv().unwrap(), rx.recv().unwrap()), (2, 3));
    }

    fn records_on_disk<T>(tx: &Sender<T>) -> u64 {
        let writer = tx.shared.lock_writer();
        writer.next_index() - writer.first_index()
    }
}
