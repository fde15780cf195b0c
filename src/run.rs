//! `run`, `report` and `compare`: measure, write result files, render reports.

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use reclaim_harness::metadata::{self, Build};
use reclaim_harness::{Selection, Settings, Suite};
use reclaim_report::Input;
use reclaim_results::{ResultFile, SCHEMA_VERSION, write_atomically};

use crate::RunArgs;
use crate::reports;
use crate::summary::summarize;

/// What the build script captured about this binary.
pub fn build() -> Build {
    Build {
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        git_sha: env!("RECLAIM_GIT_SHA").to_string(),
        rustc: env!("RECLAIM_RUSTC").to_string(),
        profile: env!("RECLAIM_PROFILE").to_string(),
        target: env!("RECLAIM_TARGET").to_string(),
    }
}

/// The suite's settings with the user's overrides applied and checked.
pub fn settings(args: &RunArgs, cores: usize) -> anyhow::Result<Settings> {
    let mut settings = match args.suite() {
        Suite::Full => Settings::full(cores),
        Suite::Quick | Suite::Custom => Settings::quick(),
    };
    let base = settings.clone();
    if let Some(duration) = args.duration {
        settings.duration = duration;
        // Keep about as many samples per run as the suite has.
        if args.sample_interval.is_none() {
            let per_run = (base.duration.as_nanos() / base.sample_interval.as_nanos()).max(1);
            settings.sample_interval = Duration::from_nanos(
                u64::try_from(duration.as_nanos() / per_run).unwrap_or(u64::MAX),
            )
            .max(Duration::from_millis(1));
        }
    }
    if let Some(repeats) = args.repeats {
        settings.repeats = repeats;
    }
    settings.iterations = args.iterations;
    if let Some(interval) = args.sample_interval {
        settings.sample_interval = interval;
    }
    if let Some(max) = args.max_in_flight {
        settings.max_in_flight = max;
    }
    if let Some(callbacks) = args.handoff_callbacks {
        settings.handoff_callbacks = callbacks;
    }
    if let Some(target) = args.ci_target {
        settings.ci_target = Some(target);
        settings.max_time = Some(
            args.max_time
                .unwrap_or(reclaim_harness::settings::FULL_MAX_TIME),
        );
    }
    if let Some(seed) = args.seed {
        settings.seed = seed;
    }
    settings.keys = args.keys;
    settings.mix = args.mix;
    settings.zipf = args.zipf.map(reclaim_harness::workload::Zipf);
    if let Some(nodes) = args.nodes {
        settings.graph_nodes = nodes;
    }
    if let Some(every) = args.collect_every {
        settings.collect_every = every;
    }
    settings.reference.clone_from(&args.reference);
    if args.pin || args.no_pin {
        settings.pin = args.pin;
    }
    settings.scratch = Some(args.scratch.clone());
    settings.instrumented = !args.no_instrumentation;
    // A seed, a reference or the scratch directory (recorded with its file system in the
    // metadata) changes no measurement: the suite keeps its name. The scratch directory
    // always comes from the command line (it has a default there), so comparing it would
    // call every run custom.
    let overridden = Settings {
        suite: base.suite,
        instrumented: base.instrumented,
        seed: base.seed,
        reference: base.reference.clone(),
        scratch: base.scratch.clone(),
        ..settings.clone()
    } != base;
    if overridden || args.threads.is_some() {
        settings.suite = Suite::Custom;
    }
    settings.validate()?;
    Ok(settings)
}

pub fn selection(args: &RunArgs) -> Selection {
    Selection {
        backends: args.backends.clone(),
        structures: args.structures.clone(),
        schemes: args.schemes.clone(),
        workloads: args.workloads.clone(),
        threads: args.threads.clone(),
        allocators: (!args.allocators.is_empty()).then(|| args.allocators.clone()),
        tuning: args.scheme_setting.clone(),
    }
}

