//! The result-file format of reclaim-bench.
//!
//! One run of the harness writes one [`ResultFile`]: the machine and build it ran on
//! ([`Metadata`]), the settings every row shared ([`RunSettings`]), and one [`Row`] per
//! backend × workload × thread count. The HTML report, `compare` and the CSV export read
//! nothing else, so a file from a Raspberry Pi and one from a laptop compare directly.
//!
//! The format is JSON with a version number ([`SCHEMA_VERSION`]);
//! `docs/results-format.md` documents every field. A reader refuses a file whose version it
//! does not know rather than guess at fields, and a writer never leaves a half-written file
//! behind (see [`ResultFile::save`]).
//!
//! Absent numbers are `null`, never 0: a row that failed its check has no throughput, a
//! backend without reclamation counters has no garbage, a counter the kernel does not
//! expose has a `null` value and a reason in [`Row::counter_errors`].
//!
//! Reading a file from an older or newer harness: a known version loads, anything else is
//! refused with a message that says so, never half-read.
//!
//! ```
//! use reclaim_results::{ResultFile, ResultsError};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("future.json");
//! std::fs::write(&path, r#"{"schema_version": 99, "rows": []}"#).unwrap();
//! let err = ResultFile::load(&path).unwrap_err();
//! assert!(matches!(err, ResultsError::Version { found: 99, .. }), "{err}");
//! assert!(err.to_string().contains("schema version 99"), "{err}");
//! ```

mod counter;
mod csv_export;
pub mod format;
pub mod stats;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use counter::Counter;
pub use csv_export::write_csv;

/// The version of the format written by this crate. Bump it whenever a field changes
/// meaning or disappears; adding an optional field does not need a bump.
///
/// Version 2: rows are measured in paired rounds (`repeats` counts rounds), and carry
/// [`Row::ratio`], [`Spread::ci95`] and [`Row::rounds_ended`].
pub const SCHEMA_VERSION: u32 = 2;

/// Older versions this crate still reads: their files lack only fields that are optional
/// here (version 1 had no rounds, ratios or intervals).
pub const READABLE_VERSIONS: [u32; 2] = [1, SCHEMA_VERSION];

/// One run of the harness: what ran where, and its rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultFile {
    /// Always [`SCHEMA_VERSION`] for files this crate writes.
    pub schema_version: u32,
    /// The machine, the build and the command.
    pub metadata: Metadata,
    /// Settings shared by every row.
    pub settings: RunSettings,
    /// One row per backend × workload × thread count, in the order they ran.
    pub rows: Vec<Row>,
}

/// Where and how a result file was produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The harness version (the `reclaim-bench` package version).
    pub harness_version: String,
    /// The commit the binary was built from, with `-dirty` if the tree had changes, or
    /// `unknown` when it was built outside a git checkout.
    pub git_sha: String,
    /// `rustc --version` of the compiler that built the binary.
    pub rustc: String,
    /// The cargo profile: `release`, `bench`, or `debug` (whose numbers mean little).
    pub profile: String,
    /// The target triple the binary was built for.
    pub target: String,
    /// The machine's host name.
    pub host: String,
    /// The CPU model as the kernel names it (`/proc/cpuinfo`).
    pub cpu_model: String,
    /// Hardware threads available to the process.
    pub cores: usize,
    /// The kernel release (`uname -r`).
    pub kernel: String,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// The command line that produced the file.
    pub command: String,
    /// Set when the binary ran under emulation (qemu user mode: an ARM binary on an
    /// x86_64 kernel), saying so: its timings mean nothing, its checks still hold. `null`
    /// when native. Absent in files written before it existed, which read as native.
    #[serde(default)]
    pub emulation: Option<String>,
    /// The 1-minute load average when the run started: other work on the machine.
    #[serde(default)]
    pub load_average: Option<f64>,
    /// The CPU frequency governor, where the kernel exposes one.
    #[serde(default)]
    pub governor: Option<String>,
    /// Where backends that write files (the disk-spilling channel) wrote them.
    #[serde(default)]
    pub scratch_dir: Option<String>,
    /// The file system of `scratch_dir` (`ext4`, `tmpfs`, …): on `tmpfs` the "disk" rows
    /// measure memory.
    #[serde(default)]
    pub scratch_fs: Option<String>,
    /// The allocators the rows ran on (`run --allocator`), in the order given; each row
    /// says its own in [`Row::allocator`]. Empty in files written before it existed.
    #[serde(default)]
    pub allocators: Vec<String>,
}

