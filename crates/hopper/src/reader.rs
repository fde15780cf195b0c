//! The receiving side's disk half: reads spilled records back in order, deletes each
//! segment file once it is read, and turns every kind of bad data into a [`DiskError`]
//! that names the file and the offset — never a panic, never a silent gap.
//!
//! A [`Cursor`] walks one segment: it reads the file in chunks of at least
//! [`READ_CHUNK`] bytes, checks each block whole (both checksums) before it hands out any
//! of its records, and never reads past the length the writer says holds whole blocks.
//! When it has read all of those, it takes the block still being filled out of the
//! writer's memory instead, whole (see `writer`): those records never reach the file, and
//! the block written later at the same offset holds only records sent after them.

use crate::error::DiskError;
use crate::record::{self, BLOCK_HEADER, Block, SEGMENT_MAGIC};
use crate::sync::{AtomicU64, Mutex};
use crate::writer::{Abandoned, Refresh, Writer, lock};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// Bytes read from a segment file per system call (more when one block is larger): as
/// large as a full block, so that a receiver behind the writer reads about a block a
/// call. The receiver's buffer holds a chunk, or the one block that is larger, or the
/// block it took from the writer's memory.
pub(crate) const READ_CHUNK: usize = crate::writer::WRITE_BUFFER;

/// Reads the records of one segment file, up to a length known to be complete, and the
/// records after it that are still in the writer's memory.
#[derive(Debug)]
pub(crate) struct Cursor {
    path: PathBuf,
    file: File,
    /// Bytes of the file known to hold whole blocks; never read past.
    known_end: u64,
    /// File bytes read (`from_memory` false), or records taken from the writer's memory
    /// (`from_memory` true).
    buf: Vec<u8>,
    /// The file offset `buf[0]` stands for (for records from memory: where they will be
    /// written).
    buf_offset: u64,
    /// Records of the current block not handed out yet: a range of `buf`.
    records: Range<usize>,
    /// Where the next block starts in `buf`; `records.end <= pos`.
    pos: usize,
    from_memory: bool,
    magic_checked: bool,
    /// The file turned out shorter than `known_end` said (someone cut it): the bytes that
    /// are there are still read, and nothing more is expected.
    cut_short: Option<u64>,
}

/// What a cursor found next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A whole record of a checked block: its payload's range in [`Cursor::payload`],
    /// and the record's offset in the file.
    Record { payload: Range<usize>, offset: u64 },
    /// Nothing more within the known length; `partial` if a block starts but does not
    /// end there.
    End { partial: bool },
}

/// Why a cursor could not go on.
#[derive(Debug)]
pub(crate) enum CursorError {
    Corrupt { offset: u64, reason: String },
    Io(io::Error),
}

