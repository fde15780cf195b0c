//! The one trait every reclaim-bench backend implements.
//!
//! A *backend* is one cell of the matrix "structure × reclamation scheme" (a Treiber
//! stack over hazard pointers, a Michael–Scott queue over epochs, …), or a channel, or a
//! baseline a user would pick instead (a `Mutex<Vec>`). Everything that drives backends —
//! the conformance suite, the harness, the criterion benches — sees them only through the
//! traits here:
//!
//! - [`Backend`] is the registry's unit: a zero-sized marker type with static [`Info`] and a
//!   generic associated type naming the container for any item type. The registry is a list
//!   of such types, so every run is monomorphized: no virtual call per operation.
//! - [`Container`] is the shared structure itself (`Send + Sync`), built from a [`Config`].
//! - [`Handle`] is what one participating thread holds: hazard pointers and epoch
//!   registrations stay thread-local in it, and a channel's sender can be `&mut` in it.
//!
//! [`Visitor`] and [`Entry`] are how the registry hands a backend *type* to generic code.
//! Sets are a second family beside the containers, with traits of their own
//! ([`SetBackend`], [`ConcurrentSet`], [`SetHandle`]) and entries of their own
//! ([`SetEntry`], [`Visitor::visit_set`]).
//!
//! A whole backend, a FIFO queue behind one lock, and generic code driving it as the
//! harness does (one handle per thread, taken before the measured region):
//!
//! ```
//! use std::collections::VecDeque;
//! use std::sync::Mutex;
//! use reclaim_core::{
//!     Backend, BuildError, Config, Consumers, Container, Handle, Info, Item, ItemOrder,
//!     ReclaimStats,
//! };
//!
//! /// The registry's marker: never built, it names the container for any item type.
//! enum LockedQueue {}
//!
//! impl Backend for LockedQueue {
//!     const INFO: Info = Info {
//!         structure: "locked-queue",
//!         scheme: "lock",
//!         ordering: ItemOrder::Fifo,
//!         consumers: Consumers::Many,
//!         bounded: false,
//!         summary: "std Mutex<VecDeque>: a queue behind one lock",
//!         settings: "std Mutex",
//!         knobs: &[],
//!     };
//!     type Container<T: Item> = Queue<T>;
//! }
//!
//! struct Queue<T>(Mutex<VecDeque<T>>);
//!
//! impl<T: Item> Container<T> for Queue<T> {
//!     // Nothing thread-local to keep: a handle is a reference.
//!     type Handle<'c> = &'c Queue<T>;
//!
//!     fn new(_: &Config) -> Result<Self, BuildError> {
//!         Ok(Queue(Mutex::default()))
//!     }
//!     fn handle(&self) -> &Queue<T> {
//!         self
//!     }
//!     fn reclamation(&self) -> Option<ReclaimStats> {
//!         None // frees inline, under the lock: no garbage to report
//!     }
//! }
//!
//! impl<T> Handle<T> for &Queue<T> {
//!     fn push(&mut self, value: T) -> Result<(), T> {
//!         self.0.lock().unwrap().push_back(value);
//!         Ok(())
//!     }
//!     fn pop(&mut self) -> Option<T> {
//!         self.0.lock().unwrap().pop_front()
//!     }
//! }
//!
//! /// Generic code sees only the traits, monomorphized for each backend.
//! fn round_trip<B: Backend>(values: &[u64]) -> Vec<u64> {
//!     let container = B::Container::<u64>::new(&Config::default()).unwrap();
//!     let mut handle = container.handle();
//!     for &v in values {
//!         handle.push(v).unwrap();
//!     }
//!     std::iter::from_fn(|| handle.pop()).collect()
//! }
//!
//! assert_eq!(round_trip::<LockedQueue>(&[1, 2, 3]), [1, 2, 3]);
//! assert_eq!(LockedQueue::INFO.ordering, ItemOrder::Fifo);
//! ```

mod info;
mod registry;
mod set;
pub mod splitmix;

pub use info::{Consumers, Info, ItemOrder, Knob, SchemeSetting};