/// Settings every row of a file shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// `quick`, `full` or `custom`.
    pub suite: String,
    /// How long each measured repeat ran, in milliseconds (with `iterations`, the
    /// duration asked for, unused).
    pub duration_ms: u64,
    /// With `--iterations`: each repeat ran this many loop iterations per worker instead
    /// of a duration.
    #[serde(default)]
    pub iterations: Option<u64>,
    /// Rounds (the fewest, when rounds are added until intervals are narrow): in each
    /// round every row of a comparison group runs one repeat. Repeats per row in version 1.
    pub repeats: u32,
    /// The seed the order of the rows within each round was drawn from; the same seed
    /// gives the same orders. `null` in version 1.
    #[serde(default)]
    pub seed: Option<u64>,
    /// With `--ci-target`: rounds were added until every interval was within this many
    /// percent of its median, or the time cap was reached.
    #[serde(default)]
    pub ci_target_pct: Option<f64>,
    /// With `--ci-target`: the time cap of the whole run, in seconds.
    #[serde(default)]
    pub max_time_s: Option<u64>,
    /// Time between two samples of memory and garbage, in milliseconds.
    pub sample_interval_ms: u64,
    /// One operation per batch of this many loop iterations is timed for the latency
    /// histogram, at a random position: one operation in this many for producers and
    /// consumers, one in twice as many for pairs (an iteration is a push and a pop).
    pub latency_sample_every: u32,
    /// The most values producers keep in flight (pushed, not yet popped) before they
    /// wait for consumers: producers that outrun consumers would otherwise measure how
    /// fast memory fills.
    pub max_in_flight: u64,
    /// Whether the instrumentation was on (sampler, latency timing, counters, counting
    /// allocator). Only `run --overhead` turns it off.
    pub instrumented: bool,
    /// Whether each worker was pinned to a CPU (worker `i` on the `i`-th CPU the process
    /// may use, round-robin when there are more workers than CPUs), and the threads the
    /// backend started itself confined to the CPUs left over, if any. `null` before it
    /// was recorded.
    #[serde(default)]
    pub pinned: Option<bool>,
}

/// A scheme's knob set to a value, as a row records it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tuning {
    /// The knob (`batch-size`, `interval-us`).
    pub key: String,
    /// Its value.
    pub value: u64,
}

impl std::fmt::Display for Tuning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// The allocator of rows from files that predate [`Row::allocator`].
fn system_allocator() -> String {
    "system".to_owned()
}