impl Cursor {
    pub(crate) fn open(path: &Path, known_end: u64) -> io::Result<Self> {
        Ok(Cursor {
            path: path.to_path_buf(),
            file: File::open(path)?,
            known_end,
            buf: Vec::new(),
            buf_offset: 0,
            records: 0..0,
            pos: 0,
            from_memory: false,
            magic_checked: false,
            cut_short: None,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Offset in the file of the next unread record, or of the next block between blocks.
    pub(crate) fn offset(&self) -> u64 {
        let at = if self.records.is_empty() {
            self.pos
        } else {
            self.records.start
        };
        self.buf_offset + at as u64
    }

    /// File offset after the last byte read from the file.
    fn read_to(&self) -> u64 {
        if self.from_memory {
            self.known_end
        } else {
            self.buf_offset + self.buf.len() as u64
        }
    }

    /// The file is now known to hold whole blocks up to `len`.
    pub(crate) fn extend(&mut self, len: u64) {
        if self.cut_short.is_some() || len <= self.known_end {
            return;
        }
        if self.from_memory {
            // Back to the file, at the block the records came from.
            self.buf.clear();
            self.buf_offset = self.known_end;
            self.records = 0..0;
            self.pos = 0;
            self.from_memory = false;
        }
        self.known_end = len;
    }

    /// Whether every record known has been handed out, with no damage seen: what the
    /// writer holds is what comes next.
    fn exhausted(&self) -> bool {
        self.magic_checked
            && self.cut_short.is_none()
            && self.records.is_empty()
            && (self.from_memory
                || (self.pos == self.buf.len() && self.read_to() == self.known_end))
    }

    /// If the file ended before its recorded length: why, for an error message.
    pub(crate) fn cut_short(&self) -> Option<String> {
        self.cut_short.map(|recorded| {
            format!(
                "the file ends at byte {}, before the {recorded} bytes its writer recorded",
                self.known_end
            )
        })
    }

    /// Where the receiver stands for [`Writer::refresh`]: the end of the known blocks.
    pub(crate) fn tail(&self) -> u64 {
        self.known_end
    }

    /// An empty buffer to give [`Writer::refresh`] in exchange for the block it takes;
    /// hand that back with [`read_from_memory`](Self::read_from_memory). Call only at the
    /// end of the known bytes.
    pub(crate) fn spare_buffer(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf
    }

    /// Takes `block` — the writer's block being filled, as it held it: [`BLOCK_HEADER`]
    /// bytes, then records, or nothing at all — as what is read next. Its records follow
    /// the known bytes, in no block of the file.
    pub(crate) fn read_from_memory(&mut self, block: Vec<u8>) {
        self.buf = block;
        self.buf_offset = self.known_end;
        self.records = BLOCK_HEADER.min(self.buf.len())..self.buf.len();
        self.pos = self.buf.len();
        self.from_memory = true;
    }

    /// Leaves the rest of the file unread: what is left to read is the records of
    /// `block` (as in [`read_from_memory`](Self::read_from_memory)), which would have
    /// followed the file's first `len` bytes.
    pub(crate) fn skip_to(&mut self, len: u64, block: Vec<u8>) {
        self.known_end = len;
        self.cut_short = None;
        // Records from memory: no magic in front of them.
        self.magic_checked = true;
        self.read_from_memory(block);
    }

    pub(crate) fn payload(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    pub(crate) fn next(&mut self) -> Result<Step, CursorError> {
        if !self.magic_checked {
            let magic = SEGMENT_MAGIC.len();
            if self.buf.len() - self.pos < magic && !self.fill(magic)? {
                return Ok(Step::End {
                    partial: self.pos < self.buf.len(),
                });
            }
            let found = &self.buf[self.pos..self.pos + magic];
            if found != SEGMENT_MAGIC {
                let reason = record::old_format(found).unwrap_or_else(|| {
                    "not a reclaim-hopper segment file (wrong magic bytes)".into()
                });
                return Err(CursorError::Corrupt { offset: 0, reason });
            }
            self.pos += magic;
            self.records = self.pos..self.pos;
            self.magic_checked = true;
        }
        loop {
            if !self.records.is_empty() {
                return match record::parse_record(&self.buf[self.records.clone()]) {
                    Ok((payload, size)) => {
                        let start = self.records.start;
                        self.records.start += size;
                        Ok(Step::Record {
                            payload: start + payload.start..start + payload.end,
                            offset: self.buf_offset + start as u64,
                        })
                    }
                    Err(reason) => Err(CursorError::Corrupt {
                        offset: self.offset(),
                        reason,
                    }),
                };
            }
            if self.from_memory {
                return Ok(Step::End { partial: false });
            }
            match record::parse_block(&self.buf[self.pos..]) {
                Block::Whole { records, size } => {
                    self.records = self.pos + records.start..self.pos + records.end;
                    self.pos += size;
                }
                Block::Corrupt(reason) => {
                    return Err(CursorError::Corrupt {
                        offset: self.offset(),
                        reason,
                    });
                }
                Block::Incomplete { size } => {
                    if !self.fill(size)? {
                        return Ok(Step::End {
                            partial: self.pos < self.buf.len(),
                        });
                    }
                }
            }
        }
    }

    /// Moves past whole records up to the end of the known bytes or the first damage:
    /// how many it passed, and why it stopped.
    pub(crate) fn skip_records(&mut self) -> (u64, Result<(), CursorError>) {
        let mut records = 0;
        loop {
            match self.next() {
                Ok(Step::Record { .. }) => records += 1,
                Ok(Step::End { .. }) => return (records, Ok(())),
                Err(e) => return (records, Err(e)),
            }
        }
    }

    /// Makes at least `need` unread bytes available from `pos` if the known length
    /// allows; `false` if it does not (a block claiming more than the file holds is never
    /// read into memory, whatever its length field says), or if the file turns out to be
    /// shorter.
    fn fill(&mut self, need: usize) -> Result<bool, CursorError> {
        let at = self.buf_offset + self.pos as u64;
        if at.saturating_add(need as u64) > self.known_end {
            return Ok(false);
        }
        self.buf.drain(..self.pos);
        self.buf_offset = at;
        self.records = 0..0;
        self.pos = 0;
        let read_to = self.read_to();
        if read_to < self.known_end {
            // The buffer holds at most a chunk, or the one block that is larger: reading a
            // whole chunk after a block's first bytes would let it reach twice that.
            let chunk = need.max(READ_CHUNK).saturating_sub(self.buf.len());
            // More than a `usize` counts is left only on 32-bit targets: a chunk fits then.
            let want =
                usize::try_from(self.known_end - read_to).map_or(chunk, |left| chunk.min(left));
            self.read_file(want)?;
        }
        // Short of `need` only if the file was cut: what it still holds is there to be
        // reported, and nothing is to be read beyond it.
        Ok(self.buf.len() >= need)
    }

    /// Appends the file's next `want` bytes to `buf`, or as many as it still holds.
    fn read_file(&mut self, want: usize) -> Result<(), CursorError> {
        let start = self.buf.len();
        let offset = self.read_to();
        self.buf.reserve_exact(want);
        self.buf.resize(start + want, 0);
        let mut got = 0;
        while got < want {
            match self
                .file
                .read_at(&mut self.buf[start + got..], offset + got as u64)
            {
                Ok(0) => {
                    // Shorter than recorded: keep what is there, expect nothing more.
                    self.buf.truncate(start + got);
                    self.cut_short = Some(self.known_end);
                    self.known_end = offset + got as u64;
                    return Ok(());
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(start + got);
                    return Err(CursorError::Io(e));
                }
            }
        }
        Ok(())
    }
}

/// A spilled record, read and checked: its payload and where it was.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub payload: &'a [u8],
    pub path: &'a Path,
    pub offset: u64,
}

/// The segment being read.
#[derive(Debug)]
struct Reading {
    /// Index of the segment's first record: its identity in the writer's list.
    first: u64,
    cursor: Cursor,
    /// Index after the segment's last record, once the writer has sealed it.
    end: Option<u64>,
}

impl Reading {
    /// Learns from the writer what more there is of this segment, which it still has and
    /// has not sealed, once the cursor has read all it knew of: a longer file, the end of
    /// the segment, or — with `take` — the records of the block being filled that follow
    /// what the cursor has. Whether any of these came.
    fn catch_up(&mut self, w: &mut Writer, take: bool) -> bool {
        let known = self.cursor.known_end;
        let mut block = Vec::new();
        let at = if take {
            block = self.cursor.spare_buffer();
            self.cursor.tail()
        } else {
            u64::MAX
        };
        let refresh = w.refresh(at, &mut block);
        let took = block.len() > BLOCK_HEADER;
        if take {
            self.cursor.read_from_memory(block);
        }
        match refresh {
            Some(Refresh::Open { len }) => {
                self.cursor.extend(len);
                len > known || took
            }
            Some(Refresh::Sealed(sealed)) => {
                self.cursor.extend(sealed.len);
                self.end = Some(sealed.end);
                true
            }
            None => false,
        }
    }
}

/// Reads records in index order across segment files.
#[derive(Debug)]
pub(crate) struct DiskReader {
    reading: Option<Reading>,
    /// Index of the next record to read.
    read_index: u64,
    /// Records below this index are due: announced by a marker or claimed.
    target: u64,
}

impl DiskReader {
    pub(crate) fn new(first_index: u64) -> Self {
        DiskReader {
            reading: None,
            read_index: first_index,
            target: first_index,
        }
    }

    /// Catches up with the segment being read while the caller holds the writer's lock
    /// anyway (the receiver claiming what is on disk), if everything known of it has been
    /// read: saves [`next`](Self::next) taking the lock again at once for the same thing.
    pub(crate) fn refill(&mut self, w: &mut Writer) {
        if let Some(reading) = &mut self.reading
            && reading.end.is_none()
            && reading.cursor.exhausted()
            && w.front().is_some_and(|f| f.first == reading.first)
        {
            reading.catch_up(w, true);
        }
    }

    /// Whether records are due before the next item from memory.
    pub(crate) fn has_due(&self) -> bool {
        self.read_index < self.target
    }

    /// Records below `upto` are due.
    pub(crate) fn due_until(&mut self, upto: u64) {
        self.target = self.target.max(upto);
    }

    /// The next due record. Call only while [`has_due`](Self::has_due). Publishes the
    /// number of records read so far in `consumed`, for the writer (see `Writer::rotate`).
    pub(crate) fn next<'a>(
        &'a mut self,
        writer: &Mutex<Writer>,
        consumed: &AtomicU64,
    ) -> Result<Record<'a>, DiskError> {
        debug_assert!(self.has_due());
        loop {
            if self.reading.is_none()
                && let Err(e) = self.open_front(writer)
            {
                return Err(self.published(consumed, e));
            }
            let reading = self.reading.as_mut().expect("opened above");
            match reading.cursor.next() {
                Ok(Step::Record { payload, offset }) => {
                    if let Some(end) = reading.end.filter(|&end| self.read_index >= end) {
                        // A record past the segment's range (its name, or its successor's,
                        // was changed): reading on would put this reader past the next
                        // segment's first item. Which records are the extra ones cannot be
                        // told, so the rest of the file goes, counted.
                        let (after, _) = reading.cursor.skip_records();
                        let reason = format!(
                            "the file holds more items than its range, {}..{end}",
                            reading.first
                        );
                        let e = self.abandon(writer, offset, reason, 1 + after);
                        return Err(self.published(consumed, e));
                    }
                    self.read_index += 1;
                    consumed.store(self.read_index, Ordering::Release);
                    let cursor = &self.reading.as_ref().expect("reading").cursor;
                    return Ok(Record {
                        payload: cursor.payload(payload),
                        path: cursor.path(),
                        offset,
                    });
                }
                Ok(Step::End { partial }) => {
                    if let Err(e) = self.at_end(writer, partial) {
                        return Err(self.published(consumed, e));
                    }
                }
                Err(CursorError::Corrupt { offset, reason }) => {
                    let e = self.abandon(writer, offset, reason, 0);
                    return Err(self.published(consumed, e));
                }
                Err(CursorError::Io(source)) => {
                    return Err(DiskError::Io {
                        path: reading.cursor.path().to_path_buf(),
                        source,
                    });
                }
            }
        }
    }

    /// Publishes the read position after an error that may have moved it past lost records.
    fn published(&self, consumed: &AtomicU64, e: DiskError) -> DiskError {
        consumed.store(self.read_index, Ordering::Release);
        e
    }

    /// Opens the oldest segment, checking it starts where the last one ended.
    fn open_front(&mut self, writer: &Mutex<Writer>) -> Result<(), DiskError> {
        let w = lock(writer);
        let Some(front) = w.front() else {
            let dir_hint = PathBuf::from("(no segment file)");
            drop(w);
            let lost = self.target - self.read_index;
            self.read_index = self.target;
            return Err(DiskError::Corrupt {
                path: dir_hint,
                offset: 0,
                reason: "items announced as spilled are in no segment file".into(),
                lost,
            });
        };
        if front.first != self.read_index {
            let (first, path) = (front.first, front.path.clone());
            drop(w);
            let lost = first.saturating_sub(self.read_index);
            let reason = format!(
                "items {}..{first} are missing: the oldest segment starts at item {first}",
                self.read_index
            );
            self.read_index = self.read_index.max(first);
            self.target = self.target.max(self.read_index);
            return Err(DiskError::Corrupt {
                path,
                offset: 0,
                reason,
                lost,
            });
        }
        let (path, sealed) = (front.path.clone(), front.sealed);
        drop(w);
        let cursor = Cursor::open(&path, sealed.map_or(0, |s| s.len))
            .map_err(|source| DiskError::Io { path, source })?;
        self.reading = Some(Reading {
            first: self.read_index,
            cursor,
            end: sealed.map(|s| s.end),
        });
        Ok(())
    }

    /// The cursor ran out of known bytes: learn more from the writer, or finish the file.
    fn at_end(&mut self, writer: &Mutex<Writer>, partial: bool) -> Result<(), DiskError> {
        let reading = self.reading.as_mut().expect("reading");
        let mut w = lock(writer);
        if w.front().is_none_or(|f| f.first != reading.first) {
            // The writer deleted it, read to its end, to make room (`Writer::rotate`).
            self.reading = None;
            return Ok(());
        }
        if let Some(reason) = reading.cursor.cut_short() {
            drop(w);
            let offset = reading.cursor.offset();
            return Err(self.abandon(writer, offset, reason, 0));
        }
        let end = match reading.end {
            Some(end) => end,
            None => {
                // After a partial block (damage) take nothing from memory, and let the
                // check below report it unless the file has grown.
                let progressed = reading.catch_up(&mut w, !partial);
                drop(w);
                if progressed {
                    return Ok(());
                }
                let offset = reading.cursor.offset();
                return Err(self.abandon(
                    writer,
                    offset,
                    "items announced as spilled are not in the file being written".into(),
                    0,
                ));
            }
        };
        if partial || self.read_index != end {
            drop(w);
            let offset = reading.cursor.offset();
            let reason = if partial {
                "the file ends inside a block (truncated)".to_string()
            } else {
                format!(
                    "the file ends after item {}, but its successor starts at item {end}",
                    self.read_index
                )
            };
            return Err(self.abandon(writer, offset, reason, 0));
        }
        w.remove_front().map_err(|source| DiskError::Io {
            path: reading.cursor.path().to_path_buf(),
            source,
        })?;
        self.reading = None;
        Ok(())
    }

    /// Skips the rest of a damaged segment's file and says how many items went with it:
    /// those of its range not read yet, plus `beyond`, records skipped past the end of its
    /// range. Records of it that never reached the file — those of the block the writer
    /// was filling — are intact, and read next.
    fn abandon(
        &mut self,
        writer: &Mutex<Writer>,
        offset: u64,
        reason: String,
        beyond: u64,
    ) -> DiskError {
        let mut reading = self.reading.take().expect("reading");
        let abandoned = { lock(writer).abandon_front(reading.first) };
        let (end, intact) = match abandoned {
            Abandoned::Gone { end } => (end, None),
            Abandoned::HandedOver { block, sealed } => (sealed.end, Some((sealed.len, block))),
        };
        // The intact records are the segment's last, still to be read.
        let resume = intact.as_ref().map_or(end, |(_, block)| {
            end.saturating_sub(record::count_records(
                block.get(BLOCK_HEADER..).unwrap_or_default(),
            ))
        });
        let lost = resume.saturating_sub(self.read_index) + beyond;
        self.read_index = self.read_index.max(resume);
        self.target = self.target.max(self.read_index);
        let error = DiskError::Corrupt {
            path: reading.cursor.path().to_path_buf(),
            offset,
            reason,
            lost,
        };
        if let Some((len, block)) = intact {
            reading.cursor.skip_to(len, block);
            reading.end = Some(end);
            self.reading = Some(reading);
        }
        error
    }
}

/// Refuses a segment file written in an earlier format: it is not damaged, and reading
/// it as damage would throw its items away. Other files are left to the reader, which
/// reports what is wrong with them.
pub(crate) fn check_format(path: &Path) -> io::Result<()> {
    let mut magic = [0; SEGMENT_MAGIC.len()];
    let file = File::open(path)?;
    let mut got = 0;
    while got < magic.len() {
        match file.read_at(&mut magic[got..], got as u64) {
            Ok(0) => return Ok(()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    match record::old_format(&magic) {
        Some(reason) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot open {}: {reason}", path.display()),
        )),
        None => Ok(()),
    }
}

/// Counts the records in the whole blocks at the front of a segment file and the bytes
/// they span (magic included): what survives of a file whose writer died mid-write. A
/// partial block at the end is what a crash leaves and is dropped; a damaged block is not
/// guessed past — it is an error naming the file, the offset and what to do.
pub(crate) fn valid_prefix(path: &Path) -> io::Result<(u64, u64)> {
    let len = std::fs::metadata(path)?.len();
    let mut cursor = Cursor::open(path, len)?;
    match cursor.skip_records() {
        (records, Ok(())) => {
            // Before the magic is complete the file holds nothing worth keeping.
            let valid = if cursor.magic_checked {
                cursor.offset()
            } else {
                0
            };
            Ok((records, valid))
        }
        (records, Err(CursorError::Corrupt { offset, reason })) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "cannot recover {}: {reason} at byte {offset}, after {records} intact item(s); \
                 move the file away, or cut it to {offset} bytes to keep those items, then reopen",
                path.display()
            ),
        )),
        (_, Err(CursorError::Io(e))) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a crash between creating a segment file and finishing its magic leaves: a
    /// file of 0 to 7 bytes, which recovery keeps nothing of (and does not panic on).
    #[test]
    fn a_file_shorter_than_its_magic_has_no_valid_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short");
        for len in 0..SEGMENT_MAGIC.len() {
            std::fs::write(&path, &SEGMENT_MAGIC[..len]).unwrap();
            assert_eq!(valid_prefix(&path).unwrap(), (0, 0), "{len} bytes");
        }
    }

    /// A sealed block holding `items`.
    fn block(items: &[&str]) -> Vec<u8> {
        let mut out = vec![0; BLOCK_HEADER];
        for item in items {
            record::append(item, record::payload_len(item).unwrap(), &mut out).unwrap();
        }
        record::seal(&mut out);
        out
    }

    fn read_item(cursor: &mut Cursor) -> Option<String> {
        match cursor.next() {
            Ok(Step::Record { payload, .. }) => {
                Some(postcard::from_bytes(cursor.payload(payload)).unwrap())
            }
            Ok(Step::End { .. }) => None,
            Err(e) => panic!("{e:?}"),
        }
    }

    /// More than 4 GiB left to read: converted with `as usize`, the remainder wrapped to
    /// a few bytes on 32-bit targets, and the cursor read less than it needed.
    #[test]
    fn a_file_of_more_than_4_gib_reads_like_any_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("large");
        let mut bytes = SEGMENT_MAGIC.to_vec();
        bytes.extend(block(&["first"]));
        std::fs::write(&path, &bytes).unwrap();
        // Sparse: no disk space is taken. 4 GiB + 4 leaves 4 bytes when cut to 32 bits.
        let len = (1 << 32) + 4;
        File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(len))
            .unwrap();
        let mut cursor = Cursor::open(&path, len).unwrap();
        assert_eq!(read_item(&mut cursor).as_deref(), Some("first"));
    }

    /// Records taken from memory are in no block of the file: the block written later at
    /// the same offset holds only what was sent after them, and all of it is read.
    #[test]
    fn records_taken_from_memory_are_followed_by_the_next_block_at_their_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peek");
        let mut bytes = SEGMENT_MAGIC.to_vec();
        bytes.extend(block(&["one"]));
        let first_block = bytes.len() as u64;
        std::fs::write(&path, &bytes).unwrap();
        let mut cursor = Cursor::open(&path, first_block).unwrap();
        assert_eq!(read_item(&mut cursor).as_deref(), Some("one"));
        assert_eq!(read_item(&mut cursor), None);

        // The writer's block holds "two", "three": the cursor takes it from memory.
        assert_eq!(cursor.tail(), first_block);
        let spare = cursor.spare_buffer();
        assert!(spare.is_empty());
        cursor.read_from_memory(block(&["two", "three"]));
        assert_eq!(cursor.offset(), first_block + BLOCK_HEADER as u64);
        assert_eq!(read_item(&mut cursor).as_deref(), Some("two"));
        assert_eq!(read_item(&mut cursor).as_deref(), Some("three"));
        assert_eq!(read_item(&mut cursor), None);
        assert_eq!(
            cursor.tail(),
            first_block,
            "nothing more of the file is known"
        );

        // The next block the writer fills from that offset, "four", is written there.
        bytes.extend(block(&["four"]));
        bytes.extend(block(&["five"]));
        std::fs::write(&path, &bytes).unwrap();
        cursor.extend(bytes.len() as u64);
        assert_eq!(read_item(&mut cursor).as_deref(), Some("four"));
        assert_eq!(read_item(&mut cursor).as_deref(), Some("five"));
        assert_eq!(read_item(&mut cursor), None);
        assert_eq!(cursor.tail(), bytes.len() as u64);
    }

    /// A block damaged on disk at the offset the cursor took records from memory for is
    /// damage at that offset, not a silent skip.
    #[test]
    fn a_damaged_block_after_records_from_memory_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peek-damaged");
        let magic = SEGMENT_MAGIC.len() as u64;
        std::fs::write(&path, SEGMENT_MAGIC).unwrap();
        let mut cursor = Cursor::open(&path, magic).unwrap();
        assert_eq!(read_item(&mut cursor), None);
        let _ = cursor.spare_buffer();
        cursor.read_from_memory(block(&["two"]));
        assert_eq!(read_item(&mut cursor).as_deref(), Some("two"));
        let mut bytes = SEGMENT_MAGIC.to_vec();
        let mut written = block(&["three"]);
        let last = written.len() - 1;
        written[last] ^= 1;
        bytes.extend(written);
        std::fs::write(&path, &bytes).unwrap();
        cursor.extend(bytes.len() as u64);
        match cursor.next() {
            Err(CursorError::Corrupt { offset, reason }) => {
                assert_eq!(offset, magic);
                assert!(reason.contains("checksum"), "{reason}");
            }
            other => panic!("expected damage, got {other:?}"),
        }
    }

    /// Records handed over follow the file's recorded length. If the file turns out cut
    /// short, the reader skips to them: they are read, intact, and nothing of the cut
    /// file after the damage.
    #[test]
    fn a_cut_file_skips_to_its_handed_over_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut");
        let mut bytes = SEGMENT_MAGIC.to_vec();
        bytes.extend(block(&["one"]));
        bytes.extend(block(&["two"]));
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        let mut cursor = Cursor::open(&path, bytes.len() as u64).unwrap();

        assert_eq!(read_item(&mut cursor).as_deref(), Some("one"));
        assert_eq!(read_item(&mut cursor), None, "the cut block, then nothing");
        assert!(cursor.cut_short().is_some());
        cursor.skip_to(bytes.len() as u64, block(&["three", "four"]));
        assert_eq!(read_item(&mut cursor).as_deref(), Some("three"));
        assert_eq!(read_item(&mut cursor).as_deref(), Some("four"));
        assert_eq!(read_item(&mut cursor), None);
    }

    /// The receiver's case: the writer recorded more bytes than the file still holds.
    #[test]
    fn a_file_cut_inside_its_magic_ends_the_cursor_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut");
        for len in 0..SEGMENT_MAGIC.len() {
            std::fs::write(&path, &SEGMENT_MAGIC[..len]).unwrap();
            let mut cursor = Cursor::open(&path, 100).unwrap();
            assert!(matches!(cursor.next(), Ok(Step::End { .. })), "{len} bytes");
            let why = cursor.cut_short().expect("the cut is noticed");
            assert!(why.contains(&format!("ends at byte {len}")), "{why}");
        }
    }

    /// A file of the previous format is refused by name, when read and when recovered.
    #[test]
    fn a_format_1_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old");
        std::fs::write(&path, b"RBHOPR01\x05\0\0\0").unwrap();
        let mut cursor = Cursor::open(&path, 12).unwrap();
        match cursor.next() {
            Err(CursorError::Corrupt { offset: 0, reason }) => {
                assert!(reason.contains("RBHOPR01"), "{reason}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let e = check_format(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("earlier reclaim-hopper"), "{e}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        std::fs::write(&path, SEGMENT_MAGIC).unwrap();
        check_format(&path).unwrap();
    }
}
