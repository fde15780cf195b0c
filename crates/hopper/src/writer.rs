//! The spilling side: appends records to segment files, rotates them at their size limit,
//! and never lets an accepted record go missing, even when the disk fills up.
//!
//! # Blocks
//!
//! A sender encodes its item straight into the block being filled (the write buffer,
//! [`WRITE_BUFFER`] bytes) under the writer's lock: no encoding buffer of its own, no
//! second copy. Once the block holds [`WRITE_BUFFER`] bytes it is sealed (its header and
//! checksum filled in, see `record`) and written with one positioned write, so spilling
//! costs a system call and a checksum per block, not per item. In recover mode every
//! record is a block of its own, written before `send` returns.
//!
//! An accepted record is in the file, in the block being filled, or already with the
//! receiver (see below). If writing the block fails (no space left, file size limit),
//! none of it counts as written — a block is whole or it is debris, which is cut off — its
//! records stay in memory, and the item being sent is handed back with the error.
//!
//! # The receiver reads the tail from memory
//!
//! A receiver that has read every block in the file does not make the writer write a
//! short block for it (which would cost both sides a system call and a checksum for a few
//! records, and hold senders up while it happens): it takes the block being filled out of
//! the writer whole ([`Writer::refresh`]), giving its own emptied buffer in exchange, and
//! the senders fill that from the same offset. The records move, not a byte of them is
//! copied, and they never reach the file: nobody would read them there, so a receiver
//! keeping pace costs the disk only what it falls behind by, and costs itself no copy. In
//! recover mode every record is in the file before `send` returns, so the block is empty
//! whenever the receiver asks, and nothing is taken.
//!
//! If the block cannot be written (the disk is full), the receiver that takes its last
//! records also seals the segment, so that the next record starts a new file. Damage found
//! in the file being written takes only the records in the file: the block's are handed
//! over the same way ([`Writer::abandon_front`]). So "accepted" always means "will be
//! delivered".
//!
//! The writer is shared by every sender and the receiver behind one mutex; the receiver
//! takes it only when it runs out of bytes it knows to be complete.

use crate::dir::FILE_MODE;
use crate::error::{Error, from_io};
use crate::record::{self, BLOCK_HEADER, SEGMENT_MAGIC};
use crate::sync::{AtomicU64, Mutex, MutexGuard};
use serde::Serialize;
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

/// Bytes of a block (header and whole records) gathered before it is written out: large
/// enough that the system call and the checksum are spread over many items, and that a
/// receiver keeping pace takes each block from memory before it fills up, even when it
/// sleeps or is descheduled for a moment — with 64 KiB, a receiver taking 1 KiB items
/// as fast as they came still let half the blocks reach the file, and the channel moved
/// half as many bytes a second (see `docs/channel.md`). Also bounds the spilled data that
/// sits in memory (plus one record), in the writer and again in the receiver's hands,
/// which is why the memory bound's documented overhead counts it twice.
pub const WRITE_BUFFER: usize = 128 * 1024;

const MAGIC_LEN: u64 = SEGMENT_MAGIC.len() as u64;

/// How much disk the channel may use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DiskLimits {
    /// A segment file is closed once the next record would take it past this many bytes
    /// (header included). A file always takes at least one record, however large.
    pub file_bytes: u64,
    /// Most segment files on disk at once; 0 disables spilling.
    pub files: usize,
}

/// A segment file still on disk.
#[derive(Debug)]
pub(crate) struct Segment {
    pub first: u64,
    pub path: PathBuf,
    /// Set once the writer has moved on: no record will be added.
    pub sealed: Option<Sealed>,
}

/// A finished segment: where its records end, in indexes and in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sealed {
    /// Index after the segment's last record.
    pub end: u64,
    /// Valid bytes in the file; anything beyond is debris of a failed write.
    pub len: u64,
}

/// What the receiver learns about the segment it is reading.
#[derive(Debug)]
pub(crate) enum Refresh {
    /// Still being written; this many bytes of whole blocks are in the file.
    Open { len: u64 },
    /// Finished: no record will be added.
    Sealed(Sealed),
}

/// What is left to read of a segment given up for damage.
#[derive(Debug)]
pub(crate) enum Abandoned {
    /// Nothing: reading goes on at index `end`.
    Gone { end: u64 },
    /// Its last records, which never reached the file: intact and accepted. They follow
    /// the file's `sealed.len` valid bytes and end at `sealed.end`; `block` holds them as
    /// the writer did ([`Writer::refresh`]): header space, then the records.
    HandedOver { block: Vec<u8>, sealed: Sealed },
}

