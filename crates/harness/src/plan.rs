//! Which runs a `run` command means: backends × workloads × thread counts, with every
//! impossible or unknown choice turned into an error that lists what is valid.

use std::fmt;
use std::time::Duration;

use reclaim_alloc::Allocator;
use reclaim_core::{Entry, Knob, SetEntry};
use reclaim_graphs::GraphInfo;
use reclaim_handoff::Strategy;

use crate::settings::{MAX_THREADS, Settings};
use crate::workload::sets::{default_keys, named_mix};
use crate::workload::{Mix, Shape, ShapeError, UnknownWorkload, Workload, Zipf};

/// What the user asked for. Empty lists mean "all".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Backend names or globs (`treiber-*`, `*-hp`).
    pub backends: Vec<String>,
    /// Structures (`treiber`, `msqueue`, `mutex-vec`, …, `handoff`).
    pub structures: Vec<String>,
    /// Schemes (`leak`, `ebr`, `hp`, `seize`, `rc`, `sweep`, `lock`, `internal`, or a handoff
    /// strategy).
    pub schemes: Vec<String>,
    /// Workload names.
    pub workloads: Vec<String>,
    /// Thread counts; `None` takes the suite's.
    pub threads: Option<Vec<usize>>,
    /// The allocators every row runs on; `None`: only the one this process runs on
    /// ([`reclaim_alloc::chosen`]).
    pub allocators: Option<Vec<Allocator>>,
    /// A scheme knob and the values to run it at (`--scheme-setting KEY=V1,V2,…`): each
    /// backend whose scheme has the knob runs once per value; the others run once, at
    /// their defaults, as references.
    pub tuning: Option<TuningSweep>,
}

/// A knob and the values a run sweeps it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuningSweep {
    /// The knob's key (`batch-size`).
    pub key: String,
    /// Its values, in the order given.
    pub values: Vec<u64>,
}

impl std::str::FromStr for TuningSweep {
    type Err = String;

    /// `KEY=V1,V2,…`, values as whole numbers.
    fn from_str(text: &str) -> Result<TuningSweep, String> {
        let (key, values) = text
            .split_once('=')
            .filter(|(key, values)| !key.is_empty() && !values.is_empty())
            .ok_or_else(|| format!("`{text}`: expected KEY=V1,V2,… (like batch-size=8,64)"))?;
        let values = values
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("`{text}`: `{v}` is not a whole number"))
            })
            .collect::<Result<Vec<u64>, String>>()?;
        Ok(TuningSweep {
            key: key.trim().to_owned(),
            values,
        })
    }
}

/// One knob at one value, for one planned run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedTuning {
    /// The knob's key, as its scheme declares it.
    pub key: &'static str,
    /// The value.
    pub value: u64,
}

impl fmt::Display for PlannedTuning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// What a planned run drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A registered backend.
    Backend(Entry),
    /// A registered set.
    Set(SetEntry),
    /// A strategy of the handoff scenario.
    Handoff(Strategy),
    /// A strategy of the graph family.
    Graph(GraphInfo),
}

impl Target {
    /// The name rows carry in `backend`.
    pub fn name(&self) -> String {
        match self {
            Target::Backend(entry) => entry.name.to_string(),
            Target::Set(entry) => entry.name.to_string(),
            Target::Handoff(strategy) => format!("handoff-{strategy}"),
            Target::Graph(info) => format!("graph-{}", info.name),
        }
    }

