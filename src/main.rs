//! `reclaim-bench`: compare memory-reclamation schemes for lock-free structures.
//!
//! The binary is thin: the backends and the registry live in `crates/`, the measuring in
//! `reclaim-harness`, the report in `reclaim-report`. With no arguments it runs the quick
//! suite (every backend, every workload, 1, 2 and 4 threads) and writes a result file and
//! an HTML report under `results/`.

mod isolate;
mod list;
mod overhead;
mod reports;
mod run;
mod summary;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use reclaim_alloc::{Allocator, Chosen, CountingAlloc};
use reclaim_harness::{Suite, Workload};

/// The exit status, for `--help` (and the README, which says the same).
const EXIT_STATUS: &str = "Exit status:
  0  success
  1  the run completed and wrote its result file, but some rows failed their self-check
     or could not run (they are listed, and kept in the file as invalid)
  2  a usage error, or the command could not do its job: bad settings, an unknown backend
     or workload, nothing that applies, a file that cannot be read or written";

/// The exit status of the commands that do not measure.
const EXIT_STATUS_READING: &str = "Exit status:
  0  success
  2  a usage error, or the command could not do its job: an unknown name, a file that
     cannot be read or written";

/// Counts live memory for the memory and garbage series (its cost is what
/// `run --overhead` measures), over the allocator `RECLAIM_ALLOCATOR` chose when the
/// process started (the system's unless set; `run --allocator` sets it for the processes
/// it starts).
#[global_allocator]
static ALLOCATOR: CountingAlloc<Chosen> = CountingAlloc::wrapping(Chosen::new());

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Compare memory-reclamation schemes for lock-free structures, across machines",
    long_about = "Compare memory-reclamation schemes (leak, epochs, hazard pointers, reference \
counting, collector sweeping) for lock-free structures, with baselines and a disk-spilling \
channel. With no command, `run`: `reclaim-bench --full` is `reclaim-bench run --full`, and \
`reclaim-bench` alone runs the quick suite and writes results/<host>-<target>-<time>.json, its \
report results/<host>-<target>-<time>.html, and results/latest.html, which refers to the newest \
report.",
    // `run`'s options are also the top level's, for the command users type most; mixed
    // with a command (`reclaim-bench -b x list`) they are an error, not silently dropped.
    args_conflicts_with_subcommands = true,
    after_help = EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no command: `run` with these options.
    #[command(flatten)]
    run: RunArgs,
}

// Built once per process; the size of `RunArgs` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// List the backends, the workloads and which performance counters this machine has.
    #[command(after_help = EXIT_STATUS_READING)]
    List {
        /// Print only the names of the backends these names or globs select, one per line
        /// (for scripts: `list --names 'treiber-*'`).
        #[arg(long, value_name = "PATTERNS", num_args = 0..=1, default_missing_value = "*")]
        names: Option<String>,
        /// With --names: only the container backends (and handoff strategies), or only
        /// the sets.
        #[arg(long, value_enum, requires = "names")]
        family: Option<list::Family>,
        /// Print only the names of the counters a row records, one per line, in the order
        /// of the CSV columns (for scripts: `perf stat -e`).
        #[arg(long, conflicts_with = "names")]
        counters: bool,
    },
    /// Measure backends on workloads; writes a result file and an HTML report.
    #[command(after_help = EXIT_STATUS)]
    Run(RunArgs),
    /// Render one self-contained HTML report from one or more result files.
    #[command(after_help = EXIT_STATUS_READING)]
    Report {
        /// Result files (JSON) to include; several are compared side by side.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write the report (default: beside the first file and named after it,
        /// `results/<stem>.html` for one file, `results/<stem>-and-<n>-more.html` for
        /// several). It leaves `latest.html`, the newest run's report, alone.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Compare two or more result files (say an x86_64 run and a Raspberry Pi run) side
    /// by side, with ratios to the first.
    #[command(after_help = EXIT_STATUS_READING)]
    Compare {
        /// Result files (JSON); the first is the reference.
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Also write the comparison as an HTML report here.
        #[arg(long)]
        html: Option<PathBuf>,
    },
}

/// The headings `run --help` groups its options under.
const WHAT: &str = "What to run";
const HOW_LONG: &str = "How long";
const MEASUREMENT: &str = "Measurement";
const OUTPUT: &str = "Output";

