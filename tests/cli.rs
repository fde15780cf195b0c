//! The binary end to end: a short run writes a valid result file, CSV and a report with
//! a chart for every backend; `report` and `compare` read result files back; bad input is
//! a clear error and a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

use reclaim_emulation::Runner;
use reclaim_results::ResultFile;

/// Runs the binary with `args` in `dir`, after `setup` (environment) and through the
/// runner children of this test start with (`Runner`: RECLAIM_TEST_RUNNER's command line,
/// or under qemu user mode the runner .cargo/config.toml gives cargo); what it printed.
/// Panics, saying which command could not start and why, if the binary cannot be started.
fn bench_with(args: &[&str], dir: &Path, setup: impl FnOnce(&mut Command)) -> Output {
    let runner = Runner::from_env("RECLAIM_TEST_RUNNER");
    let mut command = runner.command(env!("CARGO_BIN_EXE_reclaim-bench"));
    command.args(args).current_dir(dir);
    setup(&mut command);
    runner
        .output(&mut command)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The options of a short run of `backends`: pairs on one thread, `rounds` rounds of 10 ms;
/// then `extra`.
fn short_run<'a>(backends: &'a str, rounds: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "-b", backends, "-w", "pairs", "-t", "1", "-d", "10ms", "-r", rounds,
    ];
    args.extend(extra);
    args
}

/// One backend, one workload, one thread, one 10 ms round: the least a run can be; then
/// `extra`.
fn one_short_round<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    short_run("treiber-ebr", "1", extra)
}

/// Runs `one_short_round(extra)` in `dir`, which must exit 0; what it printed.
fn one_short_round_succeeds(extra: &[&str], dir: &Path) -> Output {
    let args = one_short_round(extra);
    let out = bench(&args, dir);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    out
}

/// `args` after the `run` command.
fn run_command(args: Vec<&str>) -> Vec<&str> {
    std::iter::once("run").chain(args).collect()
}

fn bench(args: &[&str], dir: &Path) -> Output {
    bench_with(args, dir, |_| {})
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The path printed on stdout after `label` (`Results:`, `Report:`), if a line has it.
fn printed(out: &Output, label: &str) -> Option<String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix(label))?;
    line.split_whitespace().next().map(str::to_owned)
}

/// The names of the HTML files in `dir`, sorted.
fn htmls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".html"))
        .collect();
    names.sort();
    names
}

