//! `run --isolate`: every repeat in a fresh process of this binary, so that no row
//! inherits the allocator's and the kernel's state from the rows before it; and the
//! `--only-repeat` side that such a process runs. `run --allocator` runs its repeats so
//! too: the fresh process gets the row's allocator through `RECLAIM_ALLOCATOR`.

use std::fs;

use anyhow::{Context, anyhow, bail};
use reclaim_emulation::Runner;
use reclaim_harness::metadata;
use reclaim_harness::{Selection, TuningSweep};

use crate::RunArgs;
use crate::run::settings;

/// `run --isolate`: one repeat of `planned` in a fresh process of this binary, with the
/// same `run` options and `--only-repeat`; what it printed. An emulated binary cannot
/// start another by itself: under qemu user mode the process starts through the runner
/// `.cargo/config.toml` gives its target (`qemu-aarch64 -L …`), or through
/// `RECLAIM_EXEC_RUNNER`'s command line when that is set (see `reclaim_emulation`).
pub fn repeat_in_fresh_process(planned: &reclaim_harness::Planned) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot find this binary")?;
    let args: Vec<String> = std::env::args().collect();
    // The `run` options this process got: after `run`, or with no command (options at
    // the top level are `run`'s; clap refuses them beside any other command).
    let first = if args.get(1).is_some_and(|a| a == "run") {
        2
    } else {
        1
    };
    let options: Vec<&String> = args
        .iter()
        .skip(first)
        .filter(|a| !matches!(a.as_str(), "--isolate" | "-q" | "--quiet"))
        .collect();
    let runner = Runner::from_env("RECLAIM_EXEC_RUNNER");
    let mut command = runner.command(&exe);
    let mut spec = format!(
        "{}:{}:{}",
        planned.target.name(),
        planned.workload,
        planned.threads
    );
    if let Some(tuning) = planned.tuning {
        spec.push_str(&format!(":{tuning}"));
    }
    command
        .arg("run")
        .args(options)
        .args(["--quiet", "--only-repeat", &spec])
        .env(reclaim_alloc::ALLOCATOR_ENV, planned.allocator.name());
    let output = runner.output(&mut command)?;
    if !output.status.success() {
        bail!(
            "{} {spec} ended with {}: {}",
            exe.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).context("it printed something that is not UTF-8")
}

/// `run --only-repeat BACKEND:WORKLOAD:THREADS[:KEY=VALUE]`: one repeat, printed as JSON
/// (with the scheme's knob set, for `--scheme-setting`).
pub fn repeat_once(args: &RunArgs) -> anyhow::Result<()> {
    let spec = args.only_repeat.as_deref().unwrap_or_default();
    let (backend, workload, threads, tuning) = match spec.split(':').collect::<Vec<_>>()[..] {
        [backend, workload, threads] => (backend, workload, threads, None),
        [backend, workload, threads, tuning] => (backend, workload, threads, Some(tuning)),
        _ => bail!("--only-repeat `{spec}`: expected BACKEND:WORKLOAD:THREADS[:KEY=VALUE]"),
    };
    let tuning: Option<TuningSweep> = tuning
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow!("--only-repeat `{spec}`: {e}"))?;
    let threads: usize = threads
        .parse()
        .with_context(|| format!("--only-repeat `{spec}`: {threads} is not a thread count"))?;
    let cores = metadata::cores();
    let mut settings = settings(args, cores)?;
    settings.repeats = 1;
    // On this process's allocator (`RECLAIM_ALLOCATOR`, which `main` checked), whatever
    // `--allocator` the parent was given.
    let selection = Selection {
        backends: vec![backend.to_string()],
        workloads: vec![workload.to_string()],
        threads: Some(vec![threads]),
        tuning: tuning.clone(),
        ..Selection::default()
    };
    let plan = reclaim_harness::plan(&selection, &reclaim_registry::entries(), &settings, cores)?;
    let planned = plan
        .runs
        .iter()
        .find(|p| {
            p.target.name() == backend
                && p.threads == threads
                && p.tuning.map(|t| t.value) == tuning.as_ref().map(|t| t.values[0])
        })
        .ok_or_else(|| anyhow!("--only-repeat `{spec}`: no such row"))?;
    if let Some(scratch) = &settings.scratch {
        fs::create_dir_all(scratch).with_context(|| {
            format!("cannot create the scratch directory {}", scratch.display())
        })?;
    }
    println!("{}", reclaim_harness::repeat_json(planned, &settings));
    Ok(())
}