/// What to run and how.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The suite the other options adjust (default: quick).
    #[arg(long, value_name = "SUITE", value_parser = suite_names(), help_heading = WHAT)]
    suite: Option<Suite>,
    /// The quick suite, the default: 1, 2 and 4 threads, 6 rounds of 100 ms repeats
    /// (`--suite quick`).
    #[arg(long, conflicts_with_all = ["suite", "full"], help_heading = WHAT)]
    quick: bool,
    /// The publication-grade suite: repeats of 1 s, thread counts up to twice the cores,
    /// rounds added until every interval is within ±2%, at most an hour in all (`--suite
    /// full`).
    #[arg(long, conflicts_with = "suite", help_heading = WHAT)]
    full: bool,
    /// Backends by name or glob (`treiber-*`, `*-hp`); repeat or separate with commas.
    #[arg(short, long = "backend", value_delimiter = ',', help_heading = WHAT)]
    backends: Vec<String>,
    /// Only backends of these structures (`treiber`, `msqueue`, `mutex-vec`, `handoff`, …).
    #[arg(long = "structure", value_delimiter = ',', help_heading = WHAT)]
    structures: Vec<String>,
    /// Only backends of these schemes (`leak`, `ebr`, `hp`, `seize`, `rc`, `sweep`, `lock`, …).
    #[arg(long = "scheme", value_delimiter = ',', help_heading = WHAT)]
    schemes: Vec<String>,
    /// Workloads; repeat or separate with commas (default: all).
    #[arg(
        short,
        long = "workload",
        value_delimiter = ',',
        value_parser = workload_names(),
        help_heading = WHAT
    )]
    workloads: Vec<String>,
    /// Thread counts, e.g. `1,2,4` (default: the suite's).
    #[arg(short, long, value_delimiter = ',', help_heading = WHAT)]
    threads: Option<Vec<usize>>,
    /// Run every row on each of these allocators: `system`, `mimalloc`, `jemalloc`
    /// (default: the one this process runs on, the system's unless `RECLAIM_ALLOCATOR`
    /// says otherwise). Rows on another allocator run each repeat in a fresh process, and
    /// then so do all rows, so that every row is measured alike; the rows of all
    /// allocators share the rounds, and each row's ratio is to a reference on its own
    /// allocator.
    #[arg(
        long = "allocator",
        value_delimiter = ',',
        value_name = "NAMES",
        conflicts_with = "overhead",
        help_heading = WHAT
    )]
    allocators: Vec<Allocator>,
    /// Run the backends whose scheme has this knob once per value, the others once as
    /// references: `batch-size=8,32,128` (seize), `interval-us=100,1000,10000` (sweep).
    /// `list` shows each scheme's knobs.
    #[arg(
        long,
        value_name = "KEY=V1,V2,…",
        conflicts_with = "overhead",
        help_heading = WHAT
    )]
    scheme_setting: Option<reclaim_harness::TuningSweep>,
    /// Measure the instrumentation's cost instead: each row in pairs of repeats with it on
    /// and off, back to back; reports the throughput lost with a 95% interval. `-r` sets
    /// the pairs per row.
    #[arg(long, help_heading = WHAT)]
    overhead: bool,

    /// How long each repeat runs, e.g. `250ms`, `2s` (default: the suite's).
    #[arg(
        short,
        long,
        value_parser = parse_duration,
        conflicts_with = "iterations",
        help_heading = HOW_LONG
    )]
    duration: Option<Duration>,
    /// Instead of a duration, run this many loop iterations per worker in each repeat:
    /// the same work every time, for instruction counts (`scripts/instructions.sh`).
    #[arg(long, value_name = "N", help_heading = HOW_LONG)]
    iterations: Option<u64>,
    /// Rounds: in each, every row of a comparison group (one workload at one thread
    /// count) runs one repeat, in a shuffled order; the median is reported, with a 95%
    /// interval from 6 rounds on (default: the suite's; with --ci-target, the fewest).
    #[arg(short, long, visible_alias = "rounds", help_heading = HOW_LONG)]
    repeats: Option<u32>,
    /// Add rounds until every median's and ratio's 95% interval is within ±PCT percent of
    /// it, or the time cap is reached, e.g. `--ci-target 2`.
    #[arg(long, value_name = "PCT", help_heading = HOW_LONG)]
    ci_target: Option<f64>,
    /// The time cap of the whole run with --ci-target, shared out among the comparison
    /// groups, e.g. `20m` (default: an hour).
    #[arg(long, value_parser = parse_duration, requires = "ci_target", help_heading = HOW_LONG)]
    max_time: Option<Duration>,
    /// Callbacks per handoff run (1 ms each).
    #[arg(long, help_heading = HOW_LONG)]
    handoff_callbacks: Option<u64>,

    /// What every ratio is taken against: a backend (`treiber-leak`), in the groups it is
    /// in, or a scheme (`circ`): each row's structure's backend of that scheme, where the
    /// group has one (default: each row's structure's `ebr` backend, else the group's
    /// first row).
    #[arg(long, value_name = "NAME", help_heading = MEASUREMENT)]
    reference: Option<String>,
    /// The seed of the rounds' shuffled orders; the same seed gives the same orders.
    #[arg(long, help_heading = MEASUREMENT)]
    seed: Option<u64>,
    /// Pin each worker to its own CPU (the default: worker i on the i-th CPU the process
    /// may use; with more workers than CPUs, round-robin: several share a CPU). The sampler
    /// and threads a backend starts itself are not pinned.
    #[arg(long, overrides_with = "no_pin", help_heading = MEASUREMENT)]
    pin: bool,
    /// Do not pin workers: the scheduler places them and may move them.
    #[arg(long, overrides_with = "pin", help_heading = MEASUREMENT)]
    no_pin: bool,
    /// Run every repeat in a fresh process of this binary, so that no row inherits the
    /// allocator's or the kernel's state from the rows before it (page faults and peak
    /// memory depend on it). Slower: a process start per repeat.
    #[arg(long, help_heading = MEASUREMENT)]
    isolate: bool,
    /// Where backends that write files (the disk-spilling channel) put them: a disk, not
    /// a RAM file system, for the disk rows to measure a disk.
    #[arg(long, value_name = "DIR", default_value = "results/scratch", help_heading = MEASUREMENT)]
    scratch: PathBuf,
    /// Time between two samples of memory and garbage, e.g. `5ms`.
    #[arg(long, value_parser = parse_duration, help_heading = MEASUREMENT)]
    sample_interval: Option<Duration>,
    /// Producers wait while this many values are in flight.
    #[arg(long, help_heading = MEASUREMENT)]
    max_in_flight: Option<u64>,
    /// Sets: keys are drawn from 0..N, and the set is prefilled to half of them (default:
    /// 1,024 for lists, 100,000 for the others).
    #[arg(long, value_name = "N", help_heading = MEASUREMENT)]
    keys: Option<u64>,
    /// Sets: percent contains/insert/remove, e.g. `80/10/10`, instead of each workload's
    /// own mix.
    #[arg(long, value_name = "R/I/D", help_heading = MEASUREMENT)]
    mix: Option<reclaim_harness::workload::Mix>,
    /// Sets: draw keys from a Zipf distribution of exponent S (0.99 is the usual model of
    /// a skewed key popularity) instead of uniformly.
    #[arg(long, value_name = "S", help_heading = MEASUREMENT)]
    zipf: Option<f64>,
    /// Graphs: the live graph's nodes (default: 10,000 in the quick suite, 100,000 in
    /// the full one).
    #[arg(long, value_name = "N", help_heading = MEASUREMENT)]
    nodes: Option<usize>,
    /// `graph-forced`: a full collection every N operations (default: 1,000).
    #[arg(long, value_name = "N", help_heading = MEASUREMENT)]
    collect_every: Option<u64>,
    /// Run bare: no sampler, latency timing, counters or allocation counting. Throughput
    /// and the self-check only; memory, garbage, latency and counters are null.
    #[arg(long, help_heading = MEASUREMENT)]
    no_instrumentation: bool,
    /// One repeat of BACKEND:WORKLOAD:THREADS, printed as JSON: how --isolate runs a repeat.
    #[arg(long, hide = true, value_name = "BACKEND:WORKLOAD:THREADS")]
    only_repeat: Option<String>,

    /// The result file (default: `results/<host>-<target>-<timestamp>.json`, with `-2`,
    /// `-3`, … before `.json` when an earlier run of the same second has that name).
    #[arg(short, long, help_heading = OUTPUT)]
    output: Option<PathBuf>,
    /// Also export the flat numbers as CSV to this file.
    #[arg(long, help_heading = OUTPUT)]
    csv: Option<PathBuf>,
    // --report and --no-report: the later one wins (`overrides_with`, as for --pin and
    // --no-pin), rather than a conflict: a script that passes one before its user's own
    // options lets the user ask for the other.
    /// Where to write the HTML report of this run: exactly this file, and nothing else
    /// (default: beside the result file and named after it, `.html` for `.json`, with
    /// `latest.html` there made to refer to it). The later of --report and --no-report
    /// wins.
    #[arg(long, overrides_with = "no_report", help_heading = OUTPUT)]
    report: Option<PathBuf>,
    /// Do not write the HTML report; `latest.html` still refers to the last one written.
    #[arg(long, overrides_with = "report", help_heading = OUTPUT)]
    no_report: bool,
    /// No progress bar, summary table, warnings or notes.
    #[arg(short, long, help_heading = OUTPUT)]
    quiet: bool,
}

