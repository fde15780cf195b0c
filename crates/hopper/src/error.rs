//! Errors: hopper 0.4's [`Error`] for the sending side, and the receiving side's own.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What can go wrong creating a channel, sending or flushing.
///
/// The four variants of hopper 0.4, so code matching on them compiles unchanged. Problems
/// hopper had no variant for arrive as [`Error::IoError`] with an [`io::ErrorKind`] and a
/// message saying what to fix: an invalid channel name (`InvalidInput`), a directory
/// already held by another channel (`ResourceBusy`), an item that cannot be encoded
/// (`InvalidData`), a dropped receiver (`BrokenPipe`).
#[derive(Debug)]
pub enum Error {
    /// The data directory given does not exist.
    NoSuchDirectory,
    /// An I/O error, or one of the conditions listed above.
    IoError(io::Error),
    /// Kept for source compatibility with hopper 0.4; never returned. Items never strand
    /// here, so [`Sender::flush`](crate::Sender::flush) has nothing it could fail to hand on.
    NoFlush,
    /// Memory and disk are both at their bound — the configured ones, or the disk's own
    /// (no space left, file size limit, quota). The item comes back with the error.
    Full,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSuchDirectory => f.write_str("the data directory does not exist"),
            Error::IoError(e) => write!(f, "{e}"),
            Error::NoFlush => f.write_str("could not flush the sender"),
            Error::Full => f.write_str("the channel is full in memory and on disk"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::IoError(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether an I/O error means "the disk is full" rather than "the disk is broken".
pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge | io::ErrorKind::QuotaExceeded
    )
}

/// The sending side's error for an I/O failure: `Full` when the disk is out of room,
/// `IoError` otherwise.
pub(crate) fn from_io(e: io::Error) -> Error {
    if is_disk_full(&e) {
        Error::Full
    } else {
        Error::IoError(e)
    }
}

/// Spilled data that could not be read back.
#[derive(Debug)]
pub enum DiskError {
    /// A segment file holds bytes that are not a valid block or record: a checksum
    /// mismatch (which costs the block's records), a truncated block, an item that does not decode, records missing between files, or
    /// more records in a file than the index range its name and its successor's give it.
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte offset in that file of the damaged block (checksum, length, truncation),
        /// or of the bad record within a sound one (decoding, index range).
        offset: u64,
        /// What is wrong with it.
        reason: String,
        /// How many items were lost with it. The receiver has moved past them: the next
        /// receive continues with the first readable item after the damage.
        lost: u64,
    },
    /// Reading a segment failed. Nothing was consumed; the next receive tries again.
    Io {
        /// The file being read or removed.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::Corrupt {
                path,
                offset,
                reason,
                lost,
            } => write!(
                f,
                "corrupt spill file {} at byte {offset}: {reason} ({lost} item(s) lost)",
                path.display()
            ),
            DiskError::Io { path, source } => {
                write!(f, "could not read spill file {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for DiskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DiskError::Io { source, .. } => Some(source),
            DiskError::Corrupt { .. } => None,
        }
    }
}

/// Why [`Receiver::recv`](crate::Receiver::recv) returned no item.
#[derive(Debug)]
pub enum RecvError {
    /// Every sender is gone and every item has been received.
    Disconnected,
    /// Spilled data could not be read back.
    Disk(DiskError),
}

/// Why [`Receiver::try_recv`](crate::Receiver::try_recv) returned no item.
#[derive(Debug)]
pub enum TryRecvError {
    /// No item is ready now; senders remain.
    Empty,
    /// Every sender is gone and every item has been received.
    Disconnected,
    /// Spilled data could not be read back.
    Disk(DiskError),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Disconnected => f.write_str("every sender is gone and the channel is empty"),
            RecvError::Disk(e) => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Disconnected => {
                f.write_str("every sender is gone and the channel is empty")
            }
            TryRecvError::Disk(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RecvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecvError::Disk(e) => Some(e),
            RecvError::Disconnected => None,
        }
    }
}

impl std::error::Error for TryRecvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TryRecvError::Disk(e) => Some(e),
            _ => None,
        }
    }
}