#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    limits: DiskLimits,
    /// Write every record as it is sent (recover mode), instead of a buffer at a time.
    write_through: bool,
    /// Live segments, oldest first. The last one is being written iff `file` is set.
    segments: VecDeque<Segment>,
    file: Option<File>,
    /// Bytes of the current segment in its file: whole blocks.
    file_len: u64,
    /// The block being filled, to be written at `file_len`: [`BLOCK_HEADER`] bytes of
    /// space for its header (once it has been used at all), then whole records of the
    /// current segment.
    block: Vec<u8>,
    /// The last attempt to write `block` failed: the receiver takes its records when it
    /// gets to them, and the segment ends there ([`Writer::refresh`]).
    write_failed: bool,
    next_index: u64,
    /// Records below this index have been announced to the receiver (by a marker in the
    /// memory queue or by the receiver claiming them).
    announced: u64,
}

impl Writer {
    pub(crate) fn new(dir: &Path, limits: DiskLimits, write_through: bool) -> Self {
        Writer {
            dir: dir.to_path_buf(),
            limits,
            write_through,
            segments: VecDeque::new(),
            file: None,
            file_len: 0,
            block: Vec::new(),
            write_failed: false,
            next_index: 0,
            announced: 0,
        }
    }

    /// Takes over segments left on disk by an earlier channel (recover mode): every one
    /// is sealed, the last one cut back to its last whole record (a torn tail is what a
    /// crash mid-write leaves), or deleted if it holds none. Nothing recovered is
    /// announced yet.
    pub(crate) fn recover(
        dir: &Path,
        limits: DiskLimits,
        found: Vec<(u64, PathBuf)>,
        last_valid: impl Fn(&Path) -> io::Result<(u64, u64)>,
    ) -> io::Result<Self> {
        let mut writer = Writer::new(dir, limits, true);
        for (_, path) in &found {
            crate::reader::check_format(path)?;
        }
        let mut iter = found.into_iter().peekable();
        while let Some((first, path)) = iter.next() {
            let sealed = match iter.peek() {
                Some((next_first, _)) => Sealed {
                    end: *next_first,
                    len: fs::metadata(&path)?.len(),
                },
                None => {
                    let (records, len) = last_valid(&path)?;
                    if records == 0 {
                        // The writer died, or the disk filled up, after creating the file
                        // and before its first record was whole: no item is in it. The
                        // next record gets its index, `first`, and `rotate` creates that
                        // record's file under this very name, so the file goes and a
                        // segment stays named after its first record. Reusing the file
                        // would need a second way to open a current segment, one that
                        // also rewrites a magic cut short. Only the last segment can be
                        // empty: a write-through writer starts a file only once the one
                        // before holds a record.
                        fs::remove_file(&path)?;
                        writer.next_index = first;
                        break;
                    }
                    // The name is all that says where the records start; a tampered one
                    // can leave them no room.
                    let end = first.checked_add(records).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "cannot recover {}: its {records} item(s) from index {first} \
                                 run past the last index; move the file away, then reopen",
                                path.display()
                            ),
                        )
                    })?;
                    let file = OpenOptions::new().write(true).open(&path)?;
                    file.set_len(len)?;
                    Sealed { end, len }
                }
            };
            writer.next_index = sealed.end;
            writer.segments.push_back(Segment {
                first,
                path,
                sealed: Some(sealed),
            });
        }
        writer.announced = writer.first_index();
        Ok(writer)
    }

    /// Index of the oldest record still on disk, where the receiver starts reading.
    pub(crate) fn first_index(&self) -> u64 {
        self.segments.front().map_or(self.next_index, |s| s.first)
    }

    pub(crate) fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Marks every record written so far as announced; returns the index after them, or
    /// `None` if there was nothing new.
    pub(crate) fn announce(&mut self) -> Option<u64> {
        let upto = self.unannounced()?;
        self.mark_announced(upto);
        Some(upto)
    }

    /// What [`announce`](Self::announce) would announce, without marking it announced:
    /// for a sender that must first find a slot for the marker.
    pub(crate) fn unannounced(&self) -> Option<u64> {
        (self.announced < self.next_index).then_some(self.next_index)
    }

    /// Records every record below `upto` as announced.
    pub(crate) fn mark_announced(&mut self, upto: u64) {
        self.announced = upto;
    }

    /// Bytes of records in the block being filled.
    fn records_len(&self) -> usize {
        self.block.len().saturating_sub(BLOCK_HEADER)
    }

    /// Encodes `item`, whose payload takes `payload` bytes ([`record::payload_len`]), and
    /// appends it as one record. `consumed` is how many records the receiver has read,
    /// looked at only when a file is to be started (see [`Self::rotate`]): it is written
    /// by the receiver for every record, so reading it on every append would cost each
    /// sender a cache miss per item.
    ///
    /// On error the record is not in the channel; records accepted before it still are.
    pub(crate) fn append<T: Serialize + ?Sized>(
        &mut self,
        item: &T,
        payload: usize,
        consumed: &AtomicU64,
    ) -> Result<(), Error> {
        // 2^64 records are out of reach of any real channel; only a recovered segment
        // whose name was set close to the last index gets here.
        let Some(next_index) = self.next_index.checked_add(1) else {
            return Err(Error::IoError(io::Error::new(
                io::ErrorKind::InvalidData,
                "no record index is left: a recovered segment file's name put the last \
                 record at index u64::MAX",
            )));
        };
        let size = record::record_len(payload);
        // The segment's length once the block holding this record is written.
        let segment_len = (self.file_len + BLOCK_HEADER as u64)
            .saturating_add(self.records_len() as u64)
            .saturating_add(size as u64);
        let holds_records = self.file_len > MAGIC_LEN || self.records_len() > 0;
        if self.file.is_none() || (holds_records && segment_len > self.limits.file_bytes) {
            self.rotate(consumed.load(Ordering::Acquire))?;
        }
        // Exact reservations: doubling would let the block's capacity reach twice what
        // the memory overhead documents. Below `WRITE_BUFFER` before this record (it is
        // written once it reaches it), so it stays within `WRITE_BUFFER` plus a record.
        let start = self.block.len().max(BLOCK_HEADER);
        let needed = start.saturating_add(size);
        if needed > self.block.capacity() {
            self.block
                .reserve_exact(WRITE_BUFFER.max(needed) - self.block.len());
        }
        self.block.resize(start, 0);
        record::append(item, payload, &mut self.block)
            .map_err(|why| Error::IoError(io::Error::new(io::ErrorKind::InvalidData, why)))?;
        if (self.write_through || self.block.len() >= WRITE_BUFFER)
            && let Err(e) = self.write_block()
        {
            // The failed write left this record (the block's last) outside the file,
            // whole, in the block: take it back out and hand the item back.
            self.block.truncate(start);
            return Err(from_io(e));
        }
        self.next_index = next_index;
        Ok(())
    }

    /// Writes the block being filled to the current file.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.write_block()
    }

    /// Seals the block being filled and writes it at the end of the file. On failure
    /// nothing of it counts as written: its records stay in the block, and the debris is
    /// cut off.
    fn write_block(&mut self) -> io::Result<()> {
        if self.records_len() == 0 {
            return Ok(());
        }
        let Some(file) = &self.file else {
            debug_assert!(false, "records buffered without a file");
            return Ok(());
        };
        record::seal(&mut self.block);
        if let Err(e) = file.write_all_at(&self.block, self.file_len) {
            self.write_failed = true;
            // Best effort: cut the debris so a recovery scan ends cleanly. Readers never
            // look past `file_len`, so leaving it is harmless if this fails too.
            let _ = file.set_len(self.file_len);
            return Err(e);
        }
        self.write_failed = false;
        self.file_len += self.block.len() as u64;
        self.block.truncate(BLOCK_HEADER);
        if self.block.capacity() > 2 * WRITE_BUFFER {
            self.block.shrink_to(WRITE_BUFFER);
        }
        Ok(())
    }

    /// Seals the current segment (if any) and opens the next one.
    ///
    /// At the file limit, sealed files the receiver has read to their end (`consumed`
    /// records) are deleted here: the receiver deletes a file only when it needs the next
    /// record, so a drained channel would otherwise keep its last file, and with a limit of
    /// one file refuse every spill for ever.
    fn rotate(&mut self, consumed: u64) -> Result<(), Error> {
        if self.file.is_some() {
            self.write_block().map_err(from_io)?;
            self.seal_current();
        }
        while self.segments.len() >= self.limits.files {
            match self.segments.front() {
                Some(front) if front.sealed.is_some_and(|s| s.end <= consumed) => {
                    fs::remove_file(&front.path).map_err(from_io)?;
                    self.segments.pop_front();
                }
                _ => return Err(Error::Full),
            }
        }
        let path = record::segment_path(&self.dir, self.next_index);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&path)
            .map_err(from_io)?;
        if let Err(e) = file.write_all_at(&SEGMENT_MAGIC, 0) {
            let _ = fs::remove_file(&path);
            return Err(from_io(e));
        }
        self.segments.push_back(Segment {
            first: self.next_index,
            path,
            sealed: None,
        });
        self.file = Some(file);
        self.file_len = MAGIC_LEN;
        Ok(())
    }

    fn seal_current(&mut self) {
        debug_assert_eq!(
            self.records_len(),
            0,
            "sealing a segment with records unwritten"
        );
        self.file = None;
        self.write_failed = false;
        let sealed = Sealed {
            end: self.next_index,
            len: self.file_len,
        };
        if let Some(last) = self.segments.back_mut() {
            last.sealed = Some(sealed);
        }
    }

    /// Takes the block being filled out of the writer if it holds records, for the
    /// receiver: swaps it with `spare`, which then holds [`BLOCK_HEADER`] bytes
    /// (unsealed) and the records — moved, not copied — while the senders fill the old
    /// `spare`, emptied, from the same offset. Whether it did: with no records, `spare`
    /// is left as it was, capacity and all (the receiver's buffer; at 128 KiB, dropping
    /// it would cost a `munmap` and the next read an `mmap`).
    fn take_block(&mut self, spare: &mut Vec<u8>) -> bool {
        if self.records_len() == 0 {
            return false;
        }
        spare.clear();
        // What the receiver hands over may have read one large record from a file: the
        // block keeps no more capacity than writing it back would (`write_block`).
        if spare.capacity() > 2 * WRITE_BUFFER {
            spare.shrink_to(WRITE_BUFFER);
        }
        std::mem::swap(&mut self.block, spare);
        true
    }

    /// The oldest segment on disk: the one the receiver reads.
    pub(crate) fn front(&self) -> Option<&Segment> {
        self.segments.front()
    }

    /// Brings the receiver up to date on the oldest segment. The receiver has read the
    /// file's whole blocks up to byte `at`.
    ///
    /// If `at` is where the block being filled will be written and the block holds
    /// records, it is swapped with `block` ([`Self::take_block`]): the receiver reads them
    /// from memory, and they will not be in the file. If that block could not be written,
    /// the segment ends with it: the records are the receiver's now, and it is sealed so
    /// that the next record starts a new file.
    pub(crate) fn refresh(&mut self, at: u64, block: &mut Vec<u8>) -> Option<Refresh> {
        let front = self.segments.front()?;
        if let Some(sealed) = front.sealed {
            return Some(Refresh::Sealed(sealed));
        }
        // The oldest segment is the current one. (The block is taken first, whether or
        // not its write failed.)
        if at == self.file_len && self.take_block(block) && self.write_failed {
            self.seal_current();
            return self.segments.front()?.sealed.map(Refresh::Sealed);
        }
        Some(Refresh::Open { len: self.file_len })
    }

    /// Deletes the oldest segment, which the receiver has read to its end.
    pub(crate) fn remove_front(&mut self) -> io::Result<()> {
        if let Some(front) = self.segments.front() {
            debug_assert!(front.sealed.is_some(), "removing a segment still written");
            fs::remove_file(&front.path)?;
            self.segments.pop_front();
        }
        Ok(())
    }

    /// Gives up on the oldest segment, which holds damaged data: it is sealed if it was
    /// still being written, taken off the live list and renamed `*.corrupt` for
    /// inspection. The records of its block being filled are handed over: the receiver
    /// has taken none of them (it takes a block whole, [`Self::refresh`]).
    pub(crate) fn abandon_front(&mut self, first: u64) -> Abandoned {
        if self.segments.front().is_none_or(|f| f.first != first) {
            // Already deleted, read to its end (see `rotate`): nothing after it was lost.
            return Abandoned::Gone { end: first };
        }
        let mut buffered = Vec::new();
        let mut handed = false;
        if self.segments.len() == 1 && self.file.is_some() {
            // The damage is in the file; the records still buffered never reached it.
            // Accepted and intact, they are delivered like those `refresh` hands over.
            handed = self.take_block(&mut buffered);
            self.seal_current();
        }
        let Some(front) = self.segments.pop_front() else {
            return Abandoned::Gone {
                end: self.next_index,
            };
        };
        let mut quarantine = front.path.clone().into_os_string();
        quarantine.push(".corrupt");
        let _ = fs::rename(&front.path, quarantine);
        match front.sealed {
            Some(sealed) if handed => Abandoned::HandedOver {
                block: buffered,
                sealed,
            },
            sealed => Abandoned::Gone {
                end: sealed.map_or(self.next_index, |s| s.end),
            },
        }
    }

    /// Closes the writer. Segments are deleted unless they must outlive the channel.
    pub(crate) fn close(&mut self, keep_segments: bool) {
        if keep_segments {
            let _ = self.write_block();
        } else {
            self.file = None;
            for segment in self.segments.drain(..) {
                let _ = fs::remove_file(&segment.path);
            }
        }
    }
}

/// Locks the writer shared by the senders and the receiver. Its state is consistent at
/// every point a panic could leave it, so a poisoned lock is taken as is.
pub(crate) fn lock(writer: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    writer.lock().unwrap_or_else(PoisonError::into_inner)
}
