//! Why a repeat could not take place.
//!
//! A repeat that ran and failed its self-check is not an error: the check's verdict is
//! data, carried in the repeat and then in the row (`valid: false` with the reason). A
//! [`RepeatError`] means there was nothing to check: the container could not be built, a
//! thread could not start, the repeat's process printed nothing readable. The row records
//! it as its `error` too, with its causes ([`reclaim_core::error_chain`]).
//!
//! As everywhere in this workspace, a message says what failed at its own level and the
//! cause is the [`source`](std::error::Error::source).

use std::io;

use reclaim_core::BuildError;
use reclaim_handoff::HandoffError;

use crate::workload::Workload;

/// Why a repeat (of a row, of a timed loop) could not take place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepeatError {
    /// The planned backend is not among the registry's types.
    #[error("backend `{0}` is not in the registry")]
    NotRegistered(&'static str),
    /// A backend row planned with a workload that drives no backend.
    #[error("{0} does not drive backends")]
    NotABackendWorkload(Workload),
    /// The set would not take its prefill: its inserts kept failing.
    #[error(
        "the set took {inserted} of the {wanted} keys of its prefill in {draws} inserts of \
         keys drawn at random: its inserts keep failing"
    )]
    Prefill {
        /// Keys the set took.
        inserted: u64,
        /// Half the key range.
        wanted: u64,
        /// Inserts tried.
        draws: u64,
    },
    /// A set row planned without a key range and mix (a workload sets do not run).
    #[error("a set repeat needs a key range and an operation mix")]
    NoKeyRange,
    /// `run --overhead` times backends only.
    #[error("--overhead measures container backends, not sets or the handoff")]
    NotTimed,
    /// The backend refused to build its container.
    #[error("could not build the container")]
    Build(#[source] BuildError),
    /// The operating system refused a thread.
    #[error("could not start a {role} thread")]
    Spawn {
        /// What the thread was for: `worker`, `sampler`, `bare-loop`.
        role: &'static str,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A thread of the repeat panicked (its message went to standard error).
    #[error("a {role} thread panicked")]
    Panicked {
        /// What the thread was for.
        role: &'static str,
    },
    /// `--pin` without a list of CPUs to pin to.
    #[error("--pin: cannot read the CPUs this process may run on")]
    CpusUnknown,
    /// `--pin`, and the kernel would not.
    #[error("--pin: the kernel refused to pin a worker to its CPU")]
    PinRefused,
    /// Nothing was built to check (a start that failed early).
    #[error("the run ended before its container was built")]
    NotBuilt,
    /// The workers' latency histograms could not be added up.
    #[error("the workers' latency histograms do not merge")]
    Latency(#[source] hdrhistogram::AdditionError),
    /// The handoff scenario refused its configuration or could not start.
    #[error("the handoff scenario could not run")]
    Handoff(#[source] HandoffError),
    /// The graph strategy refused its configuration.
    #[error("the graph could not be built")]
    Graph(#[source] reclaim_graphs::GraphError),
    /// A bare loop asked to stall.
    #[error("a bare loop runs pairs, producers and consumers, not a stall")]
    BareStall,
    /// The bare loop's one check: every value pushed came out.
    #[error("the bare loop lost values: {pushed} pushed, {popped} popped")]
    BareLost {
        /// Values pushed.
        pushed: u64,
        /// Values popped.
        popped: u64,
    },
    /// A timed loop (no row to carry the verdict) failed the self-check: the check's
    /// reason.
    #[error("the run failed its check: {0}")]
    Check(String),
    /// `run --isolate`: the repeat's process could not be run, or failed.
    #[error("the repeat's process failed")]
    Process(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// `run --isolate`: the repeat's process printed something that is not a result.
    #[error("the repeat's process printed no result")]
    Unreadable(#[source] serde_json::Error),
    /// `run --isolate`: the repeat's process could not take the repeat, and said why (its
    /// whole error chain, as text: it crossed a process boundary).
    #[error("{0}")]
    InProcess(String),
}