impl RunArgs {
    /// The suite asked for by `--suite`, `--quick` or `--full` (clap lets one through at
    /// most), else the quick suite.
    pub fn suite(&self) -> Suite {
        if self.full {
            Suite::Full
        } else {
            self.suite.unwrap_or(Suite::Quick)
        }
    }
}

/// The suites a user picks from, for clap to list in `--help` and check: not `custom`,
/// which is what a suite becomes once an option changes a measurement setting.
fn suite_names() -> impl TypedValueParser<Value = Suite> {
    PossibleValuesParser::new([
        PossibleValue::new(Suite::Quick.name())
            .help("1, 2 and 4 threads, 6 rounds of 100 ms repeats: every backend in minutes"),
        PossibleValue::new(Suite::Full.name())
            .help("1 s repeats, threads up to 2× the cores, rounds until intervals are ±2%"),
    ])
    .map(|name| name.parse().expect("a possible value is a suite's name"))
}

/// The workloads' names and summaries, for clap to list in `--help` and check, and `all`.
/// The plan parses the names (`Workload`'s `FromStr`), `all` included.
fn workload_names() -> PossibleValuesParser {
    let workloads = Workload::ALL.map(|w| PossibleValue::new(w.name()).help(w.summary()));
    PossibleValuesParser::new(
        workloads
            .into_iter()
            .chain([PossibleValue::new("all").help("every workload (the default)")]),
    )
}