    /// The structure rows carry.
    pub fn structure(&self) -> &'static str {
        match self {
            Target::Backend(entry) => entry.info.structure,
            Target::Set(entry) => entry.info.structure,
            Target::Handoff(_) => "handoff",
            Target::Graph(_) => "graph",
        }
    }

    /// The knobs of its scheme (none for baselines, handoff and graph strategies).
    pub fn knobs(&self) -> &'static [Knob] {
        match self {
            Target::Backend(entry) => entry.info.knobs,
            Target::Set(entry) => entry.info.knobs,
            Target::Handoff(_) | Target::Graph(_) => &[],
        }
    }

    /// The scheme rows carry (the strategy for handoff and graphs).
    pub fn scheme(&self) -> String {
        match self {
            Target::Backend(entry) => entry.info.scheme.to_string(),
            Target::Set(entry) => entry.info.scheme.to_string(),
            Target::Handoff(strategy) => strategy.to_string(),
            Target::Graph(info) => info.name.to_string(),
        }
    }
}

/// One run to do: a target, a workload and a thread count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    /// What it drives.
    pub target: Target,
    /// The workload.
    pub workload: Workload,
    /// Threads, all roles included.
    pub threads: usize,
    /// The roles, for backend workloads.
    pub shape: Option<Shape>,
    /// For sets: the key range and the mix.
    pub set: Option<SetRun>,
    /// The allocator underneath. A row on another allocator than this process's runs in
    /// a fresh process of its own (see [`reclaim_alloc::Chosen`]).
    pub allocator: Allocator,
    /// The scheme's knob this run sets, if any (`--scheme-setting`).
    pub tuning: Option<PlannedTuning>,
}

/// What the threads of a set run operate on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetRun {
    /// Keys are drawn from `0..keys`; the set is prefilled to half of them.
    pub keys: u64,
    /// Percentages of `contains`, `insert` and `remove`.
    pub mix: Mix,
    /// Keys drawn with this Zipf exponent instead of uniformly.
    pub zipf: Option<Zipf>,
}

/// A combination the selection covered but that cannot run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The backend.
    pub backend: String,
    /// The workload.
    pub workload: Workload,
    /// The thread count.
    pub threads: usize,
    /// Why not.
    pub reason: ShapeError,
}

/// The runs of one command, and what was left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Runs in order: workload by workload, thread counts ascending, backends in
    /// registry order.
    pub runs: Vec<Planned>,
    /// Combinations that do not apply.
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// About how long the plan takes: every repeat's duration plus a fixed allowance per
    /// repeat for setup and teardown (building and freeing containers, starting threads).
    pub fn estimate(&self, settings: &Settings) -> Duration {
        let per_repeat = |planned: &Planned| match planned.target {
            Target::Backend(_) | Target::Set(_) => settings.duration + Duration::from_millis(15),
            // Building, verifying and freeing a graph of 100,000 nodes.
            Target::Graph(_) => settings.duration + Duration::from_millis(60),
            Target::Handoff(_) => settings.handoff_period * settings.handoff_callbacks as u32,
        };
        self.runs
            .iter()
            .map(|p| per_repeat(p) * settings.repeats)
            .sum()
    }
}

/// Why a selection is not a plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A name, glob or value matched nothing valid.
    #[error("{0}")]
    Unknown(String),
    /// A workload name that is not one.
    #[error(transparent)]
    Workload(#[from] UnknownWorkload),
    /// Everything selected is an impossible combination.
    #[error("nothing to run: {0}")]
    Impossible(String),
}

