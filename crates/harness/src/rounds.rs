//! Paired rounds: how a `run` measures, so that its comparisons survive a noisy machine.
//!
//! The rows of one *comparison group* — the same workload at the same thread count — are
//! measured in rounds: in each round every row of the group runs one repeat, in an order
//! shuffled anew from the run's seed. Whatever slows the machine for a while (another
//! process, a frequency change, a neighbour on the hypervisor) then slows every row of a
//! round alike, instead of whichever row happened to run during it. Each row keeps its
//! repeats as before (median, spread, and now a 95% interval for the median), and gets a
//! [`Ratio`] to its reference: the median of the per-round ratios, which cancel what a
//! round had in common, with its own distribution-free interval (`reclaim_results::stats`).
//!
//! The reference of a row is `--reference` where the group has it (a backend by name, or
//! a scheme: the row's structure's backend of that scheme), else the `ebr` backend of
//! the row's structure where the group has one, else the group's first row — each
//! among the rows on the row's own allocator, when a run measures several
//! (`--allocator`): rows on different allocators share the rounds, not references.
//!
//! How many rounds: the number asked for (`-r`, 6 by default: the fewest that give a 95%
//! interval), or, with a target (`--ci-target PCT`), rounds are added until every valid
//! row's median and ratio intervals are within ±PCT of their medians, or the group's
//! share of the time cap (`--max-time`, split evenly among the groups) is spent. Each row
//! records which ended its rounds.

use std::time::{Duration, Instant};

use reclaim_results::{Ratio, Row, stats};

use crate::error::RepeatError;
use crate::plan::{Plan, Planned, Target};
use crate::row::{self, Measured};
use crate::settings::{MAX_REPEATS, Settings};
use crate::workload::Workload;
use reclaim_core::SplitMix64;

/// The rows compared with one another: one workload at one thread count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The workload.
    pub workload: Workload,
    /// Threads, all roles included.
    pub threads: usize,
    /// The rows, in plan order.
    pub runs: Vec<Planned>,
}

/// The comparison groups of `plan`, in the order their first rows were planned.
pub fn groups(plan: &Plan) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for planned in &plan.runs {
        match groups
            .iter_mut()
            .find(|g| g.workload == planned.workload && g.threads == planned.threads)
        {
            Some(group) => group.runs.push(*planned),
            None => groups.push(Group {
                workload: planned.workload,
                threads: planned.threads,
                runs: vec![*planned],
            }),
        }
    }
    groups
}

/// Why a group's rounds ended, as rows record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The number of rounds asked for.
    Fixed,
    /// Every interval of the group reached the target.
    Target,
    /// The group's share of the time cap ran out (or the most rounds accepted).
    TimeCap,
}

impl Ended {
    /// The name rows carry in `rounds_ended`.
    pub fn name(self) -> &'static str {
        match self {
            Ended::Fixed => "fixed",
            Ended::Target => "ci-target",
            Ended::TimeCap => "time cap",
        }
    }
}

/// The order of the rows in each round: a Fisher–Yates shuffle driven by SplitMix64, so
/// that a recorded seed reproduces every order.
#[derive(Debug)]
pub struct Shuffle {
    draws: SplitMix64,
}

impl Shuffle {
    /// Orders drawn from `seed`.
    pub fn new(seed: u64) -> Shuffle {
        Shuffle {
            draws: SplitMix64::new(seed),
        }
    }

    /// `0..n` in a fresh random order.
    pub fn order(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.draws.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        order
    }
}

/// One row's measurements so far.
struct Measuring {
    planned: Planned,
    /// The scheme's settings in words, from its first repeat.
    described: String,
    repeats: Vec<Measured>,
    /// Set when a repeat could not take place: the row is out of the later rounds.
    error: Option<RepeatError>,
}

impl Measuring {
    /// Whether the row takes part in the next round: it ran, and passed every check.
    fn live(&self) -> bool {
        self.error.is_none() && self.repeats.iter().all(|r| r.check.is_ok())
    }
}

/// Runs one repeat of a row in a process of its own and returns what
/// [`repeat_json`](crate::repeat_json) printed there, or why there is nothing (it
/// becomes [`RepeatError::Process`]).
pub type Isolate<'a> =
    &'a dyn Fn(&Planned) -> Result<String, Box<dyn std::error::Error + Send + Sync>>;