/// `results/<host>-<target>-<timestamp>.json`, with characters that trouble file systems
/// (`:` on Windows shares, `/` anywhere) taken out, and `-2`, `-3`, … added when the name
/// is taken: the timestamp has seconds, and two short runs in one second must not share a
/// result file and its report.
fn default_output(file: &ResultFile) -> PathBuf {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let stamp: String = file
        .metadata
        .started_at
        .chars()
        .filter(|&c| c != ':')
        .collect();
    let stem = format!(
        "{}-{}-{}",
        clean(&file.metadata.host),
        clean(&file.metadata.target),
        clean(&stamp)
    );
    let named = |n: u32| match n {
        1 => PathBuf::from("results").join(format!("{stem}.json")),
        n => PathBuf::from("results").join(format!("{stem}-{n}.json")),
    };
    (1..)
        .map(named)
        .find(|path| !path.exists())
        .expect("some suffix is free")
}

/// Makes sure `path`'s directory exists and takes a file, before minutes of measuring.
/// `what` names the file in the error: `the result file`, `the CSV export`, …. A
/// directory it creates is said on stderr unless `quiet` (a mistyped `-o out/dir/run.json`
/// would otherwise make directories without a word); only the call that creates it says
/// so, once for files that share it.
fn check_writable(path: &Path, what: &str, quiet: bool) -> anyhow::Result<()> {
    let dir = reclaim_results::directory_of(path);
    let existed = dir.is_dir();
    let checked = fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))
        .and_then(|()| {
            if !existed && !quiet {
                eprintln!(
                    "note: created the directory {} for {what} {}",
                    dir.display(),
                    path.display()
                );
            }
            let probe = dir.join(format!(".reclaim-bench-write-test-{}", std::process::id()));
            fs::write(&probe, b"")
                .with_context(|| format!("cannot create a file in {}", dir.display()))?;
            let _ = fs::remove_file(&probe);
            Ok(())
        });
    checked.with_context(|| format!("{what} {} cannot be written", path.display()))
}

/// Runs the selected rows in paired rounds, group by group; writes the result file (after
/// every group, so an interrupted run keeps what it measured), the CSV and the report;
/// prints the summary. Returns the result file's path.
pub fn run(args: &RunArgs) -> anyhow::Result<PathBuf> {
    let cores = metadata::cores();
    let settings = settings(args, cores)?;
    let plan = reclaim_harness::plan(
        &selection(args),
        &reclaim_registry::entries(),
        &settings,
        cores,
    )?;
    if let Some(reference) = &settings.reference
        && !plan
            .runs
            .iter()
            .any(|p| &p.target.name() == reference || &p.target.scheme() == reference)
    {
        bail!("the reference `{reference}` is not among the selected backends or their schemes");
    }
    let groups = reclaim_harness::rounds::groups(&plan);
    let budget = reclaim_harness::rounds::budget_per_group(&settings, groups.len());
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let mut file = ResultFile {
        schema_version: SCHEMA_VERSION,
        metadata: metadata::collect(&build(), &command),
        settings: settings.record(),
        rows: Vec::with_capacity(plan.runs.len()),
    };
    for planned in &plan.runs {
        let name = planned.allocator.name().to_string();
        if !file.metadata.allocators.contains(&name) {
            file.metadata.allocators.push(name);
        }
    }
    let output = args.output.clone().unwrap_or_else(|| default_output(&file));
    let report = prepare_outputs(args, &output, &mut file)?;
    if !args.quiet {
        warn_about_the_build_and_scratch(args, &file);
        announce(&settings, &plan, groups.len(), budget, &output);
    }
    measure(args, &settings, &groups, budget, &mut file, &output)?;
    let latest = write_exports(args, &file, report.as_deref())?;
    if !args.quiet {
        print_results(args, &file, &output, report.as_deref(), latest.as_deref());
    }
    let failed = file.rows.iter().filter(|r| !r.valid).count();
    if failed > 0 {
        return Err(RowsFailed {
            failed,
            rows: file.rows.len(),
            output,
        }
        .into());
    }
    Ok(output)
}

/// Before any measuring: checks that every file the run will write can be written, and
/// creates the scratch directory, recording it and its file system in `file`.
fn prepare_outputs(
    args: &RunArgs,
    output: &Path,
    file: &mut ResultFile,
) -> anyhow::Result<Option<PathBuf>> {
    check_writable(output, "the result file", args.quiet)?;
    fs::create_dir_all(&args.scratch).with_context(|| {
        format!(
            "cannot create the scratch directory {}",
            args.scratch.display()
        )
    })?;
    file.metadata.scratch_dir = Some(args.scratch.display().to_string());
    file.metadata.scratch_fs = metadata::file_system(&args.scratch);
    // The report: exactly --report's path, or by default beside the result file and named
    // after it, with latest.html there made to refer to it (src/reports.rs says why).
    let report = (!args.no_report).then(|| {
        args.report
            .clone()
            .unwrap_or_else(|| reports::beside(output))
    });
    if let Some(report) = &report {
        check_writable(report, "the report", args.quiet)?;
    }
    if let Some(csv) = &args.csv {
        check_writable(csv, "the CSV export", args.quiet)?;
    }
    Ok(report)
}