/// Turns a selection into the runs it means, for `entries` (the registry) on a machine
/// with `cores` hardware threads.
///
/// # Errors
/// An unknown backend, structure, scheme or workload (the message lists the valid ones),
/// a thread count of 0, or a selection in which no combination can run (the message says
/// why each could not).
pub fn plan(
    selection: &Selection,
    entries: &[Entry],
    settings: &Settings,
    cores: usize,
) -> Result<Plan, PlanError> {
    let workloads = select_workloads(&selection.workloads)?;
    let targets = targets(selection, entries)?;
    let threads = selection
        .threads
        .clone()
        .unwrap_or_else(|| settings.threads.clone());
    if threads.is_empty() || threads.iter().any(|&t| t == 0 || t > MAX_THREADS) {
        return Err(PlanError::Unknown(format!(
            "thread counts must be 1 to {MAX_THREADS}"
        )));
    }
    let allocators = select_allocators(selection.allocators.as_deref())?;
    check_tuning(selection.tuning.as_ref(), &targets)?;
    let mut plan = Plan::default();
    let named = !selection.workloads.is_empty();
    // The quick suite over everything runs the sets' representative subset...
    let quick_sets = settings.suite == crate::settings::Suite::Quick
        && *selection
            == (Selection {
                threads: selection.threads.clone(),
                allocators: selection.allocators.clone(),
                tuning: selection.tuning.clone(),
                ..Selection::default()
            });
    for &workload in &workloads {
        for count in workload.thread_counts(&threads, cores) {
            // ... and the graph family at up to one thread per core: a shared graph's
            // threads hold a lock per tree, and more threads than cores measure the
            // scheduler's time slices more than the strategy (`--full` and `-t` run them).
            if quick_sets && workload.is_graph() && count > cores {
                continue;
            }
            for target in &targets {
                // Unnamed, sets run only their default workload (see `DEFAULT_SET_WORKLOAD`).
                if let Target::Set(entry) = target
                    && ((!named && workload != DEFAULT_SET_WORKLOAD)
                        || (quick_sets && !QUICK_SETS.contains(&entry.name)))
                {
                    continue;
                }
                for &allocator in &allocators {
                    for tuning in tunings(selection.tuning.as_ref(), target) {
                        let run = (*target, workload, count, allocator, tuning);
                        plan_one(&mut plan, run, cores, settings);
                    }
                }
            }
        }
    }
    if quick_sets {
        drop_repeated_runs(&mut plan);
    }
    if plan.runs.is_empty() {
        let reasons = if plan.skipped.is_empty() {
            "no backend and workload match each other".to_string()
        } else {
            skip_reasons(&plan.skipped)
        };
        return Err(PlanError::Impossible(reasons));
    }
    Ok(plan)
}

/// Drops the `oversubscription` runs that repeat a `pairs` run of the plan: on a machine
/// with fewer cores than the quick suite's largest thread count, `oversubscription` at
/// that count gives a backend that allows many consumers the very threads `pairs` does
/// (on two cores, 4 pair threads either way). The skip list says so; the one-consumer
/// backends, which it runs as `mpsc` instead, keep their row.
fn drop_repeated_runs(plan: &mut Plan) {
    let pairs: Vec<Planned> = plan
        .runs
        .iter()
        .filter(|p| p.workload == Workload::Pairs)
        .copied()
        .collect();
    let repeats = |p: &Planned| {
        p.workload == Workload::Oversubscription
            && pairs.iter().any(|q| {
                Planned {
                    workload: Workload::Oversubscription,
                    ..*q
                } == *p
            })
    };
    let (dropped, kept): (Vec<Planned>, Vec<Planned>) =
        plan.runs.iter().copied().partition(|p| repeats(p));
    plan.runs = kept;
    plan.skipped.extend(dropped.into_iter().map(|p| Skipped {
        backend: p.target.name(),
        workload: p.workload,
        threads: p.threads,
        reason: ShapeError::SameAsPairs { threads: p.threads },
    }));
}

/// Why the combinations in `skipped` do not apply, each distinct reason once: one
/// backend by name (`hopper × prodcons at 4 threads: …`), several by count (`16 backends
/// × mpsc at 1 thread: …`), so that `-w mpsc -t 1` does not say the same thing 16 times.
fn skip_reasons(skipped: &[Skipped]) -> String {
    /// One distinct reason, and the backends it applies to.
    struct Group<'a> {
        workload: Workload,
        threads: usize,
        reason: String,
        backends: Vec<&'a str>,
    }
    // In the order first met.
    let mut groups: Vec<Group<'_>> = Vec::new();
    for s in skipped {
        let reason = s.reason.to_string();
        match groups
            .iter_mut()
            .find(|g| (g.workload, g.threads, &g.reason) == (s.workload, s.threads, &reason))
        {
            Some(group) => group.backends.push(&s.backend),
            None => groups.push(Group {
                workload: s.workload,
                threads: s.threads,
                reason,
                backends: vec![&s.backend],
            }),
        }
    }
    let lines: Vec<String> = groups
        .iter()
        .map(|g| {
            let who = match g.backends[..] {
                [one] => one.to_string(),
                _ => format!("{} backends", g.backends.len()),
            };
            let plural = if g.threads == 1 { "" } else { "s" };
            format!(
                "{who} × {} at {} thread{plural}: {}",
                g.workload, g.threads, g.reason
            )
        })
        .collect();
    lines.join("; ")
}