/// What `path` (a report, or latest.html) holds.
fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_short_run_over_every_backend_writes_results_csv_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = bench(
        &[
            "run",
            "--workload",
            "pairs,handoff",
            "--threads",
            "1",
            "--duration",
            "10ms",
            "--repeats",
            "1",
            "--handoff-callbacks",
            "20",
            "--output",
            "run.json",
            "--csv",
            "run.csv",
            "--report",
            "report.html",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let file = ResultFile::load(&dir.path().join("run.json")).unwrap();
    let entries = reclaim_registry::entries();
    assert_eq!(
        file.rows.len(),
        entries.len() + 7,
        "every backend plus 7 handoff strategies"
    );
    assert!(
        file.rows.iter().all(|r| r.valid),
        "{:?}",
        file.rows.iter().find(|r| !r.valid)
    );
    // This binary installs the counting allocator: memory is measured, not null.
    assert!(file.rows.iter().all(|r| r.memory.is_some()));
    assert_eq!(file.metadata.target, env!("RECLAIM_TARGET"));
    // Under qemu (scripts/test-cross.sh) the file says so, and no perf counter carries a
    // number: qemu never hands the events to the kernel, so any value would be made up.
    if let Some(emulation) = &file.metadata.emulation {
        assert!(emulation.contains("qemu"), "{emulation}");
        for row in &file.rows {
            for (name, value) in &row.counters {
                if name == "context-switches" {
                    continue; // getrusage, which the host kernel answers for the thread
                }
                assert_eq!(*value, None, "{} {name} under emulation", row.backend);
                let why = row.counter_errors.get(name).map_or("", String::as_str);
                assert!(why.contains("emulation"), "{} {name}: {why}", row.backend);
            }
        }
    }

    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for entry in &entries {
        assert!(
            html.contains(&format!(
                "<svg class=\"chart\" data-backend=\"{}\"",
                entry.name
            )),
            "no chart for {}",
            entry.name
        );
    }
    assert!(html.contains("<svg class=\"chart\" data-backend=\"handoff-sweep\""));

    let csv = std::fs::read_to_string(dir.path().join("run.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        file.rows.len() + 1,
        "a header and a line per row"
    );

    // The summary table names every backend.
    let stdout = String::from_utf8_lossy(&out.stdout);
    for entry in &entries {
        assert!(
            stdout.contains(entry.name),
            "{} missing from the summary",
            entry.name
        );
    }
}

#[test]
fn report_and_compare_read_result_files_back() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.json", "b.json"] {
        let args = run_command(short_run(
            "treiber-ebr,segqueue",
            "1",
            &["--no-report", "-q", "-o", name],
        ));
        let out = bench(&args, dir.path());
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = bench(
        &["compare", "a.json", "b.json", "--html", "cmp.html"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("treiber-ebr") && text.contains("segqueue"),
        "{text}"
    );
    assert!(text.contains('×'), "ratios are shown: {text}");
    let html = std::fs::read_to_string(dir.path().join("cmp.html")).unwrap();
    assert!(html.contains("data-backend=\"segqueue\""));

    let out = bench(&["report", "a.json", "-o", "r.html"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("r.html").exists());

    // Without -o, the report is named after the (first) result file, beside it, and the
    // newest run's latest.html is not `report`'s to touch.
    let out = bench(&["report", "b.json"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(printed(&out, "Report:").as_deref(), Some("b.html"));
    let out = bench(&["report", "a.json", "b.json"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        printed(&out, "Report:").as_deref(),
        Some("a-and-1-more.html")
    );
    let html = std::fs::read_to_string(dir.path().join("a-and-1-more.html")).unwrap();
    assert!(html.contains("data-backend=\"segqueue\""));
    assert!(dir.path().join("b.html").exists());
    assert!(!dir.path().join("latest.html").exists());
}

/// `--isolate`: each repeat in a fresh process of the binary, its result carried back
/// and paired by round like the others. (Under qemu the binary starts itself through
/// its target's qemu runner, as the test started it.)
#[test]
fn isolated_repeats_run_in_fresh_processes_and_pair_by_round() {
    let dir = tempfile::tempdir().unwrap();
    let args = run_command(short_run(
        "treiber-ebr,treiber-hp",
        "2",
        &["--isolate", "--no-report", "-q", "-o", "iso.json"],
    ));
    let out = bench(&args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let file = ResultFile::load(&dir.path().join("iso.json")).unwrap();
    assert_eq!(file.rows.len(), 2);
    for row in &file.rows {
        assert!(row.valid, "{row:?}");
        assert_eq!(row.repeat_ops_per_sec.len(), 2, "a repeat per round");
        assert!(row.latency_ns.is_some_and(|l| l.samples > 0), "{row:?}");
        assert_eq!(row.ratio.as_ref().unwrap().reference, "treiber-ebr");
    }
    let bad = bench(&["run", "--only-repeat", "treiber-ebr:pairs"], dir.path());
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("BACKEND:WORKLOAD:THREADS"),
        "{}",
        stderr(&bad)
    );
}

/// `--allocator`: every row on each allocator, in fresh processes that really run on it
/// (the child refuses to run on another, see `main`), paired by round, each ratio to a
/// reference on the row's own allocator; the report compares the allocators. An unknown
/// `RECLAIM_ALLOCATOR` is refused before anything runs.
#[test]
fn rows_run_on_each_allocator_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let args = run_command(short_run(
        "treiber-ebr,treiber-hp",
        "2",
        &[
            "--allocator",
            "system,mimalloc,jemalloc",
            "-q",
            "-o",
            "a.json",
        ],
    ));
    let out = bench(&args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let file = ResultFile::load(&dir.path().join("a.json")).unwrap();
    assert_eq!(file.metadata.allocators, ["system", "mimalloc", "jemalloc"]);
    let mut seen: Vec<(&str, &str)> = file
        .rows
        .iter()
        .map(|r| (r.backend.as_str(), r.allocator.as_str()))
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            ("treiber-ebr", "jemalloc"),
            ("treiber-ebr", "mimalloc"),
            ("treiber-ebr", "system"),
            ("treiber-hp", "jemalloc"),
            ("treiber-hp", "mimalloc"),
            ("treiber-hp", "system"),
        ]
    );
    for row in &file.rows {
        assert!(row.valid, "{row:?}");
        assert_eq!(row.repeat_ops_per_sec.len(), 2, "a repeat per round");
        assert_eq!(row.ratio.as_ref().unwrap().reference, "treiber-ebr");
    }
    let report = read(dir.path(), "a.html");
    assert!(
        report.contains(" · jemalloc"),
        "the report compares allocators"
    );

    let refused = bench_with(&["list"], dir.path(), |c| {
        c.env("RECLAIM_ALLOCATOR", "tcmalloc");
    });
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("RECLAIM_ALLOCATOR: unknown allocator `tcmalloc`"),
        "{}",
        stderr(&refused)
    );
}

/// `--scheme-setting`: the backends whose scheme has the knob run once per value, in
/// fresh processes too (`--isolate`), each row saying its value; the others run once at
/// their defaults; the report plots the rows against the knob.
#[test]
fn a_knob_sweep_runs_each_value_beside_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let args = run_command(short_run(
        "treiber-ebr,treiber-seize",
        "2",
        &[
            "--scheme-setting",
            "batch-size=4,64",
            "--isolate",
            "-q",
            "-o",
            "k.json",
        ],
    ));
    let out = bench(&args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let file = ResultFile::load(&dir.path().join("k.json")).unwrap();
    let rows: Vec<(String, Option<u64>)> = file
        .rows
        .iter()
        .map(|r| (r.backend.clone(), r.tuning.as_ref().map(|t| t.value)))
        .collect();
    assert_eq!(
        rows,
        [
            ("treiber-ebr".to_owned(), None),
            ("treiber-seize".to_owned(), Some(4)),
            ("treiber-seize".to_owned(), Some(64)),
        ]
    );
    for row in &file.rows {
        assert!(row.valid, "{row:?}");
        if let Some(tuning) = &row.tuning {
            assert_eq!(tuning.key, "batch-size");
            let said = format!("set for this row: batch-size={}", tuning.value);
            assert!(row.scheme_settings.ends_with(&said), "{row:?}");
        }
    }
    let report = read(dir.path(), "k.html");
    assert!(report.contains("data-chart=\"tuning\""), "no knob charts");
}

#[test]
fn list_names_expands_globs_in_registry_order() {
    let out = bench(&["list", "--names", "*-hp,treiber-e*"], Path::new("."));
    assert!(out.status.success(), "{}", stderr(&out));
    let names = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        [
            "treiber-ebr",
            "treiber-hp",
            "msqueue-hp",
            "hmlist-hp",
            "hashmap-hp",
            "skiplist-hp"
        ],
        "containers, then sets"
    );
    let families = |family: &str| {
        let out = bench(
            &["list", "--names", "*-hp", "--family", family],
            Path::new("."),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(families("containers"), ["treiber-hp", "msqueue-hp"]);
    assert_eq!(families("sets"), ["hmlist-hp", "hashmap-hp", "skiplist-hp"]);
    let circ = bench(&["list", "--names", "*-circ"], Path::new("."));
    if reclaim_registry::CIRC {
        assert!(circ.status.success(), "{}", stderr(&circ));
        assert_eq!(
            String::from_utf8_lossy(&circ.stdout)
                .lines()
                .collect::<Vec<_>>(),
            [
                "treiber-circ",
                "msqueue-circ",
                "hmlist-circ",
                "hashmap-circ"
            ],
            "the circ family: both containers, both sets"
        );
    } else {
        // Not registered on 32-bit targets: named, it is refused with the reason.
        assert!(!circ.status.success());
        let named = bench(&["run", "-b", "treiber-circ"], Path::new("."));
        assert!(
            stderr(&named).contains("circ 0.2 crashes"),
            "{}",
            stderr(&named)
        );
    }
    let all = bench(&["list", "--names"], Path::new("."));
    let count = String::from_utf8_lossy(&all.stdout).lines().count();
    assert_eq!(
        count,
        reclaim_registry::entries().len()
            + reclaim_registry::set_entries().len()
            + 7
            + reclaim_harness::graph_strategies().len(),
        "backends, sets, handoff and graph strategies"
    );
}

/// `list --counters` is what scripts/perf.sh hands to `perf stat -e`: the counter names,
/// one a line, in the order of the CSV columns.
#[test]
fn list_counters_prints_the_counter_names_one_a_line() {
    let out = bench(&["list", "--counters"], Path::new("."));
    assert!(out.status.success(), "{}", stderr(&out));
    let names = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        reclaim_results::Counter::ALL.map(|c| c.perf_event())
    );
    let both = bench(&["list", "--counters", "--names"], Path::new("."));
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
}

/// A file that cannot be written is refused before anything is measured, with what the
/// file was for, its path, the directory that failed and the operating system's reason,
/// on one line; the exit code is 2, the command could not do its job.
#[test]
fn an_unwritable_output_names_the_file_and_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: refused even to root.
    std::fs::write(dir.path().join("plain"), "").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["-o", "plain/run.json", "--no-report"],
            "the result file plain/run.json cannot be written",
        ),
        (
            &["-o", "run.json", "--report", "plain/report.html"],
            "the report plain/report.html cannot be written",
        ),
        (
            &["-o", "run.json", "--no-report", "--csv", "plain/run.csv"],
            "the CSV export plain/run.csv cannot be written",
        ),
    ];
    for (output, message) in cases {
        let args = run_command(one_short_round(&[&["-q"], output].concat()));
        let out = bench(&args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let line = format!("reclaim-bench: {message}: cannot create the directory plain: ");
        assert!(err.starts_with(&line), "{args:?}: {err}");
        assert!(
            err.contains("(os error "),
            "{args:?}: the cause is missing: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(
        !dir.path().join("run.json").exists(),
        "nothing was measured"
    );
    // `report` checks its output the same way, after reading its inputs.
    let args = run_command(one_short_round(&["-q", "--no-report", "-o", "run.json"]));
    let out = bench(&args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let out = bench(&["report", "run.json", "-o", "plain/r.html"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "reclaim-bench: the report plain/r.html cannot be written: cannot create the \
             directory plain: "
        ),
        "{err}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 18] = [
        (
            &["run", "-b", "treiber-epoch"],
            "valid backends: treiber-leak",
        ),
        (
            &["run", "-w", "spsc"],
            "[possible values: pairs, prodcons, mpsc, stalled, oversubscription, handoff, \
             read-only, read-mostly, balanced, write-heavy, long-reader, graph, graph-forced, all]",
        ),
        (
            &["run", "-b", "hopper", "-w", "prodcons", "-t", "4"],
            "allows one consumer",
        ),
        (&["run", "-d", "soon"], "try `100ms` or `2s`"),
        (
            &[
                "run",
                "-b",
                "treiber-seize",
                "--scheme-setting",
                "batch-size=0",
            ],
            "batch-size=0 is out of range: 1 to 65536",
        ),
        (
            &[
                "run",
                "-b",
                "treiber-ebr",
                "--scheme-setting",
                "batch-size=8",
            ],
            "no selected backend's scheme has a knob `batch-size`",
        ),
        (
            &["run", "-b", "treiber-ebr", "--reference", "qsbr"],
            "the reference `qsbr` is not among the selected backends or their schemes",
        ),
        (
            &["run", "--allocator", "system,tcmalloc"],
            "unknown allocator `tcmalloc` (the allocators: system, mimalloc, jemalloc)",
        ),
        (&["run", "-r", "0"], "repeats must be 1"),
        (&["run", "--keys", "1"], "the key range must be 2 to"),
        (
            &["run", "-w", "graph", "--nodes", "5"],
            "the graph must have 64 to 100000000 nodes, not 5",
        ),
        (
            &["run", "-w", "graph-forced", "--collect-every", "0"],
            "--collect-every must be at least 1 operation",
        ),
        (
            &["run", "-b", "graph-gc", "-t", "2"],
            "its graph is thread-local: it runs at 1 thread",
        ),
        (
            &["run", "--zipf", "11"],
            "the Zipf exponent must be above 0",
        ),
        (
            &["run", "--mix", "50/50/1"],
            "adding up to 100, like 90/5/5",
        ),
        (
            &["run", "-b", "harris-hp"],
            "`harris-hp` is not registered: ",
        ),
        (&["report", "missing.json"], "missing.json"),
        (
            &["list", "--names", "treiber-*,qsbr"],
            "valid backends: treiber-leak",
        ),
    ];
    for (args, message) in cases {
        let out = bench(args, dir.path());
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    std::fs::write(dir.path().join("notes.json"), "{\"schema_version\": 99}").unwrap();
    let out = bench(&["report", "notes.json"], dir.path());
    assert!(
        stderr(&out).contains("schema version 99"),
        "{}",
        stderr(&out)
    );
    // Nothing was measured, so nothing was written.
    assert!(
        !dir.path().join("results").exists()
            || std::fs::read_dir(dir.path().join("results"))
                .unwrap()
                .count()
                == 0
    );
}

/// With no command, the options are `run`'s: `reclaim-bench -b … -w …` is `reclaim-bench
/// run -b … -w …` (here with `--isolate`, whose fresh processes get the same options), and
/// `run`'s options beside another command are a usage error.
#[test]
fn run_options_without_a_command_mean_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = short_run(
        "treiber-ebr,treiber-hp",
        "2",
        &["--isolate", "--no-report", "-q", "-o", "top.json"],
    );
    let out = bench(&args, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = ResultFile::load(&dir.path().join("top.json")).unwrap();
    let rows: Vec<(&str, &str, usize)> = file
        .rows
        .iter()
        .map(|r| (r.backend.as_str(), r.workload.as_str(), r.threads))
        .collect();
    assert_eq!(
        rows,
        [("treiber-ebr", "pairs", 1), ("treiber-hp", "pairs", 1)]
    );
    assert!(
        file.rows
            .iter()
            .all(|r| r.valid && r.repeat_ops_per_sec.len() == 2)
    );
    assert_eq!(file.settings.duration_ms, 10);

    let out = bench(&["-b", "treiber-ebr", "list"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}

/// `run --help` (and the top level's, which takes `run`'s options) groups the options
/// under headings, in order, each option under its own.
#[test]
fn help_groups_run_options_under_headings() {
    for args in [&["run", "--help"][..], &["--help"]] {
        let out = bench(args, Path::new("."));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let help = String::from_utf8_lossy(&out.stdout);
        let at = |text: &str| {
            help.find(text)
                .unwrap_or_else(|| panic!("{args:?}: no `{text}` in {help}"))
        };
        let headings = ["What to run:", "How long:", "Measurement:", "Output:"];
        let starts: Vec<usize> = headings.iter().map(|h| at(h)).collect();
        assert!(
            starts.is_sorted(),
            "{args:?}: headings out of order: {help}"
        );
        for (option, heading) in [
            ("--workload", 0),
            ("--duration", 1),
            ("--seed", 2),
            ("--no-report", 3),
        ] {
            let position = at(option);
            let next = starts.get(heading + 1).copied().unwrap_or(usize::MAX);
            assert!(
                starts[heading] < position && position < next,
                "{args:?}: {option} is not under {}",
                headings[heading]
            );
        }
    }
}

/// Suites and workloads are checked by clap, which lists the valid names in `--help` and
/// in its error (exit 2); `--quick` is the quick suite (clap used to suggest `--quiet`
/// for it), and contradicts `--full`.
#[test]
fn suite_and_workload_names_are_clap_values() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["run", "--quick", "--help"][..], &["--quick", "--help"]] {
        let out = bench(args, dir.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("- quick: "), "{args:?}: {help}");
        assert!(help.contains("- oversubscription: "), "{args:?}: {help}");
    }
    let cases: [(&[&str], &str); 4] = [
        (
            &["run", "-w", "pairs,spsc"],
            "invalid value 'spsc' for '--workload <WORKLOADS>'\n  [possible values: pairs, \
             prodcons, mpsc, stalled, oversubscription, handoff, read-only, read-mostly, \
             balanced, write-heavy, long-reader, graph, graph-forced, all]",
        ),
        (
            &["--suite", "fast"],
            "invalid value 'fast' for '--suite <SUITE>'\n  [possible values: quick, full]",
        ),
        (
            &["--suite", "custom"],
            "invalid value 'custom' for '--suite <SUITE>'",
        ),
        (
            &["run", "--quick", "--full"],
            "the argument '--quick' cannot be used with '--full'",
        ),
    ];
    for (args, message) in cases {
        let out = bench(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    assert!(!dir.path().join("results").exists(), "nothing ran");
}

/// `--report` and `--no-report`: the later one wins, whichever it is.
#[test]
fn the_later_of_report_and_no_report_wins() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str, bool); 2] = [
        (
            &["--report", "off.html", "--no-report", "-o", "off.json"],
            "off.html",
            false,
        ),
        (
            &["--no-report", "--report", "on.html", "-o", "on.json"],
            "on.html",
            true,
        ),
    ];
    for (order, report, written) in cases {
        one_short_round_succeeds(&[&["-q"], order].concat(), dir.path());
        assert_eq!(dir.path().join(report).exists(), written, "{order:?}");
    }
}

/// The exit status, as `--help` documents it: 1 when the run completed and wrote its
/// result file but rows failed (here every repeat's process, started through a runner
/// that fails, could not run), 2 for a usage error or a command that could not do its
/// job.
#[test]
fn the_exit_status_tells_failed_rows_from_a_command_that_could_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = one_short_round(&["--isolate", "--no-report", "-q", "-o", "failed.json"]);
    let out = bench_with(&args, dir.path(), |command| {
        command.env("RECLAIM_EXEC_RUNNER", "false");
    });
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 of 1 rows failed their check or could not run"),
        "{}",
        stderr(&out)
    );
    let file = ResultFile::load(&dir.path().join("failed.json")).unwrap();
    assert_eq!(file.rows.len(), 1);
    assert!(!file.rows[0].valid);

    std::fs::write(dir.path().join("plain"), "").unwrap();
    // The reason every backend shares, given once.
    let nothing = format!(
        "nothing to run: {} backends × mpsc at 1 thread: needs at least 2 threads",
        reclaim_registry::entries().len()
    );
    let cases: [(&[&str], &str); 7] = [
        (
            &["--no-such-option"],
            "unexpected argument '--no-such-option'",
        ),
        (&["-w", "spsc"], "invalid value 'spsc'"),
        (&["-b", "treiber-epoch"], "valid backends: treiber-leak"),
        (&["-r", "0"], "repeats must be 1"),
        (&["-w", "mpsc", "-t", "1"], &nothing),
        (
            &["-b", "treiber-ebr", "-o", "plain/run.json"],
            "the result file plain/run.json cannot be written",
        ),
        (&["report", "missing.json"], "missing.json"),
    ];
    for (args, message) in cases {
        let out = bench(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }

    for args in [&["--help"][..], &["run", "--help"]] {
        let out = bench(args, dir.path());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Exit status:\n  0  success\n  1  "), "{help}");
        assert!(help.contains("\n  2  a usage error"), "{help}");
    }
}

/// A directory made for an output file is said once on stderr, and not with `-q`.
#[test]
fn a_directory_made_for_an_output_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let made = [
        "-o",
        "new/dir/run.json",
        "--report",
        "new/dir/report.html",
        "--csv",
        "other/run.csv",
    ];
    let out = one_short_round_succeeds(&made, dir.path());
    let err = stderr(&out);
    let notes: Vec<&str> = err.lines().filter(|l| l.starts_with("note: ")).collect();
    assert_eq!(
        notes,
        [
            "note: created the directory new/dir for the result file new/dir/run.json",
            "note: created the directory other for the CSV export other/run.csv",
        ],
        "{err}"
    );
    assert!(dir.path().join("new/dir/report.html").exists());

    let out = one_short_round_succeeds(&["-q", "-o", "quiet/run.json", "--no-report"], dir.path());
    assert!(dir.path().join("quiet/run.json").exists());
    assert_eq!(stderr(&out), "", "-q");
}

/// Two runs into one results directory keep two reports, each named after its result
/// file, and `results/latest.html` refers to the second; `--no-report` writes none and
/// leaves latest.html as it was.
#[test]
fn each_run_keeps_its_report_named_after_its_result_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let out = one_short_round_succeeds(extra, dir.path());
        let results = printed(&out, "Results:").expect("the result file is printed");
        (results, printed(&out, "Report:"), out)
    };
    let (first_json, first_html, _) = run(&[]);
    let (second_json, second_html, out) = run(&[]);
    assert_ne!(
        first_json, second_json,
        "the second run has a result file of its own"
    );
    for (json, html) in [(&first_json, &first_html), (&second_json, &second_html)] {
        let stem = json.strip_suffix(".json").expect("a .json result file");
        assert!(stem.starts_with("results/"), "{json}");
        assert_eq!(html.as_deref(), Some(format!("{stem}.html").as_str()));
    }
    let (first_html, second_html) = (first_html.unwrap(), second_html.unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "Report:  {second_html} (also results/latest.html)"
        )),
        "{stdout}"
    );
    let mut expected = vec![
        first_html["results/".len()..].to_owned(),
        second_html["results/".len()..].to_owned(),
        "latest.html".to_owned(),
    ];
    expected.sort();
    assert_eq!(htmls(&dir.path().join("results")), expected);
    assert!(dir.path().join(&first_json).exists());

    // latest.html is the second report: a link to it by name where links can be made.
    let latest = dir.path().join("results/latest.html");
    let refers_to_second = || {
        if std::fs::symlink_metadata(&latest).unwrap().is_symlink() {
            assert_eq!(
                std::fs::read_link(&latest).unwrap().to_string_lossy(),
                second_html["results/".len()..]
            );
        }
        assert_eq!(
            read(dir.path(), "results/latest.html"),
            read(dir.path(), &second_html)
        );
    };
    refers_to_second();

    let (third_json, third_html, _) = run(&["--no-report"]);
    assert_eq!(third_html, None, "no report printed");
    let stem = third_json.strip_suffix(".json").unwrap();
    assert!(!dir.path().join(format!("{stem}.html")).exists());
    refers_to_second();
}