pub use registry::{Entry, SetEntry, Visitor};
pub use set::{ConcurrentSet, SetBackend, SetHandle, SetInfo};
pub use splitmix::SplitMix64;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a backend can carry.
///
/// `Send` because items cross threads; `'static` because deferred reclamation may drop a
/// node after the operation that retired it returned; `Serialize + DeserializeOwned`
/// because channels that spill to disk (the hopper backend) encode their items. Every type
/// the harness and the conformance suite push meets these bounds.
///
/// Only the channel needs `Serialize + DeserializeOwned`, yet every backend carries it:
/// [`Backend::Container`] must name a container for *every* `T` its bound admits, so a
/// bound one backend needs is a bound all share. Confining it would take a second backend
/// family for channels (a second registry list, a second set of drivers) or a fixed item
/// type; both cost more than a bound that every item type used here (`u64`, the
/// conformance suite's tracked values, the workloads' payloads) meets anyway.
pub trait Item: Send + Serialize + DeserializeOwned + 'static {}
impl<T: Send + Serialize + DeserializeOwned + 'static> Item for T {}

/// A registered backend: static facts plus the container it builds for any item type.
///
/// Implementors are marker types (`Treiber<Ebr>`, `MutexVec`); they are never built.
pub trait Backend: 'static {
    /// What the backend is, for listings, result files and for choosing which workloads
    /// apply (ordering, how many consumers it allows).
    const INFO: Info;

    /// The container holding items of type `T`.
    type Container<T: Item>: Container<T>;
}

/// Settings a container is built with. Backends ignore what does not concern them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Most items a bounded container holds before `push` refuses; `None` takes the
    /// backend's default. Unbounded containers ignore it.
    pub capacity: Option<usize>,
    /// Where backends that write files (the disk-spilling channel) put them, in a
    /// directory of their own; `None` takes the system's temporary directory, which may
    /// be a RAM file system.
    pub scratch: Option<std::path::PathBuf>,
    /// How many distinct keys a set will hold at most (its key range), for sets that
    /// size a table by it; `None` takes the set's default. Containers ignore it.
    pub keys: Option<u64>,
    /// One of the scheme's [knobs](Info::knobs) set to a value (`run --scheme-setting`);
    /// `None` runs the scheme at its defaults. A backend whose scheme has no such knob
    /// refuses to build ([`BuildError::InvalidConfig`]).
    pub scheme_setting: Option<SchemeSetting>,
}

impl Config {
    /// A configuration with the given capacity for bounded backends.
    pub fn with_capacity(capacity: usize) -> Self {
        Config {
            capacity: Some(capacity),
            ..Config::default()
        }
    }

    /// This configuration with files going under `dir`.
    pub fn with_scratch(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.scratch = Some(dir.into());
        self
    }

    /// This configuration for sets of up to `keys` distinct keys.
    pub fn with_keys(mut self, keys: u64) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Refuses a [`scheme_setting`](Config::scheme_setting), if there is one, for a
    /// backend whose scheme has no knobs (a baseline, a structure over the circ crate):
    /// `backend` names the structure, `scheme` its scheme.
    ///
    /// # Errors
    /// [`BuildError::InvalidConfig`] naming the key, when a setting is given.
    pub fn refuse_scheme_setting(
        &self,
        backend: &'static str,
        scheme: &str,
    ) -> Result<(), BuildError> {
        match &self.scheme_setting {
            None => Ok(()),
            Some(setting) => Err(BuildError::InvalidConfig {
                backend,
                reason: info::no_such_knob(scheme, &[], &setting.key),
            }),
        }
    }
}

/// Why a container could not be built.
///
/// Like every error type of this workspace (the channel's, kept in hopper 0.4's shape,
/// aside), its message says what failed at its own level and leaves the cause to
/// [`source`](std::error::Error::source): print it with [`error_chain`] (or anyhow's
/// `{:#}`) to see the whole story.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A setting is out of range for this backend.
    #[error("invalid configuration for {backend}: {reason}")]
    InvalidConfig {
        /// The structure that refused.
        backend: &'static str,
        /// What was wrong, in words a user can act on.
        reason: String,
    },
    /// The backend needed a resource (a directory, a file) and could not get it.
    #[error("could not set up {backend}")]
    Io {
        /// The structure that failed.
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// `error` and its causes, outermost first, joined by `: ` — one line that says what
/// failed and why, for where an error becomes text: a result row's `error`, a failed
/// check's verdict. A cause whose message the line already ends with (an error that
/// prints its source itself, as `io::Error` wrapping another does) is not repeated.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let text = error.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = error.source();
    }
    line
}

/// The shared structure: built once, then used by every participating thread through its
/// own [`Handle`].
pub trait Container<T>: Send + Sync + Sized {
    /// One thread's access to the container.
    type Handle<'c>: Handle<T>
    where
        Self: 'c;

    /// Builds an empty container.
    fn new(config: &Config) -> Result<Self, BuildError>;