/// Warns on stderr where the numbers will say little: a debug build, emulation, or a
/// scratch directory in memory (the channel's disk rows would measure RAM).
fn warn_about_the_build_and_scratch(args: &RunArgs, file: &ResultFile) {
    if file.metadata.profile == "debug" {
        eprintln!(
            "warning: this is a debug build; its numbers say little. Use `cargo run --release`."
        );
    }
    if let Some(emulation) = &file.metadata.emulation {
        eprintln!("warning: running under emulation, {emulation}.");
    }
    if let Some(fs_type) = file
        .metadata
        .scratch_fs
        .as_deref()
        .filter(|f| metadata::in_memory(f))
    {
        eprintln!(
            "warning: the scratch directory {} is on {fs_type}, in memory: the channel's disk \
             rows will measure RAM. Give --scratch a directory on a disk.",
            args.scratch.display()
        );
    }
}

/// Says on stderr what the run will do: its rows, rounds, about how long, and where it
/// writes.
fn announce(
    settings: &Settings,
    plan: &reclaim_harness::Plan,
    groups: usize,
    budget: Option<Duration>,
    output: &Path,
) {
    let rounds = match (settings.ci_target, budget) {
        (Some(target), Some(budget)) => format!(
            "at least {} rounds, more until every interval is within ±{target}% (at most \
             {:.0} s per group)",
            settings.repeats,
            budget.as_secs_f64()
        ),
        _ => format!("{} rounds", settings.repeats),
    };
    eprintln!(
        "{} suite: {} rows in {} comparison groups ({} combinations do not apply), {rounds} \
         of {:?} repeats, about {:.0} s; writing {}",
        settings.suite.name(),
        plan.runs.len(),
        groups,
        plan.skipped.len(),
        settings.duration,
        plan.estimate(settings).as_secs_f64(),
        output.display()
    );
}

/// Measures the groups in turn, with progress on stderr (a bar on a terminal, a line
/// per group otherwise), adding their rows to `file` and saving it after each group.
fn measure(
    args: &RunArgs,
    settings: &Settings,
    groups: &[reclaim_harness::rounds::Group],
    budget: Option<Duration>,
    file: &mut ResultFile,
    output: &Path,
) -> anyhow::Result<()> {
    let interactive = !args.quiet && std::io::stderr().is_terminal();
    let rows: usize = groups.iter().map(|g| g.runs.len()).sum();
    let progress = progress_bar(interactive, rows as u64 * u64::from(settings.repeats))?;
    let mut shuffle = reclaim_harness::rounds::Shuffle::new(settings.seed);
    let fresh_process = |planned: &reclaim_harness::Planned| {
        crate::isolate::repeat_in_fresh_process(planned).map_err(Into::into)
    };
    // A row on another allocator than this process's needs a process of its own; then
    // every row gets one, so that all are measured alike.
    let other_allocator = groups
        .iter()
        .flat_map(|g| &g.runs)
        .any(|p| p.allocator != reclaim_alloc::chosen());
    let isolate: Option<reclaim_harness::rounds::Isolate<'_>> =
        (args.isolate || other_allocator).then_some(&fresh_process as _);
    for (i, group) in groups.iter().enumerate() {
        if !interactive && !args.quiet {
            say_group(i, groups.len(), group);
        }
        // A strategy that leaks on purpose (`graph-rc-leak`) leaks for good: its repeats
        // run in processes of their own, whose memory goes back when they end — and the
        // other rows of its group with it, so that all are measured alike.
        let leaks = group
            .runs
            .iter()
            .any(|p| matches!(p.target, reclaim_harness::Target::Graph(info) if info.leaks_cycles));
        let rows = reclaim_harness::rounds::measure_group(
            group,
            settings,
            &mut shuffle,
            budget,
            isolate.or_else(|| leaks.then_some(&fresh_process as _)),
            |planned, round| {
                progress.set_message(format!("round {round}: {planned}"));
                // Rounds beyond the fewest (with a target) lengthen the bar as they come.
                if round > settings.repeats {
                    progress.inc_length(1);
                }
                progress.inc(1);
            },
        );
        for row in rows {
            if !row.valid {
                progress.suspend(|| say_failed(&row));
            }
            file.rows.push(row);
        }
        file.save(output)
            .context("saving the rows measured so far")?;
    }
    progress.finish_and_clear();
    Ok(())
}