/// Measures `group` in rounds under `settings` and returns its rows, in the group's
/// order. `budget` is the group's share of the time cap (used only with a target).
/// `isolate`, when given, runs each repeat in a fresh process instead of this one.
/// `repeat_done` is called after every repeat with the row and the round (from 1), for
/// progress.
pub fn measure_group(
    group: &Group,
    settings: &Settings,
    shuffle: &mut Shuffle,
    budget: Option<Duration>,
    isolate: Option<Isolate<'_>>,
    mut repeat_done: impl FnMut(&Planned, u32),
) -> Vec<Row> {
    let started = Instant::now();
    let mut rows: Vec<Measuring> = group
        .runs
        .iter()
        .map(|planned| Measuring {
            planned: *planned,
            described: String::new(),
            repeats: Vec::new(),
            error: None,
        })
        .collect();
    let references: Vec<usize> = (0..rows.len())
        .map(|i| reference_of(&group.runs, i, settings.reference.as_deref()))
        .collect();
    let mut round = 0;
    let ended = loop {
        round += 1;
        let round_started = Instant::now();
        for i in shuffle.order(rows.len()) {
            let row = &mut rows[i];
            if !row.live() {
                continue;
            }
            let (described, measured) = match isolate {
                None => crate::measure(&row.planned, settings),
                Some(run) => from_process(run(&row.planned), &row.described),
            };
            row.described = described;
            match measured {
                Ok(measured) => row.repeats.push(measured),
                Err(error) => row.error = Some(error),
            }
            repeat_done(&row.planned, round);
        }
        if round < settings.repeats {
            continue;
        }
        let Some(target) = settings.ci_target else {
            break Ended::Fixed;
        };
        let built = build_rows(&rows, &references, Ended::Target);
        if built.iter().all(|row| within_target(row, target)) {
            break Ended::Target;
        }
        // Stop when another round would overrun the group's share, judged by this one.
        let spent = started.elapsed() + round_started.elapsed();
        if budget.is_some_and(|budget| spent > budget) || round >= MAX_REPEATS {
            break Ended::TimeCap;
        }
        if !rows.iter().any(Measuring::live) {
            break Ended::TimeCap;
        }
    };
    build_rows(&rows, &references, ended)
}

/// A repeat that ran in another process, from what that process printed.
fn from_process(
    printed: Result<String, Box<dyn std::error::Error + Send + Sync>>,
    described: &str,
) -> (String, Result<Measured, RepeatError>) {
    let parsed = printed.map_err(RepeatError::Process).and_then(|json| {
        serde_json::from_str::<(String, Result<Measured, String>)>(&json)
            .map_err(RepeatError::Unreadable)
    });
    match parsed {
        Ok((described, measured)) => (described, measured.map_err(RepeatError::InProcess)),
        Err(error) => (described.to_string(), Err(error)),
    }
}

/// Each row from its repeats, with its ratio to its reference.
fn build_rows(rows: &[Measuring], references: &[usize], ended: Ended) -> Vec<Row> {
    let mut built: Vec<Row> = rows
        .iter()
        .map(|m| {
            let repeats = match &m.error {
                Some(error) => Err(error),
                None => Ok(m.repeats.as_slice()),
            };
            let mut row = row::build(&m.planned, &m.described, repeats);
            row.rounds_ended = Some(ended.name().to_string());
            row
        })
        .collect();
    let ratios: Vec<Option<Ratio>> = built
        .iter()
        .zip(references)
        .map(|(row, &reference)| {
            let reference = &built[reference];
            (row.valid && reference.valid)
                .then(|| paired(row, reference))
                .flatten()
        })
        .collect();
    let cores = crate::metadata::cores();
    for (row, ratio) in built.iter_mut().zip(ratios) {
        row.ratio = ratio;
        row.noisy = noisy(row, cores);
    }
    built
}