/// The result of one backend on one workload at one thread count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The registered backend name (`treiber-ebr`).
    pub backend: String,
    /// The structure (`treiber`, `msqueue`, `mutex-vec`, `handoff`, …).
    pub structure: String,
    /// The reclamation scheme (`leak`, `ebr`, `hp`, `rc`, `sweep`; `lock`, `internal` or
    /// `prealloc` for baselines; the strategy for `handoff`).
    pub scheme: String,
    /// The scheme's tuning, in words (thresholds, intervals).
    pub scheme_settings: String,
    /// The allocator underneath (`system`, `mimalloc`, `jemalloc`): what `malloc` and
    /// `free` of the row's process went to. `system` in files written before the field
    /// existed, which ran on nothing else.
    #[serde(default = "system_allocator")]
    pub allocator: String,
    /// The scheme's knob this row set (`run --scheme-setting KEY=V1,V2,…`: one row per
    /// value); `null` at the scheme's defaults, and in files written before it existed.
    #[serde(default)]
    pub tuning: Option<Tuning>,
    /// The workload (`pairs`, `prodcons`, `mpsc`, `handoff`, `stalled`,
    /// `oversubscription`).
    pub workload: String,
    /// Threads taking part, all roles included.
    pub threads: usize,
    /// What the threads did: `"4 pairs"`, `"2 producers + 2 consumers"`, …
    pub roles: String,
    /// Whether every repeat passed its check. When `false`, [`error`](Row::error) says
    /// why and the numbers below are `null`.
    pub valid: bool,
    /// Why the row is invalid.
    pub error: Option<String>,
    /// Completed operations (pushes plus pops) per second: median over repeats and spread.
    pub ops_per_sec: Option<Spread>,
    /// Throughput relative to the row's reference in its comparison group, paired by
    /// round; `null` for invalid rows, when the reference is invalid, and in version 1.
    #[serde(default)]
    pub ratio: Option<Ratio>,
    /// Why the rounds ended: `fixed` (the number asked for), `ci-target` (every interval
    /// of the group within the target) or `time cap`. `null` in version 1.
    #[serde(default)]
    pub rounds_ended: Option<String>,
    /// What else the machine did while the row ran; `null` where nothing was measured.
    #[serde(default)]
    pub noise: Option<Noise>,
    /// Why the row's numbers are too noisy to lean on (a wide interval, steal, waiting for
    /// a CPU), or `null` when they are not.
    #[serde(default)]
    pub noisy: Option<String>,
    /// Every repeat's throughput, in run order.
    pub repeat_ops_per_sec: Vec<f64>,
    /// Every repeat's throughput with the time the hypervisor stole from its workers
    /// taken out (see `noise.stolen_pct`), in run order; empty where that is unknown for
    /// some repeat. The paired ratio is computed on these where the row and its
    /// reference both have them (`ratio.unstolen`). Absent before it was recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeat_ops_per_sec_unstolen: Vec<f64>,
    /// Operations each thread completed in the median repeat (fairness).
    pub per_thread_ops: Vec<u64>,
    /// Sampled operation latency over every repeat.
    pub latency_ns: Option<Latency>,
    /// Collection pauses over every repeat: each collection the driver ran, timed on its
    /// own (graph rows; `samples` is their number, 0 when there were none). Absent for
    /// rows that have no collections to time, and in files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pauses_ns: Option<Latency>,
    /// Live heap memory during the median repeat.
    pub memory: Option<Memory>,
    /// Retired objects not yet freed during the median repeat; `null` for backends
    /// that have no reclamation scheme to count.
    pub garbage: Option<Garbage>,
    /// Hardware and software counters over the median repeat, by perf name
    /// (`instructions`, `task-clock`, …); `null` where unavailable.
    pub counters: BTreeMap<String, Option<u64>>,
    /// Why each `null` counter is `null`.
    pub counter_errors: BTreeMap<String, String>,
    /// Operations completed in the repeat the counters cover, to turn them into
    /// per-operation figures.
    pub counted_ops: u64,
    /// Workload-specific numbers (handoff: frees on the consumer, messages refused, …).
    pub extra: BTreeMap<String, f64>,
}

impl Row {
    /// Whether the row measured a set (the set family carries its key range in `extra`,
    /// as `keys`), not a container or the handoff.
    pub fn is_set(&self) -> bool {
        self.extra.contains_key("keys")
    }

    /// A row with identity fields empty and no numbers; the harness fills it in.
    pub fn empty() -> Row {
        Row {
            backend: String::new(),
            structure: String::new(),
            scheme: String::new(),
            scheme_settings: String::new(),
            allocator: system_allocator(),
            tuning: None,
            workload: String::new(),
            threads: 0,
            roles: String::new(),
            valid: false,
            error: None,
            ops_per_sec: None,
            ratio: None,
            rounds_ended: None,
            noise: None,
            noisy: None,
            repeat_ops_per_sec: Vec::new(),
            repeat_ops_per_sec_unstolen: Vec::new(),
            per_thread_ops: Vec::new(),
            latency_ns: None,
            pauses_ns: None,
            memory: None,
            garbage: None,
            counters: BTreeMap::new(),
            counter_errors: BTreeMap::new(),
            counted_ops: 0,
            extra: BTreeMap::new(),
        }
    }

    /// A row of `backend` (`structure` over `scheme`) on `workload` at `threads` threads:
    /// [`Row::empty`] with those identity fields filled in (not the scheme's settings nor
    /// the roles), and no numbers.
    pub fn named(
        backend: impl Into<String>,
        structure: impl Into<String>,
        scheme: impl Into<String>,
        workload: impl Into<String>,
        threads: usize,
    ) -> Row {
        Row {
            backend: backend.into(),
            structure: structure.into(),
            scheme: scheme.into(),
            workload: workload.into(),
            threads,
            ..Row::empty()
        }
    }

    /// A counter's value per completed operation, when both are known.
    pub fn counter_per_op(&self, name: &str) -> Option<f64> {
        let value = (*self.counters.get(name)?)?;
        (self.counted_ops > 0).then(|| value as f64 / self.counted_ops as f64)
    }
}