/// The allocators asked for, each once and each one this binary has; this process's own
/// when none were named.
fn select_allocators(named: Option<&[Allocator]>) -> Result<Vec<Allocator>, PlanError> {
    let Some(named) = named.filter(|n| !n.is_empty()) else {
        return Ok(vec![reclaim_alloc::chosen()]);
    };
    let mut allocators: Vec<Allocator> = Vec::new();
    for &allocator in named {
        allocator
            .available()
            .map_err(|why| PlanError::Unknown(format!("allocator {allocator}: {why}")))?;
        if !allocators.contains(&allocator) {
            allocators.push(allocator);
        }
    }
    Ok(allocators)
}

/// That a swept knob is one that some selected backend's scheme has, and that every
/// value is in its range; the message lists the knobs there are.
fn check_tuning(tuning: Option<&TuningSweep>, targets: &[Target]) -> Result<(), PlanError> {
    let Some(tuning) = tuning else {
        return Ok(());
    };
    let knob = targets
        .iter()
        .flat_map(|t| t.knobs())
        .find(|k| k.key == tuning.key);
    let Some(knob) = knob else {
        let mut known: Vec<String> = Vec::new();
        for target in targets {
            for k in target.knobs() {
                let entry = format!("{} ({})", k.key, target.scheme());
                if !known.contains(&entry) {
                    known.push(entry);
                }
            }
        }
        let known = if known.is_empty() {
            "none of the selected backends' schemes has a knob (seize and sweep do)".to_owned()
        } else {
            format!("the selected backends' knobs: {}", known.join(", "))
        };
        return Err(PlanError::Unknown(format!(
            "--scheme-setting: no selected backend's scheme has a knob `{}`; {known}",
            tuning.key
        )));
    };
    if tuning.values.is_empty() {
        return Err(PlanError::Unknown(format!(
            "--scheme-setting {}: no values",
            tuning.key
        )));
    }
    for &value in &tuning.values {
        knob.check(value)
            .map_err(|why| PlanError::Unknown(format!("--scheme-setting: {why}")))?;
    }
    Ok(())
}

