//! The receiving side's disk half: reads spilled records back in order, deletes each
//! segment file once it is read, and turns every kind of bad data into a [`DiskError`]
//! that names the file and the offset — never a panic, never a silent gap.

use crate::error::DiskError;
use crate::record::{self, Parsed, RECORD_HEADER, SEGMENT_MAGIC};
use crate::sync::{AtomicU64, Mutex};
use crate::writer::{Abandoned, Refresh, Writer, lock};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// Bytes read from a segment file per system call (more when one record is larger).
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Reads the records of one segment file, up to a length known to be complete.
#[derive(Debug)]
pub(crate) struct Cursor {
    path: PathBuf,
    file: File,
    /// Logical offset of the byte after the last one in `buf`.
    read_to: u64,
    /// Bytes of the file known to hold whole records; never read past.
    known_end: u64,
    /// Records that follow `known_end`, handed over from the writer's buffer.
    tail: Option<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
    magic_checked: bool,
    /// The file turned out shorter than `known_end` said (someone cut it): the bytes that
    /// are there are still read, and nothing more is expected.
    cut_short: Option<u64>,
}

/// What a cursor found next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A whole, checksummed record; the range is its payload in [`Cursor::payload`].
    Record(Range<usize>),
    /// Nothing more within the known length; `partial` if a record starts but does not
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
            read_to: 0,
            known_end,
            tail: None,
            buf: Vec::new(),
            pos: 0,
            magic_checked: false,
            cut_short: None,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Offset of the next unread byte: where the next record starts.
    pub(crate) fn offset(&self) -> u64 {
        self.read_to - (self.buf.len() - self.pos) as u64
    }

    /// The file is now known to hold whole records up to `len`.
    pub(crate) fn extend(&mut self, len: u64) {
        if self.cut_short.is_none() {
            self.known_end = self.known_end.max(len);
        }
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

    /// Records that come after the file's `known_end` bytes but never reached the file.
    pub(crate) fn hand_over(&mut self, records: Vec<u8>) {
        self.tail = Some(records);
    }

    /// The records handed over and not read yet, and the file length they follow.
    pub(crate) fn take_tail(&mut self) -> Option<(u64, Vec<u8>)> {
        let records = self.tail.take()?;
        Some((self.cut_short.unwrap_or(self.known_end), records))
    }

    /// Leaves the rest of the file unread: what is left to read is `records`, which
    /// follow the file's first `len` bytes (see [`hand_over`](Self::hand_over)).
    pub(crate) fn skip_to(&mut self, len: u64, records: Vec<u8>) {
        self.buf.clear();
        self.pos = 0;
        self.read_to = len;
        self.known_end = len;
        self.cut_short = None;
        // Records from memory: no magic in front of them.
        self.magic_checked = true;
        self.hand_over(records);
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
            if self.buf[self.pos..self.pos + magic] != SEGMENT_MAGIC {
                return Err(CursorError::Corrupt {
                    offset: 0,
                    reason: "not a reclaim-hopper segment file (wrong magic bytes)".into(),
                });
            }
            self.pos += magic;
            self.magic_checked = true;
        }
        loop {
            match record::parse(&self.buf[self.pos..]) {
                Parsed::Record { size, .. } => {
                    let start = self.pos + RECORD_HEADER;
                    self.pos += size;
                    return Ok(Step::Record(start..self.pos));
                }
                Parsed::Corrupt(reason) => {
                    return Err(CursorError::Corrupt {
                        offset: self.offset(),
                        reason,
                    });
                }
                Parsed::Incomplete { size } => {
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
                Ok(Step::Record(_)) => records += 1,
                Ok(Step::End { .. }) => return (records, Ok(())),
                Err(e) => return (records, Err(e)),
            }
        }
    }

    /// Makes at least `need` unread bytes available if the known length allows; `false`
    /// if it does not (a record claiming more than the file holds is never read into
    /// memory, whatever its length field says), or if the file turns out to be shorter.
    fn fill(&mut self, need: usize) -> Result<bool, CursorError> {
        if self.offset() + need as u64 > self.known_end + self.tail_len() {
            return Ok(false);
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        if self.read_to < self.known_end {
            let chunk = need.max(READ_CHUNK);
            // More than a `usize` counts is left only on 32-bit targets: a chunk fits then.
            let want = usize::try_from(self.known_end - self.read_to)
                .map_or(chunk, |left| chunk.min(left));
            self.read_file(want)?;
        }
        // After a cut the tail does not follow the bytes read: it waits for `take_tail`.
        if self.buf.len() < need
            && self.read_to == self.known_end
            && self.cut_short.is_none()
            && let Some(tail) = self.tail.take()
        {
            self.buf.reserve_exact(tail.len());
            self.buf.extend_from_slice(&tail);
            self.read_to += tail.len() as u64;
            self.known_end = self.read_to;
        }
        // Short of `need` only if the file was cut: what it still holds is there to be
        // reported, and nothing is to be read beyond it.
        Ok(self.buf.len() >= need)
    }

    /// Appends the file's next `want` bytes to `buf`, or as many as it still holds.
    fn read_file(&mut self, want: usize) -> Result<(), CursorError> {
        let start = self.buf.len();
        self.buf.reserve_exact(want);
        self.buf.resize(start + want, 0);
        let mut got = 0;
        while got < want {
            match self
                .file
                .read_at(&mut self.buf[start + got..], self.read_to + got as u64)
            {
                Ok(0) => {
                    // Shorter than recorded: keep what is there, expect nothing more.
                    self.buf.truncate(start + got);
                    self.read_to += got as u64;
                    self.cut_short = Some(self.known_end);
                    self.known_end = self.read_to;
                    return Ok(());
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(start + got);
                    self.read_to += got as u64;
                    return Err(CursorError::Io(e));
                }
            }
        }
        self.read_to += want as u64;
        Ok(())
    }

    fn tail_len(&self) -> u64 {
        self.tail.as_ref().map_or(0, |t| t.len() as u64)
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
            let offset = reading.cursor.offset();
            match reading.cursor.next() {
                Ok(Step::Record(range)) => {
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
                        payload: cursor.payload(range),
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
                let known = reading.cursor.known_end;
                match w.refresh() {
                    Some(Refresh::Open { len }) if len > known => {
                        reading.cursor.extend(len);
                        return Ok(());
                    }
                    Some(Refresh::Sealed(sealed)) => {
                        reading.cursor.extend(sealed.len);
                        reading.end = Some(sealed.end);
                        return Ok(());
                    }
                    Some(Refresh::HandedOver { records, sealed }) => {
                        reading.cursor.extend(sealed.len);
                        reading.cursor.hand_over(records);
                        reading.end = Some(sealed.end);
                        return Ok(());
                    }
                    Some(Refresh::Open { .. }) | None => {
                        drop(w);
                        let offset = reading.cursor.offset();
                        return Err(self.abandon(
                            writer,
                            offset,
                            "items announced as spilled are not in the file being written".into(),
                            0,
                        ));
                    }
                }
            }
        };
        if partial || self.read_index != end {
            drop(w);
            let offset = reading.cursor.offset();
            let reason = if partial {
                "the file ends inside a record (truncated)".to_string()
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
    /// range. Records of it that never reached the file — handed over already, or still
    /// in the writer's buffer — are intact, and read next.
    fn abandon(
        &mut self,
        writer: &Mutex<Writer>,
        offset: u64,
        reason: String,
        beyond: u64,
    ) -> DiskError {
        let mut reading = self.reading.take().expect("reading");
        let abandoned = lock(writer).abandon_front(reading.first);
        let (end, intact) = match abandoned {
            Abandoned::Gone { end } => (end, reading.cursor.take_tail()),
            Abandoned::HandedOver { records, sealed } => (sealed.end, Some((sealed.len, records))),
        };
        // The intact records are the segment's last.
        let resume = intact.as_ref().map_or(end, |(_, records)| {
            end - record::record_ends(records).count() as u64
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
        if let Some((len, records)) = intact {
            reading.cursor.skip_to(len, records);
            reading.end = Some(end);
            self.reading = Some(reading);
        }
        error
    }
}

/// Counts the whole records at the front of a segment file and the bytes they span (magic
/// included): what survives of a file whose writer died mid-record. A partial record at
/// the end is what a crash leaves and is dropped; a damaged record is not guessed past —
/// it is an error naming the file, the offset and what to do.
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

    /// More than 4 GiB left to read: converted with `as usize`, the remainder wrapped to
    /// a few bytes on 32-bit targets, and the cursor read less than it needed.
    #[test]
    fn a_file_of_more_than_4_gib_reads_like_any_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("large");
        let mut bytes = SEGMENT_MAGIC.to_vec();
        let mut rec = Vec::new();
        record::encode("first", &mut rec).unwrap();
        bytes.extend_from_slice(&rec);
        std::fs::write(&path, &bytes).unwrap();
        // Sparse: no disk space is taken. 4 GiB + 4 leaves 4 bytes when cut to 32 bits.
        let len = (1 << 32) + 4;
        File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(len))
            .unwrap();
        let mut cursor = Cursor::open(&path, len).unwrap();
        match cursor.next() {
            Ok(Step::Record(range)) => {
                let item: String = postcard::from_bytes(cursor.payload(range)).unwrap();
                assert_eq!(item, "first");
            }
            other => panic!("expected the first record, got {other:?}"),
        }
    }

    fn records(items: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rec = Vec::new();
        for item in items {
            record::encode(item, &mut rec).unwrap();
            out.extend_from_slice(&rec);
        }
        out
    }

    fn read_item(cursor: &mut Cursor) -> Option<String> {
        match cursor.next() {
            Ok(Step::Record(range)) => Some(postcard::from_bytes(cursor.payload(range)).unwrap()),
            Ok(Step::End { .. }) => None,
            Err(e) => panic!("{e:?}"),
        }
    }

    /// Records handed over follow the file's recorded length. If the file turns out cut
    /// short, they must neither be read as the continuation of the bytes left nor be
    /// dropped: they wait for `take_tail`, intact.
    #[test]
    fn a_cut_file_keeps_its_handed_over_records_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut");
        let mut bytes = SEGMENT_MAGIC.to_vec();
        bytes.extend(records(&["one", "two"]));
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        let mut cursor = Cursor::open(&path, bytes.len() as u64).unwrap();
        cursor.hand_over(records(&["three", "four"]));

        assert_eq!(read_item(&mut cursor).as_deref(), Some("one"));
        assert_eq!(read_item(&mut cursor), None, "the cut record, then nothing");
        assert!(cursor.cut_short().is_some());
        let (len, tail) = cursor
            .take_tail()
            .expect("the handed-over records are kept");
        assert_eq!(len, bytes.len() as u64, "they follow the recorded length");
        cursor.skip_to(len, tail);
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
}