/// `--report X` writes exactly X: no report beside the result file, no latest.html. A
/// result file given with `-o` has its report beside it; where latest.html cannot be made
/// the run warns and keeps its report.
#[test]
fn an_explicit_report_path_is_written_exactly_and_latest_is_only_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| one_short_round_succeeds(extra, dir.path());
    let out = run(&["--report", "mine/x.html"]);
    assert_eq!(printed(&out, "Report:").as_deref(), Some("mine/x.html"));
    assert!(read(dir.path(), "mine/x.html").contains("data-backend=\"treiber-ebr\""));
    let json = printed(&out, "Results:").unwrap();
    assert!(dir.path().join(&json).exists());
    let beside = htmls(&dir.path().join("results"));
    assert!(beside.is_empty(), "no report beside {json}: {beside:?}");
    let mine = htmls(&dir.path().join("mine"));
    assert_eq!(mine, ["x.html"], "x.html alone, no latest.html beside it");

    let out = run(&["-o", "runs/a.json"]);
    assert_eq!(printed(&out, "Report:").as_deref(), Some("runs/a.html"));
    assert_eq!(
        read(dir.path(), "runs/latest.html"),
        read(dir.path(), "runs/a.html")
    );

    // A directory with something in it where latest.html goes: it cannot be replaced.
    std::fs::remove_file(dir.path().join("runs/latest.html")).unwrap();
    std::fs::create_dir_all(dir.path().join("runs/latest.html/inside")).unwrap();
    let out = run(&["-o", "runs/b.json"]);
    let err = stderr(&out);
    assert!(
        err.contains(
            "warning: runs/latest.html does not refer to this run's report runs/b.html: \
             cannot link it to b.html ("
        ),
        "{err}"
    );
    assert_eq!(printed(&out, "Report:").as_deref(), Some("runs/b.html"));
    assert!(read(dir.path(), "runs/b.html").contains("data-backend=\"treiber-ebr\""));
}