/// A median with its spread over repeats.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// The median (mean of the two middle values for an even count).
    pub median: f64,
    /// The lowest value.
    pub min: f64,
    /// The highest value.
    pub max: f64,
    /// Coefficient of variation: standard deviation over mean (0 for one repeat).
    pub cv: f64,
    /// A distribution-free 95% confidence interval for the median ([`stats`]); `null`
    /// with fewer than [`stats::MIN_VALUES`] repeats, and in version 1.
    #[serde(default)]
    pub ci95: Option<[f64; 2]>,
}

impl Spread {
    /// The spread of `values`, or `None` if there are none or one is not finite.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = stats::median(&sorted)?;
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let variance = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        let cv = if mean > 0.0 {
            variance.sqrt() / mean
        } else {
            0.0
        };
        Some(Spread {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            cv,
            ci95: stats::median_ci95(&sorted),
        })
    }

    /// The interval's half-width relative to the median, in percent: the larger of the
    /// two sides. `None` without an interval.
    pub fn ci_half_width_pct(&self) -> Option<f64> {
        relative_half_width(self.median, self.ci95?)
    }
}

/// The larger side of `ci` around `center`, in percent of `center`.
fn relative_half_width(center: f64, [low, high]: [f64; 2]) -> Option<f64> {
    (center > 0.0).then(|| 100.0 * (high / center - 1.0).max(1.0 - low / center))
}

/// What else the machine did to a row's repeats: each figure is `null` where the kernel
/// does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// CPU time the hypervisor gave to other guests, in percent of all CPU time: the
    /// highest of the row's repeats.
    pub steal_pct_max: Option<f64>,
    /// The share of the workers' time they were ready to run but waited for a CPU, in
    /// percent: the median of the repeats.
    pub runqueue_delay_pct: Option<f64>,
    /// The same, the highest of the repeats.
    pub runqueue_delay_pct_max: Option<f64>,
    /// The workers' involuntary context switches per repeat, the median.
    pub involuntary_switches: Option<u64>,
    /// The workers' moves between CPUs per repeat, the median.
    pub migrations: Option<u64>,
    /// The share of a repeat's time the hypervisor stole from its workers, in percent
    /// (a worker's time neither on a CPU nor waiting for one, for workers that never
    /// slept; at most their CPU's steal otherwise): the median of the repeats. `null`
    /// where unknown, and in files written before it was recorded.
    #[serde(default)]
    pub stolen_pct: Option<f64>,
}

/// A row's throughput over its reference's, paired by round: in each round both ran one
/// repeat, back to back in a shuffled order, so the ratio of that round's two figures
/// cancels what the round had in common (a slow period, another process).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// The reference backend of the row's comparison group (itself for the reference).
    pub reference: String,
    /// The median of the per-round ratios.
    pub median: f64,
    /// Its distribution-free 95% confidence interval ([`stats`]); `null` with fewer than
    /// [`stats::MIN_VALUES`] rounds.
    pub ci95: Option<[f64; 2]>,
    /// Rounds paired.
    pub rounds: u32,
    /// Whether the per-round figures had the time stolen from the workers taken out
    /// (`repeat_ops_per_sec_unstolen`); `false` in files written before that existed.
    #[serde(default)]
    pub unstolen: bool,
}

/// What a ratio says about a row against its reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The row is the reference.
    Reference,
    /// The interval lies above 1.
    Faster,
    /// The interval lies below 1.
    Slower,
    /// The interval contains 1: no difference the noise lets us claim.
    WithinNoise,
    /// Too few rounds for an interval.
    NoInterval,
}

impl Ratio {
    /// The ratio of `values` over `reference`, round by round; `None` if the two differ
    /// in length, are empty, or hold a value that is not a positive finite number.
    pub fn paired(reference: &str, values: &[f64], references: &[f64]) -> Option<Ratio> {
        if values.len() != references.len() || values.is_empty() {
            return None;
        }
        let ratios: Vec<f64> = values.iter().zip(references).map(|(v, r)| v / r).collect();
        if ratios.iter().any(|r| !r.is_finite() || *r <= 0.0) {
            return None;
        }
        Some(Ratio {
            reference: reference.to_string(),
            median: stats::median(&ratios)?,
            ci95: stats::median_ci95(&ratios),
            rounds: u32::try_from(ratios.len()).unwrap_or(u32::MAX),
            unstolen: false,
        })
    }