/// The settings `target` runs at: one per swept value when its scheme has the knob (each
/// value once), else its defaults alone.
fn tunings(tuning: Option<&TuningSweep>, target: &Target) -> Vec<Option<PlannedTuning>> {
    let knob = tuning.and_then(|t| target.knobs().iter().find(|k| k.key == t.key));
    match (tuning, knob) {
        (Some(tuning), Some(knob)) => {
            let mut values: Vec<u64> = Vec::new();
            for &value in &tuning.values {
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            values
                .into_iter()
                .map(|value| {
                    Some(PlannedTuning {
                        key: knob.key,
                        value,
                    })
                })
                .collect()
        }
        _ => vec![None],
    }
}

/// Plans `target` × `workload` at `threads` on `allocator` with `tuning`, or records why
/// it cannot run.
fn plan_one(
    plan: &mut Plan,
    (target, workload, threads, allocator, tuning): (
        Target,
        Workload,
        usize,
        Allocator,
        Option<PlannedTuning>,
    ),
    cores: usize,
    settings: &Settings,
) {
    let skip = |reason: ShapeError| Skipped {
        backend: target.name(),
        workload,
        threads,
        reason,
    };
    let mut planned = Planned {
        target,
        workload,
        threads,
        shape: None,
        set: None,
        allocator,
        tuning,
    };
    let shape = match (target, workload) {
        (Target::Handoff(_), Workload::Handoff) => {
            plan.runs.push(planned);
            return;
        }
        (Target::Graph(info), w) if w.is_graph() => {
            match crate::workload::check_graph(&info, w, threads) {
                Ok(()) => plan.runs.push(planned),
                Err(reason) => plan.skipped.push(skip(reason)),
            }
            return;
        }
        // Handoff and graph strategies, containers and sets each run workloads of their
        // own; the combinations across families are not worth a line in the skip list.
        (Target::Handoff(_) | Target::Graph(_), _) | (_, Workload::Handoff) => return,
        (_, w) if w.is_graph() => return,
        (Target::Backend(_), w) if w.sets_only() => return,
        (Target::Set(_), Workload::Pairs | Workload::Prodcons | Workload::Mpsc) => return,
        (Target::Backend(entry), _) => workload.shape(&entry.info, threads, cores),
        (Target::Set(entry), _) => {
            planned.set = named_mix(workload).map(|mix| SetRun {
                keys: settings.keys.unwrap_or_else(|| default_keys(&entry.info)),
                mix: settings.mix.unwrap_or(mix),
                zipf: settings.zipf,
            });
            workload.set_shape(threads, cores)
        }
    };
    match shape {
        Ok(shape) => {
            planned.shape = Some(shape);
            plan.runs.push(planned);
        }
        Err(reason) => plan.skipped.push(skip(reason)),
    }
}

/// The sets the quick suite runs when nothing is selected (`read-mostly` only, see
/// [`DEFAULT_SET_WORKLOAD`]), so that it stays within three minutes on two cores: every
/// scheme once on the hash map, where they compare on equal terms; the list over `ebr`
/// and `hp`, where traversal parts them; the skip list over `ebr`; and the three
/// concurrent baselines, `skipset`, `papaya` and `dashset`. Naming backends or workloads,
/// or `--full`, runs every set.
pub const QUICK_SETS: &[&str] = &[
    "hashmap-leak",
    "hashmap-ebr",
    "hashmap-hp",
    "hashmap-rc",
    "hashmap-sweep",
    "hashmap-seize",
    "hashmap-circ",
    "hmlist-ebr",
    "hmlist-hp",
    "skiplist-ebr",
    "skipset",
    "papaya",
    "dashset",
];

/// The workloads run when none is named: every container workload, handoff and `graph`,
/// and for sets only `read-mostly` — the mix the published comparisons lead with — so
/// that the quick suite stays a few minutes long. `-w all`, or naming them, runs the
/// others (`graph-forced` among them).
pub const DEFAULT_SET_WORKLOAD: Workload = Workload::ReadMostly;

fn select_workloads(names: &[String]) -> Result<Vec<Workload>, PlanError> {
    if names.is_empty() {
        let default = |w: &Workload| {
            (!w.sets_only() && *w != Workload::GraphForced) || *w == DEFAULT_SET_WORKLOAD
        };
        return Ok(Workload::ALL.into_iter().filter(default).collect());
    }
    if names.iter().any(|n| n == "all") {
        return Ok(Workload::ALL.to_vec());
    }
    let mut workloads = Vec::new();
    for name in names {
        let workload: Workload = name.parse()?;
        if !workloads.contains(&workload) {
            workloads.push(workload);
        }
    }
    // Run in the canonical order whatever order they were given in.
    workloads.sort();
    Ok(workloads)
}

/// Every graph strategy, in the family's order.
pub fn graph_strategies() -> Vec<GraphInfo> {
    struct Infos(Vec<GraphInfo>);
    impl reclaim_graphs::GraphVisitor for Infos {
        fn visit<G: reclaim_graphs::GraphStrategy>(&mut self) {
            self.0.push(G::INFO);
        }
    }
    let mut infos = Infos(Vec::new());
    reclaim_graphs::visit_all(&mut infos);
    infos.0
}

/// The info rows of handoff strategies carry, for selection by structure and scheme.
fn handoff_info(strategy: Strategy) -> (String, &'static str, String) {
    let target = Target::Handoff(strategy);
    (target.name(), target.structure(), target.scheme())
}

/// The backends, sets and handoff strategies `selection` names (by name or glob,
/// structure and scheme), in registry order; an error naming the valid choices for an
/// unknown one. The container backends are `entries`; the sets, the registry's.
pub fn targets(selection: &Selection, entries: &[Entry]) -> Result<Vec<Target>, PlanError> {
    let sets = reclaim_registry::set_entries();
    let mut candidates: Vec<(Target, String, String, String)> = entries
        .iter()
        .map(|e| Target::Backend(*e))
        .chain(sets.iter().map(|e| Target::Set(*e)))
        .map(|t| (t, t.name(), t.structure().to_string(), t.scheme()))
        .collect();
    for text in &selection.backends {
        if let Some((name, why)) = reclaim_registry::NOT_REGISTERED
            .iter()
            .find(|(name, _)| name == text)
        {
            return Err(PlanError::Unknown(format!(
                "`{name}` is not registered: {why}"
            )));
        }
    }
    for strategy in Strategy::ALL {
        let (name, structure, scheme) = handoff_info(strategy);
        candidates.push((
            Target::Handoff(strategy),
            name,
            structure.to_string(),
            scheme,
        ));
    }
    for info in graph_strategies() {
        let target = Target::Graph(info);
        candidates.push((
            target,
            target.name(),
            target.structure().into(),
            target.scheme(),
        ));
    }

    let patterns = selection
        .backends
        .iter()
        .map(|p| {
            glob::Pattern::new(p)
                .map_err(|e| PlanError::Unknown(format!("bad backend pattern `{p}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (pattern, text) in patterns.iter().zip(&selection.backends) {
        if !candidates
            .iter()
            .any(|(_, name, _, _)| pattern.matches(name))
        {
            return Err(PlanError::Unknown(format!(
                "no backend matches `{text}`; valid backends: {}",
                list(candidates.iter().map(|c| c.1.as_str()))
            )));
        }
    }
    check_known(
        "structure",
        &selection.structures,
        candidates.iter().map(|c| c.2.as_str()),
    )?;
    check_known(
        "scheme",
        &selection.schemes,
        candidates.iter().map(|c| c.3.as_str()),
    )?;

    candidates.retain(|(_, name, structure, scheme)| {
        (patterns.is_empty() || patterns.iter().any(|p| p.matches(name)))
            && (selection.structures.is_empty() || selection.structures.contains(structure))
            && (selection.schemes.is_empty() || selection.schemes.contains(scheme))
    });
    if candidates.is_empty() {
        return Err(PlanError::Impossible(
            "no backend has all of the selected name, structure and scheme".to_string(),
        ));
    }
    Ok(candidates.into_iter().map(|c| c.0).collect())
}

fn check_known<'a>(
    what: &str,
    wanted: &[String],
    known: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), PlanError> {
    for name in wanted {
        if !known.clone().any(|k| k == name) {
            return Err(PlanError::Unknown(format!(
                "unknown {what} `{name}`; valid {what}s: {}",
                list(known)
            )));
        }
    }
    Ok(())
}

/// The distinct names, in first-seen order, comma-separated.
fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen.join(", ")
}

impl fmt::Display for Planned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} × {} × {} threads",
            self.target.name(),
            self.workload,
            self.threads
        )?;
        if let Some(tuning) = self.tuning {
            write!(f, " at {tuning}")?;
        }
        if self.allocator != reclaim_alloc::chosen() {
            write!(f, " on {}", self.allocator)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