    /// Registers the calling thread. Take one handle per thread and keep it for the whole
    /// run: registering is not free (it acquires hazard pointers, an epoch slot, …) and is
    /// never part of a measured region.
    fn handle(&self) -> Self::Handle<'_>;

    /// The reclamation counters of the scheme under this container, read while threads
    /// run. `None` for containers that free inline under a lock or manage memory on their
    /// own (the baselines): for them "garbage outstanding" has no meaning, and reporting 0
    /// would be a wrong number.
    fn reclamation(&self) -> Option<ReclaimStats>;

    /// A fault the container hit that its operations had no way to report — a channel's
    /// disk error during `pop`, which can only say `None`. Drivers check it after a run and
    /// mark the run failed with this message instead of reporting its numbers. Containers
    /// that cannot fail keep the default, `None`.
    fn failure(&self) -> Option<String> {
        None
    }
}

/// One thread's access to a [`Container`].
///
/// Methods take `&mut self`: a handle is used by one thread at a time, which is what lets
/// it hold thread-local state (hazard pointers, a channel sender) without synchronization.
pub trait Handle<T> {
    /// Adds `value`. A bounded container that is full refuses and hands the value back,
    /// so nothing is lost; an unbounded one always accepts.
    fn push(&mut self, value: T) -> Result<(), T>;

    /// Removes a value, or returns `None` if the container was seen empty.
    ///
    /// On a backend that allows one consumer ([`Consumers::One`]), at most one handle at a
    /// time may call `pop`; the drivers guarantee it.
    fn pop(&mut self) -> Option<T>;

    /// Calls `wait` while this handle holds on to the structure the way a thread
    /// descheduled in the middle of an operation would: pinned in its epoch, its hazard
    /// pointer on the front node, or a counted reference to that node. Other threads go
    /// on meanwhile; what the scheme can still reclaim is what the `stalled` workload
    /// measures (epochs stop reclaiming altogether, hazard pointers keep one node).
    ///
    /// Returns whether anything was held. The default holds nothing and returns `false`:
    /// a lock-based baseline cannot be caught mid-operation without stopping everyone,
    /// and a channel's receiver holds nothing of its senders'.
    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        wait();
        false
    }
}

/// Objects a reclamation scheme was handed and objects it has freed so far.
///
/// Both only grow; `retired - freed` is the garbage outstanding: unlinked nodes still
/// waiting for every reader to move on. Counted the same way for every scheme, including
/// objects parked in thread-local bags and collector lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReclaimStats {
    /// Objects unlinked from the structure and handed to the scheme.
    pub retired: u64,
    /// Retired objects whose memory has been returned to the allocator.
    pub freed: u64,
    /// CPU time, in nanoseconds, of the threads the scheme runs on its own (the `sweep`
    /// collector) since the structure was built; `None` for schemes that run none, or
    /// where the platform cannot tell a thread's CPU time.
    pub reclaimer_cpu_ns: Option<u64>,
}

impl ReclaimStats {
    /// Retired objects not freed yet.
    ///
    /// The two counters are read one after the other while other threads run, so a free
    /// may be seen before the retire it follows; the difference saturates at 0 rather
    /// than wrapping.
    pub fn outstanding(&self) -> u64 {
        self.retired.saturating_sub(self.freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints its source itself, as hopper 0.4's error shape does.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn a_knobless_backend_refuses_any_scheme_setting() {
        let mut config = Config::default();
        assert!(config.refuse_scheme_setting("mutex-vec", "lock").is_ok());
        config.scheme_setting = Some(SchemeSetting {
            key: "batch-size".into(),
            value: 4,
        });
        let refused = config
            .refuse_scheme_setting("mutex-vec", "lock")
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "invalid configuration for mutex-vec: \
             the lock scheme has no knob batch-size (it has none)"
        );
    }

    #[test]
    fn error_chain_says_what_failed_then_why_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left");
        let build = BuildError::Io {
            backend: "hopper",
            source: io(),
        };
        assert_eq!(build.to_string(), "could not set up hopper");
        assert_eq!(
            error_chain(&build),
            "could not set up hopper: no space left"
        );
        assert_eq!(error_chain(&Repeats(io())), "no space left");
        let invalid = BuildError::InvalidConfig {
            backend: "arrayqueue",
            reason: "capacity must be at least 1".to_string(),
        };
        assert_eq!(
            error_chain(&invalid),
            "invalid configuration for arrayqueue: capacity must be at least 1"
        );
    }
}
