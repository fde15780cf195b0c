//! The disk-spilling channel (`reclaim-hopper`) as a registry backend: one consumer, FIFO
//! per producer, so the conformance suite, the harness and the benches drive it like any
//! other. It lives here, not in the channel's crate, so that the channel depends on
//! nothing of reclaim-bench's.

use reclaim_core::{
    Backend, BuildError, Config, Consumers, Container, Handle, Info, Item, ItemOrder, ReclaimStats,
};
use reclaim_hopper::{Builder, DEFAULT_MEMORY_BYTES, Error, Receiver, Sender, TryRecvError};
use std::io;
use std::sync::{Mutex, PoisonError};

/// The registry's marker for the channel with `MEMORY_BYTES` of memory before it spills
/// (hopper's defaults otherwise). `0` sends every item through the disk.
#[derive(Debug)]
pub enum HopperBackend<const MEMORY_BYTES: usize> {}

/// The channel with hopper's default memory bound (1 MiB).
pub type Hopper = HopperBackend<DEFAULT_MEMORY_BYTES>;

impl<const MEMORY_BYTES: usize> Backend for HopperBackend<MEMORY_BYTES> {
    const INFO: Info = Info {
        structure: if MEMORY_BYTES == 0 {
            "hopper-disk"
        } else {
            "hopper"
        },
        scheme: "internal",
        ordering: ItemOrder::PerProducerFifo,
        consumers: Consumers::One,
        // Refuses only when the disk itself is full: 256 MiB files, no limit on their number.
        bounded: false,
        summary: if MEMORY_BYTES == 0 {
            "disk-spilling MPSC channel with no memory budget: every item through a segment file"
        } else {
            "disk-spilling MPSC channel (hopper's API): lock-free queue in 1 MiB, then segment files"
        },
        settings: if MEMORY_BYTES == 0 {
            "0 B in memory, 256 MiB segment files in a temporary directory, no fsync"
        } else {
            "1 MiB in memory (encoded-size accounting), 256 MiB segment files, no fsync"
        },
        knobs: &[],
    };
    type Container<T: Item> = HopperChannel<T, MEMORY_BYTES>;
}

/// A channel in a temporary directory of its own (under the configuration's scratch
/// directory, else the system's), removed when the container drops.
#[derive(Debug)]
pub struct HopperChannel<T, const MEMORY_BYTES: usize> {
    /// Cloned into each handle.
    sender: Sender<T>,
    /// Taken by whichever handle pops (one at a time: `Consumers::One`).
    receiver: Mutex<Receiver<T>>,
    /// The first error `pop` could not report through its `Option`.
    failure: Mutex<Option<String>>,
    /// Declared last: dropped after the channel has closed its files.
    _dir: tempfile::TempDir,
}

fn io_error(e: Error) -> io::Error {
    match e {
        Error::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

impl<T: Item, const MEMORY_BYTES: usize> Container<T> for HopperChannel<T, MEMORY_BYTES> {
    type Handle<'c>
        = HopperHandle<'c, T>
    where
        Self: 'c;

    fn new(config: &Config) -> Result<Self, BuildError> {
        let info = <HopperBackend<MEMORY_BYTES> as Backend>::INFO;
        let backend = info.structure;
        // A channel has no reclamation scheme, hence no knobs.
        config.refuse_scheme_setting(backend, info.scheme)?;
        let mut dir = tempfile::Builder::new();
        dir.prefix("reclaim-hopper-");
        let dir = match &config.scratch {
            Some(scratch) => dir.tempdir_in(scratch),
            None => dir.tempdir(),
        }
        .map_err(|source| BuildError::Io { backend, source })?;
        let (sender, receiver) = Builder::<T>::new()
            .memory_bytes(MEMORY_BYTES)
            .build("channel", dir.path())
            .map_err(|e| BuildError::Io {
                backend,
                source: io_error(e),
            })?;
        Ok(HopperChannel {
            sender,
            receiver: Mutex::new(receiver),
            failure: Mutex::new(None),
            _dir: dir,
        })
    }

    fn handle(&self) -> HopperHandle<'_, T> {
        HopperHandle {
            sender: self.sender.clone(),
            receiver: &self.receiver,
            failure: &self.failure,
        }
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        None
    }

    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One thread's sender, and access to the receiver for `pop`.
#[derive(Debug)]
pub struct HopperHandle<'c, T> {
    sender: Sender<T>,
    receiver: &'c Mutex<Receiver<T>>,
    failure: &'c Mutex<Option<String>>,
}

impl<T> HopperHandle<'_, T> {
    fn record(&self, what: String) {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(what);
    }
}

impl<T: Item> Handle<T> for HopperHandle<'_, T> {
    fn push(&mut self, value: T) -> Result<(), T> {
        match self.sender.send(value) {
            Ok(()) => Ok(()),
            Err((value, Error::Full)) => Err(value),
            Err((value, e)) => {
                self.record(format!("send failed: {e}"));
                Err(value)
            }
        }
    }

    fn pop(&mut self) -> Option<T> {
        let mut receiver = self.receiver.lock().unwrap_or_else(PoisonError::into_inner);
        match receiver.try_recv() {
            Ok(value) => Some(value),
            // The container holds a sender, so the channel never disconnects here.
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
            Err(TryRecvError::Disk(e)) => {
                drop(receiver);
                self.record(format!("receive failed: {e}"));
                None
            }
        }
    }
}