    /// Whether the interval lets us tell the row from its reference.
    pub fn verdict(&self, backend: &str) -> Verdict {
        if backend == self.reference {
            return Verdict::Reference;
        }
        match self.ci95 {
            None => Verdict::NoInterval,
            Some([low, _]) if low > 1.0 => Verdict::Faster,
            Some([_, high]) if high < 1.0 => Verdict::Slower,
            Some(_) => Verdict::WithinNoise,
        }
    }

    /// The interval's half-width relative to the median, in percent.
    pub fn ci_half_width_pct(&self) -> Option<f64> {
        relative_half_width(self.median, self.ci95?)
    }
}

/// Latency percentiles of sampled operations, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest sample.
    pub max: u64,
    /// How many operations were timed.
    pub samples: u64,
}

/// Live heap memory over a repeat, above what was live before the container was built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// The highest live byte count during the repeats, above the baseline (within the
    /// allocator's per-thread batching: 64 KiB per running thread).
    pub peak_bytes: u64,
    /// Samples over time.
    pub series: Vec<MemoryPoint>,
}

/// One sample of live memory.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryPoint {
    /// Milliseconds since the threads were released.
    pub t_ms: f64,
    /// Live bytes above the baseline (negative if the run freed memory that was live
    /// before it started).
    pub bytes: i64,
    /// Live allocations above the baseline.
    pub objects: i64,
}

/// Garbage outstanding (retired − freed) over a repeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Garbage {
    /// The most garbage any sample saw.
    pub peak: u64,
    /// Samples over time.
    pub series: Vec<GarbagePoint>,
}

/// One sample of a scheme's counters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GarbagePoint {
    /// Milliseconds since the threads were released.
    pub t_ms: f64,
    /// Retired and not yet freed. For `handoff`: messages alive (built, not destroyed).
    pub outstanding: u64,
    /// Retired so far in this repeat; `null` where only the outstanding count is known
    /// (`handoff`).
    pub retired: Option<u64>,
    /// Freed so far in this repeat; `null` likewise.
    pub freed: Option<u64>,
}

/// Why a result file could not be read or written. The message names the file and what
/// was done to it; the cause is the [`source`](std::error::Error::source) (print the
/// chain, as anyhow's `{:#}` or `reclaim_core::error_chain` do).
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The file could not be opened or read.
    #[error("could not read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file could not be written: its directory, the disk, or a rename.
    #[error("could not write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file is not JSON of this format.
    #[error("{path} is not a reclaim-bench result file")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where the JSON went wrong.
        #[source]
        source: serde_json::Error,
    },
    /// The file was written by a harness with another format version.
    #[error(
        "{path}: result-file schema version {found}, this build reads versions 1 to \
         {SCHEMA_VERSION}; re-run the harness or use the reclaim-bench version that wrote it"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
    },
}

impl ResultFile {
    /// Reads and checks a result file.
    ///
    /// # Errors
    /// The file cannot be read, is not JSON of this format, or has another schema
    /// version (checked before the rows are parsed, so an older file gets the version
    /// error and not a confusing missing-field one).
    pub fn load(path: &Path) -> Result<ResultFile, ResultsError> {
        let text = fs::read_to_string(path).map_err(|source| ResultsError::Read {
            path: path.to_owned(),
            source,
        })?;
        let parse = |source| ResultsError::Parse {
            path: path.to_owned(),
            source,
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(parse)?;
        let found = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64);
        match found {
            Some(found) if !READABLE_VERSIONS.iter().any(|&v| u64::from(v) == found) => {
                return Err(ResultsError::Version {
                    path: path.to_owned(),
                    found,
                });
            }
            _ => {}
        }
        serde_json::from_value(value).map_err(parse)
    }

    /// Writes the file as pretty JSON, atomically: into a temporary file in the same
    /// directory, flushed, then renamed over `path`. A full disk or a crash leaves either
    /// the old file or the new one, never a truncated one.
    ///
    /// # Errors
    /// The directory cannot be written, or the disk is full.
    pub fn save(&self, path: &Path) -> Result<(), ResultsError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| ResultsError::Write {
            path: path.to_owned(),
            source: io::Error::other(e),
        })?;
        write_atomically(path, &json)
    }
}

/// The directory a file at `path` goes in: its parent, or `.` for a bare file name.
pub fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` through a temporary sibling and a rename.
///
/// # Errors
/// Any failure to create, write, flush or rename; the temporary file is removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    let io = |source| ResultsError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = directory_of(path);
    let name = path.file_name().ok_or_else(|| {
        io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file path",
        ))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests;