/// The progress bar over `repeats` repeats, on a terminal; a hidden one otherwise.
fn progress_bar(interactive: bool, repeats: u64) -> anyhow::Result<ProgressBar> {
    if !interactive {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(repeats);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32}] {pos}/{len} repeats, about {eta} left: {msg}",
        )
        .context("the progress bar's template")?
        .progress_chars("=> "),
    );
    Ok(bar)
}

/// Says on stderr, without a progress bar, which group is measured now.
fn say_group(index: usize, groups: usize, group: &reclaim_harness::rounds::Group) {
    eprintln!(
        "[{}/{}] {} × {} threads: {} rows",
        index + 1,
        groups,
        group.workload,
        group.threads,
        group.runs.len()
    );
}

/// Says on stderr, as it happens, that a row failed and why.
fn say_failed(row: &reclaim_results::Row) {
    eprintln!(
        "{} × {} × {} threads: FAILED: {}",
        row.backend,
        row.workload,
        row.threads,
        row.error.as_deref().unwrap_or("no reason given")
    );
}

/// The summary on stdout, and where every file went.
fn print_results(
    args: &RunArgs,
    file: &ResultFile,
    output: &Path,
    report: Option<&Path>,
    latest: Option<&Path>,
) {
    println!("{}", summarize(file));
    println!("Results: {}", output.display());
    if let Some(csv) = &args.csv {
        println!("CSV:     {}", csv.display());
    }
    match (report, latest) {
        (Some(report), Some(latest)) if latest != report => {
            println!("Report:  {} (also {})", report.display(), latest.display())
        }
        (Some(report), _) => println!("Report:  {}", report.display()),
        (None, _) => {}
    }
}

/// The CSV export and the HTML report, where asked for; returns `latest.html`'s path if it
/// was made to refer to the report.
fn write_exports(
    args: &RunArgs,
    file: &ResultFile,
    report: Option<&Path>,
) -> anyhow::Result<Option<PathBuf>> {
    if let Some(csv) = &args.csv {
        let mut bytes = Vec::new();
        reclaim_results::write_csv(file, &mut bytes).context("formatting the CSV export")?;
        write_atomically(csv, &bytes).context("writing the CSV export")?;
    }
    let mut latest = None;
    if let Some(report) = report {
        let input = Input {
            label: reclaim_report::label_for(file),
            file: file.clone(),
        };
        let html = write_report(&[input], report, args.quiet)?;
        if args.report.is_none() {
            // The report is written and stays: a latest.html that cannot be made is a
            // warning, not a failed run.
            match reports::point_latest(report, html.as_bytes()) {
                Ok(path) => latest = Some(path),
                Err(err) if !args.quiet => eprintln!(
                    "warning: {} does not refer to this run's report {}: {err:#}",
                    report.with_file_name(reports::LATEST).display(),
                    report.display()
                ),
                Err(_) => {}
            }
        }
    }
    Ok(latest)
}

/// The one error that is not a failure to run: the run completed and its result file
/// was written, but some rows are invalid (their self-check failed, or their repeat could
/// not take place). `main` exits 1 for it and 2 for every other error, so that a script
/// can tell "measured, and something is wrong with a backend" from "nothing measured".
#[derive(Debug)]
pub struct RowsFailed {
    /// Invalid rows.
    pub failed: usize,
    /// All rows.
    pub rows: usize,
    /// The result file, which has them all.
    pub output: PathBuf,
}

impl std::fmt::Display for RowsFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} rows failed their check or could not run; they are listed above and in {}",
            self.failed,
            self.rows,
            self.output.display()
        )
    }
}

impl std::error::Error for RowsFailed {}

