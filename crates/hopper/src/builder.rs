//! Every option of a channel, for what hopper 0.4's two functions cannot say.

use crate::channel::{self, Accounting, Parts, Receiver, Sender};
use crate::dir::ChannelDir;
use crate::error::Error;
use crate::reader;
use crate::writer::{DiskLimits, Writer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// hopper 0.4's defaults: 1 MiB in memory, 256 MiB per segment file, no file limit.
pub const DEFAULT_MEMORY_BYTES: usize = 0x10_0000;
/// See [`DEFAULT_MEMORY_BYTES`].
pub const DEFAULT_DISK_FILE_BYTES: usize = 0x1000_0000;

/// What happens to spilled items across restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// As hopper and `std::sync::mpsc`: none. The channel directory's segment files are
    /// deleted when a channel is created and when it closes.
    #[default]
    None,
    /// Spilled items outlive the process. Opening the directory again delivers, in order
    /// and before anything sent since, every item that had reached the disk — a record cut
    /// short by a crash is dropped, a damaged one stops the open with an error naming file
    /// and offset. Each spilled item is written to its file before `send` returns (no
    /// write buffering), which is what "reached the disk" means here: it survives the
    /// process being killed, not the machine losing power (there is no fsync). Items held
    /// in memory are not persisted: set [`memory_bytes`](Builder::memory_bytes) to 0 to
    /// make every item durable. Delivery is at least once: items the receiver took from a
    /// segment file it had not finished are delivered again after a restart.
    Recover,
}

/// Builds a channel with every option spelled out.
///
/// ```
/// use reclaim_hopper::{Accounting, Builder, Durability};
///
/// let dir = tempfile::tempdir().unwrap();
/// let (mut tx, mut rx) = Builder::<u64>::new()
///     .memory_bytes(64 * 1024)
///     .disk_file_bytes(1 << 20)
///     .disk_files(16)
///     .accounting(Accounting::Shallow)
///     .durability(Durability::None)
///     .build("events", dir.path())
///     .unwrap();
/// tx.send(7).unwrap();
/// assert_eq!(rx.recv().unwrap(), 7);
/// ```
#[derive(Debug)]
pub struct Builder<T> {
    memory_bytes: usize,
    disk_file_bytes: usize,
    disk_files: usize,
    accounting: Accounting<T>,
    durability: Durability,
}

impl<T> Default for Builder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Builder<T> {
    /// hopper's defaults, [`Accounting::Encoded`], [`Durability::None`].
    pub fn new() -> Self {
        Builder {
            memory_bytes: DEFAULT_MEMORY_BYTES,
            disk_file_bytes: DEFAULT_DISK_FILE_BYTES,
            disk_files: usize::MAX,
            accounting: Accounting::Encoded,
            durability: Durability::None,
        }
    }

    /// Most bytes the items queued in memory may be charged (see [`Accounting`]). 0 sends
    /// every item through the disk.
    pub fn memory_bytes(mut self, bytes: usize) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// Size at which a segment file is closed and the next one started. A file always
    /// takes one record, however large.
    pub fn disk_file_bytes(mut self, bytes: usize) -> Self {
        self.disk_file_bytes = bytes;
        self
    }

    /// Most segment files on disk at once; 0 means never spill. Disk use is at most
    /// `disk_files × max(disk_file_bytes, largest record)` bytes of encoded records.
    pub fn disk_files(mut self, files: usize) -> Self {
        self.disk_files = files;
        self
    }

    /// How queued items are charged against [`memory_bytes`](Self::memory_bytes).
    pub fn accounting(mut self, accounting: Accounting<T>) -> Self {
        self.accounting = accounting;
        self
    }

    /// Whether spilled items survive a restart.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Creates the channel in `data_dir/name`. `data_dir` must exist; `name` must be a
    /// plain file name. The directory is locked for the channel's lifetime.
    pub fn build(self, name: &str, data_dir: &Path) -> Result<(Sender<T>, Receiver<T>), Error>
    where
        T: Serialize + DeserializeOwned + Send,
    {
        let dir = ChannelDir::open(data_dir, name)?;
        let limits = DiskLimits {
            file_bytes: self.disk_file_bytes as u64,
            files: self.disk_files,
        };
        let writer = match self.durability {
            Durability::None => {
                dir.clear().map_err(Error::IoError)?;
                Writer::new(dir.path(), limits, false)
            }
            Durability::Recover => {
                let found = dir.segments().map_err(Error::IoError)?;
                Writer::recover(dir.path(), limits, found, reader::valid_prefix)
                    .map_err(Error::IoError)?
            }
        };
        Ok(channel::new(Parts {
            name: name.to_owned(),
            dir,
            writer,
            memory_limit: self.memory_bytes,
            accounting: self.accounting,
            keep_segments: self.durability == Durability::Recover,
        }))
    }
}