/// That the allocator this process runs on is the one `RECLAIM_ALLOCATOR` asks for: the
/// name is known, and this binary has it.
fn check_allocator() -> anyhow::Result<()> {
    let env = reclaim_alloc::ALLOCATOR_ENV;
    let Some(requested) = Allocator::requested().map_err(|e| anyhow::anyhow!("{env}: {e}"))? else {
        return Ok(());
    };
    requested
        .available()
        .map_err(|why| anyhow::anyhow!("{env}={requested}: {why}"))?;
    let chosen = reclaim_alloc::chosen();
    anyhow::ensure!(
        chosen == requested,
        "{env}={requested}, but this process runs on {chosen}"
    );
    Ok(())
}

/// A duration on the command line. clap prints the error's message alone, so the cause
/// is in it.
fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text)
        .map_err(|e| anyhow::anyhow!("`{text}`: {e} (try `100ms` or `2s`)"))
}

fn main() -> ExitCode {
    // Before anything else: a process asked to run on an allocator it cannot give would
    // measure the wrong one.
    if let Err(err) = check_allocator() {
        eprintln!("reclaim-bench: {err:#}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    // No command: `run` with the options given at the top level; with none, the main
    // job (the quick suite, every backend).
    let command = cli.command.unwrap_or(Command::Run(cli.run));
    if let Command::Run(args) = &command
        && args.no_instrumentation
    {
        reclaim_alloc::stop_counting();
    }
    let result = match command {
        Command::List { counters: true, .. } => list::counters(),
        Command::List { names: None, .. } => list::list(),
        Command::List {
            names: Some(patterns),
            family,
            ..
        } => list::names(&patterns, family),
        Command::Run(args) if args.overhead => overhead::overhead(&args),
        Command::Run(args) if args.only_repeat.is_some() => isolate::repeat_once(&args),
        Command::Run(args) => run::run(&args).map(|_| ()),
        Command::Report { files, output } => run::report(&files, output.as_deref()),
        Command::Compare { files, html } => run::compare(&files, html.as_deref()),
    };
    // The exit status EXIT_STATUS documents: 1 for rows that failed, measured and
    // written; 2 for anything that kept the command from doing its job, as for a bad
    // command line (clap's own exit, in `Cli::parse`).
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}`: what was being done, then each cause, on one line.
            eprintln!("reclaim-bench: {err:#}");
            if err.is::<run::RowsFailed>() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
