//! Errors: hopper 0.4's [`Error`] for the sending side, and the receiving side's own.

use std::io;
use std::path::PathBuf;

/// What can go wrong creating a channel, sending or flushing.
///
/// The four variants of hopper 0.4, so code matching on them compiles unchanged. Problems
/// hopper had no variant for arrive as [`Error::IoError`] with an [`io::ErrorKind`] and a
/// message saying what to fix: an invalid channel name (`InvalidInput`), a directory
/// already held by another channel (`ResourceBusy`), an item that cannot be encoded
/// (`InvalidData`), a dropped receiver (`BrokenPipe`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data directory given does not exist.
    #[error("the data directory does not exist")]
    NoSuchDirectory,
    /// An I/O error, or one of the conditions listed above.
    // Not `#[from]`: hopper 0.4 had no `From<io::Error>`, and `from_io` decides between
    // this and `Full`.
    #[error("{0}")]
    IoError(#[source] io::Error),
    /// Kept for source compatibility with hopper 0.4; never returned. Items never strand
    /// here, so [`Sender::flush`](crate::Sender::flush) has nothing it could fail to hand on.
    #[error("could not flush the sender")]
    NoFlush,
    /// Memory and disk are both at their bound — the configured ones, or the disk's own
    /// (no space left, file size limit, quota). The item comes back with the error.
    #[error("the channel is full in memory and on disk")]
    Full,
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
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// A segment file holds bytes that are not a valid block or record: a checksum
    /// mismatch (which costs the block's records), a truncated block, an item that does not decode, records missing between files, or
    /// more records in a file than the index range its name and its successor's give it.
    #[error("corrupt spill file {} at byte {offset}: {reason} ({lost} item(s) lost)", .path.display())]
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
    #[error("could not read spill file {}: {source}", .path.display())]
    Io {
        /// The file being read or removed.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Why [`Receiver::recv`](crate::Receiver::recv) returned no item.
#[derive(Debug, thiserror::Error)]
pub enum RecvError {
    /// Every sender is gone and every item has been received.
    #[error("every sender is gone and the channel is empty")]
    Disconnected,
    /// Spilled data could not be read back.
    #[error("{0}")]
    Disk(#[source] DiskError),
}

/// Why [`Receiver::try_recv`](crate::Receiver::try_recv) returned no item.
#[derive(Debug, thiserror::Error)]
pub enum TryRecvError {
    /// No item is ready now; senders remain.
    #[error("the channel is empty")]
    Empty,
    /// Every sender is gone and every item has been received.
    #[error("every sender is gone and the channel is empty")]
    Disconnected,
    /// Spilled data could not be read back.
    #[error("{0}")]
    Disk(#[source] DiskError),
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn corrupt() -> DiskError {
        DiskError::Corrupt {
            path: PathBuf::from("/spill/00000000000000000007"),
            offset: 4096,
            reason: "checksum mismatch".to_string(),
            lost: 3,
        }
    }

    fn unreadable() -> DiskError {
        DiskError::Io {
            path: PathBuf::from("/spill/00000000000000000008"),
            source: io::Error::new(io::ErrorKind::PermissionDenied, "denied"),
        }
    }

    /// The texts hopper 0.4's users (and ours) print, word for word.
    #[test]
    fn messages_are_unchanged() {
        let io = || io::Error::new(io::ErrorKind::InvalidInput, "bad channel name");
        let cases = [
            (
                Error::NoSuchDirectory.to_string(),
                "the data directory does not exist",
            ),
            (Error::IoError(io()).to_string(), "bad channel name"),
            (Error::NoFlush.to_string(), "could not flush the sender"),
            (
                Error::Full.to_string(),
                "the channel is full in memory and on disk",
            ),
            (
                corrupt().to_string(),
                "corrupt spill file /spill/00000000000000000007 at byte 4096: checksum \
                 mismatch (3 item(s) lost)",
            ),
            (
                unreadable().to_string(),
                "could not read spill file /spill/00000000000000000008: denied",
            ),
            (
                RecvError::Disconnected.to_string(),
                "every sender is gone and the channel is empty",
            ),
            (
                RecvError::Disk(unreadable()).to_string(),
                "could not read spill file /spill/00000000000000000008: denied",
            ),
            (TryRecvError::Empty.to_string(), "the channel is empty"),
            (
                TryRecvError::Disconnected.to_string(),
                "every sender is gone and the channel is empty",
            ),
            (
                TryRecvError::Disk(corrupt()).to_string(),
                "corrupt spill file /spill/00000000000000000007 at byte 4096: checksum \
                 mismatch (3 item(s) lost)",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    /// `source()` leads to the underlying error where there is one, as before.
    #[test]
    fn sources_are_unchanged() {
        let io = io::Error::new(io::ErrorKind::InvalidInput, "bad channel name");
        let source = Error::IoError(io).source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("bad channel name"));
        assert!(Error::Full.source().is_none());
        assert!(Error::NoSuchDirectory.source().is_none());
        assert!(corrupt().source().is_none());
        let source = unreadable().source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("denied"));
        let disk = RecvError::Disk(corrupt());
        let source = disk.source().map(ToString::to_string);
        assert_eq!(source, Some(corrupt().to_string()));
        assert!(RecvError::Disconnected.source().is_none());
        let disk = TryRecvError::Disk(unreadable());
        let source = disk.source().map(ToString::to_string);
        assert_eq!(source, Some(unreadable().to_string()));
        assert!(TryRecvError::Empty.source().is_none());
    }
}
