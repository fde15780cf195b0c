//! The spilling side: appends records to segment files, rotates them at their size limit,
//! and never lets an accepted record go missing, even when the disk fills up.
//!
//! Records are gathered in a write buffer ([`WRITE_BUFFER`]) and written with one
//! positioned write per buffer, so spilling costs a system call per 64 KiB, not per item.
//! An accepted record is in the file or in that buffer. If writing the buffer fails
//! partway (no space left, file size limit), the records that made it whole stay in the
//! file, the rest stay in the buffer, and the item being sent is handed back with the
//! error. The receiver, finding the file exhausted, takes the buffered records directly
//! ([`Writer::refresh`]); the segment is then sealed and the next record starts a new
//! file. Damage found in the file being written takes only the records in the file: the
//! buffered ones are handed over the same way ([`Writer::abandon_front`]). So "accepted"
//! always means "will be delivered".
//!
//! The writer is shared by every sender and the receiver behind one mutex; the receiver
//! takes it only when it runs out of bytes it knows to be complete.

use crate::dir::FILE_MODE;
use crate::error::{Error, from_io};
use crate::record::{self, SEGMENT_MAGIC};
use crate::sync::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

/// Bytes of whole records gathered before they are written out. Also bounds the spilled
/// data that sits in memory, which is why the memory bound's documented overhead counts it.
pub const WRITE_BUFFER: usize = 64 * 1024;

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
    /// Still being written; this many bytes are complete in the file.
    Open { len: u64 },
    /// Finished.
    Sealed(Sealed),
    /// Finished, but its last records could not be written to the file: here they are.
    /// They follow the file's `sealed.len` valid bytes.
    HandedOver { records: Vec<u8>, sealed: Sealed },
}

/// What is left to read of a segment given up for damage.
#[derive(Debug)]
pub(crate) enum Abandoned {
    /// Nothing: reading goes on at index `end`.
    Gone { end: u64 },
    /// Its last records, which never reached the file: intact and accepted. They follow
    /// the file's `sealed.len` valid bytes and end at `sealed.end`.
    HandedOver { records: Vec<u8>, sealed: Sealed },
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
    /// Bytes of the current segment in its file.
    file_len: u64,
    /// Whole records of the current segment not written to its file yet.
    buf: Vec<u8>,
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
            buf: Vec::new(),
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
        (self.announced < self.next_index).then(|| {
            self.announced = self.next_index;
            self.next_index
        })
    }

    /// Appends one encoded record (from [`record::encode`]). `consumed` is how many
    /// records the receiver has read (see [`Self::rotate`]).
    ///
    /// On error the record is not in the channel; records accepted before it still are.
    pub(crate) fn append(&mut self, record: &[u8], consumed: u64) -> Result<(), Error> {
        // 2^64 records are out of reach of any real channel; only a recovered segment
        // whose name was set close to the last index gets here.
        let Some(next_index) = self.next_index.checked_add(1) else {
            return Err(Error::IoError(io::Error::new(
                io::ErrorKind::InvalidData,
                "no record index is left: a recovered segment file's name put the last \
                 record at index u64::MAX",
            )));
        };
        let size = record.len() as u64;
        let segment_len = self.file_len + self.buf.len() as u64;
        let holds_records = segment_len > MAGIC_LEN;
        if self.file.is_none() || (holds_records && segment_len + size > self.limits.file_bytes) {
            self.rotate(consumed)?;
        }
        // Exact reservations: doubling would let the buffer's capacity reach twice what
        // the memory overhead documents.
        if self.buf.len() + record.len() > self.buf.capacity() {
            self.buf
                .reserve_exact(WRITE_BUFFER.max(self.buf.len()) + record.len() - self.buf.len());
        }
        self.buf.extend_from_slice(record);
        if (self.write_through || self.buf.len() >= WRITE_BUFFER)
            && let Err(e) = self.write_buffer()
        {
            // The failed write left this record (the buffer's last) outside the file,
            // whole, in the buffer: take it back out and hand the item back.
            self.buf.truncate(self.buf.len() - record.len());
            return Err(from_io(e));
        }
        self.next_index = next_index;
        Ok(())
    }

    /// Writes buffered records to the current file.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.write_buffer()
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        let Some(file) = &self.file else {
            debug_assert!(self.buf.is_empty(), "records buffered without a file");
            return Ok(());
        };
        let mut done = 0;
        let result = loop {
            if done == self.buf.len() {
                break Ok(());
            }
            match file.write_at(&self.buf[done..], self.file_len + done as u64) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        // Keep the records that reached the file whole; a record cut by the failure stays
        // in the buffer, whole, and is rewritten over the debris later.
        let whole = if result.is_ok() {
            done
        } else {
            record::whole_records_len(&self.buf, done)
        };
        self.file_len += whole as u64;
        self.buf.drain(..whole);
        if result.is_err() && done > whole {
            // Best effort: cut the debris so a recovery scan ends cleanly. Readers never
            // look past `file_len`, so leaving it is harmless if this fails too.
            let _ = file.set_len(self.file_len);
        }
        if self.buf.capacity() > 2 * WRITE_BUFFER && self.buf.len() <= WRITE_BUFFER {
            self.buf.shrink_to(WRITE_BUFFER);
        }
        result
    }

    /// Seals the current segment (if any) and opens the next one.
    ///
    /// At the file limit, sealed files the receiver has read to their end (`consumed`
    /// records) are deleted here: the receiver deletes a file only when it needs the next
    /// record, so a drained channel would otherwise keep its last file, and with a limit of
    /// one file refuse every spill for ever.
    fn rotate(&mut self, consumed: u64) -> Result<(), Error> {
        if self.file.is_some() {
            self.write_buffer().map_err(from_io)?;
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
        debug_assert!(self.buf.is_empty());
        self.file = None;
        let sealed = Sealed {
            end: self.next_index,
            len: self.file_len,
        };
        if let Some(last) = self.segments.back_mut() {
            last.sealed = Some(sealed);
        }
    }

    /// The oldest segment on disk: the one the receiver reads.
    pub(crate) fn front(&self) -> Option<&Segment> {
        self.segments.front()
    }

    /// Brings the receiver up to date on the oldest segment, writing out what is buffered
    /// for it, or handing the buffered records over if they cannot be written.
    pub(crate) fn refresh(&mut self) -> Option<Refresh> {
        let front = self.segments.front()?;
        if let Some(sealed) = front.sealed {
            return Some(Refresh::Sealed(sealed));
        }
        // The oldest segment is the current one.
        match self.write_buffer() {
            Ok(()) => Some(Refresh::Open { len: self.file_len }),
            Err(_) => {
                let records = std::mem::take(&mut self.buf);
                self.seal_current();
                let sealed = self.segments.front()?.sealed?;
                Some(Refresh::HandedOver { records, sealed })
            }
        }
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
    /// inspection. Its records still in the write buffer are handed over.
    pub(crate) fn abandon_front(&mut self, first: u64) -> Abandoned {
        if self.segments.front().is_none_or(|f| f.first != first) {
            // Already deleted, read to its end (see `rotate`): nothing after it was lost.
            return Abandoned::Gone { end: first };
        }
        let mut buffered = Vec::new();
        if self.segments.len() == 1 && self.file.is_some() {
            // The damage is in the file; the records still buffered never reached it.
            // Accepted and intact, they are delivered like those `refresh` hands over.
            buffered = std::mem::take(&mut self.buf);
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
            Some(sealed) if !buffered.is_empty() => Abandoned::HandedOver {
                records: buffered,
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
            let _ = self.write_buffer();
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