/// The result files, read and checked, each labelled so that no two read the same.
/// Their errors name the file and what is wrong.
fn load_all(files: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let loaded: Vec<ResultFile> = files
        .iter()
        .map(|path| anyhow::Ok(ResultFile::load(path)?))
        .collect::<Result<_, _>>()?;
    let named: Vec<(&Path, &ResultFile)> =
        files.iter().map(PathBuf::as_path).zip(&loaded).collect();
    let labels = reclaim_report::labels_for(&named);
    Ok(labels
        .into_iter()
        .zip(loaded)
        .map(|(label, file)| Input { label, file })
        .collect())
}

/// Renders and writes the report of `inputs` to `output`; returns the HTML written.
fn write_report(inputs: &[Input], output: &Path, quiet: bool) -> anyhow::Result<String> {
    check_writable(output, "the report", quiet)?;
    let html = reclaim_report::render_html(inputs);
    write_atomically(output, html.as_bytes()).context("writing the HTML report")?;
    Ok(html)
}

/// `report`: one HTML file from result files, at `output` or named after the first file.
pub fn report(files: &[PathBuf], output: Option<&Path>) -> anyhow::Result<()> {
    let inputs = load_all(files)?;
    let output = output.map_or_else(|| reports::for_files(files), Path::to_path_buf);
    write_report(&inputs, &output, false)?;
    println!("Report: {}", output.display());
    Ok(())
}

/// `compare`: the side-by-side table, and optionally the HTML report of the same files.
pub fn compare(files: &[PathBuf], html: Option<&Path>) -> anyhow::Result<()> {
    let inputs = load_all(files)?;
    print!("{}", reclaim_report::compare_text(&inputs));
    if let Some(html) = html {
        write_report(&inputs, html, false)?;
        println!("Report: {}", html.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{Cli, Command};

    fn suite_of(args: &[&str]) -> Suite {
        let cli = Cli::parse_from(["reclaim-bench", "run"].iter().chain(args));
        let Some(Command::Run(args)) = cli.command else {
            panic!("not a run");
        };
        settings(&args, 2).expect("valid settings").suite
    }

    /// With no command, the options parse to what `run` gives them, none included: the
    /// bare `reclaim-bench` is the quick suite over everything, as before.
    #[test]
    fn options_without_a_command_parse_as_runs() {
        let cases: [&[&str]; 4] = [
            &[],
            &["--full"],
            &[
                "-b",
                "treiber-ebr",
                "-w",
                "pairs,mpsc",
                "-t",
                "1",
                "-d",
                "100ms",
                "-r",
                "1",
            ],
            &["--no-report", "--report", "r.html", "--quick", "-q"],
        ];
        for args in cases {
            let top = Cli::parse_from(["reclaim-bench"].iter().chain(args));
            assert!(top.command.is_none(), "{args:?}");
            let Some(Command::Run(run)) =
                Cli::parse_from(["reclaim-bench", "run"].iter().chain(args)).command
            else {
                panic!("not a run");
            };
            assert_eq!(format!("{:?}", top.run), format!("{run:?}"), "{args:?}");
        }
        let bare = Cli::parse_from(["reclaim-bench"]).run;
        let quick = Settings {
            scratch: Some(PathBuf::from("results/scratch")),
            ..Settings::quick()
        };
        assert_eq!(settings(&bare, 2).unwrap(), quick);
        assert_eq!(selection(&bare), Selection::default());
    }

    #[test]
    fn the_suite_keeps_its_name_unless_a_measurement_setting_changes() {
        assert_eq!(suite_of(&[]), Suite::Quick, "no arguments: the quick suite");
        assert_eq!(suite_of(&["--quick"]), Suite::Quick);
        assert_eq!(suite_of(&["--suite", "quick"]), Suite::Quick);
        assert_eq!(suite_of(&["--suite", "full"]), Suite::Full);
        assert_eq!(suite_of(&["--full"]), Suite::Full);
        assert_eq!(
            suite_of(&["--seed", "7", "--scratch", "elsewhere", "--pin"]),
            Suite::Quick
        );
        assert_eq!(
            suite_of(&["--full", "--reference", "treiber-hp"]),
            Suite::Full
        );
        assert_eq!(suite_of(&["-d", "200ms"]), Suite::Custom);
        assert_eq!(suite_of(&["--no-pin"]), Suite::Custom);
        assert_eq!(suite_of(&["-t", "1"]), Suite::Custom);
    }
}