/// The row's ratio to its reference, round by round: on throughput with the time stolen
/// from the workers taken out where both rows have it for every round (the hypervisor
/// may steal more during one backend's repeats than during its reference's, which
/// pairing does not cancel), on throughput as measured otherwise.
fn paired(row: &Row, reference: &Row) -> Option<Ratio> {
    fn unstolen(r: &Row) -> Option<&[f64]> {
        (r.repeat_ops_per_sec_unstolen.len() == r.repeat_ops_per_sec.len())
            .then_some(r.repeat_ops_per_sec_unstolen.as_slice())
    }
    match (unstolen(row), unstolen(reference)) {
        (Some(values), Some(references)) => Ratio::paired(&reference.backend, values, references)
            .map(|ratio| Ratio {
                unstolen: true,
                ..ratio
            }),
        _ => Ratio::paired(
            &reference.backend,
            &row.repeat_ops_per_sec,
            &reference.repeat_ops_per_sec,
        ),
    }
}

/// Why a valid row's numbers are too noisy to lean on, or `None`: every reason found.
fn noisy(row: &Row, cores: usize) -> Option<String> {
    if !row.valid {
        return None;
    }
    let mut reasons = Vec::new();
    match row.ops_per_sec.and_then(|s| s.ci_half_width_pct()) {
        None => reasons.push(format!(
            "no 95% interval (fewer than {} rounds)",
            stats::MIN_VALUES
        )),
        Some(w) if w > stats::NOISY_INTERVAL_PCT => {
            reasons.push(format!("its median's 95% interval is ±{w:.0}%"));
        }
        Some(_) => {}
    }
    if let Some(w) = row
        .ratio
        .as_ref()
        .filter(|r| r.reference != row.backend)
        .and_then(Ratio::ci_half_width_pct)
        .filter(|&w| w > stats::NOISY_INTERVAL_PCT)
    {
        reasons.push(format!("its ratio's 95% interval is ±{w:.0}%"));
    }
    if let Some(noise) = &row.noise {
        if let Some(steal) = noise.steal_pct_max.filter(|&s| s > stats::NOISY_STEAL_PCT) {
            reasons.push(format!("the hypervisor stole {steal:.0}% of CPU time"));
        }
        if row.threads <= cores
            && let Some(delay) = noise
                .runqueue_delay_pct
                .filter(|&d| d > stats::NOISY_RUNQUEUE_DELAY_PCT)
        {
            reasons.push(format!(
                "its workers waited for a CPU {delay:.0}% of the time, with no more of them \
                 than cores"
            ));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Whether every interval of a valid `row` is within `target` percent of its median.
/// An invalid row has nothing to narrow; a row without an interval yet is not within.
fn within_target(row: &Row, target: f64) -> bool {
    if !row.valid {
        return true;
    }
    let median = row
        .ops_per_sec
        .and_then(|s| s.ci_half_width_pct())
        .is_some_and(|w| w <= target);
    let ratio = match &row.ratio {
        Some(ratio) if ratio.reference == row.backend => true,
        Some(ratio) => ratio.ci_half_width_pct().is_some_and(|w| w <= target),
        // No ratio for a valid row: its reference is invalid; nothing to narrow.
        None => true,
    };
    median && ratio
}

/// The index in `runs` of the reference of row `i`: among the rows on the same
/// allocator, so that a row's ratio compares schemes, not allocators.
fn reference_of(runs: &[Planned], i: usize, named: Option<&str>) -> usize {
    let allocator = runs[i].allocator;
    let find = |wanted: &dyn Fn(&Planned) -> bool| {
        runs.iter()
            .position(|p| p.allocator == allocator && wanted(p))
    };
    let structure = runs[i].target.structure();
    if let Some(named) = named
        && let Some(at) = find(&|p| p.target.name() == named).or_else(|| {
            find(&|p| {
                !matches!(p.target, Target::Handoff(_))
                    && p.target.structure() == structure
                    && p.target.scheme() == named
            })
        })
    {
        return at;
    }
    find(&|p| {
        !matches!(p.target, Target::Handoff(_))
            && p.target.structure() == structure
            && p.target.scheme() == "ebr"
    })
    .or_else(|| find(&|_| true))
    .unwrap_or(i)
}

/// Splits the time cap among `groups` evenly: each gets its share, whatever the others
/// leave unused.
pub fn budget_per_group(settings: &Settings, groups: usize) -> Option<Duration> {
    let cap = settings.ci_target.and(settings.max_time)?;
    Some(cap / u32::try_from(groups.max(1)).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests;
