//! One repeat of a graph strategy (`reclaim-graphs`) on `graph` or `graph-forced`: the
//! graph is built, then the row's threads replace random subgraphs until the repeat ends,
//! the first of them running the collections — the strategy's due step when it says one is
//! due, and in `graph-forced` a full collection every `--collect-every` of its operations —
//! each timed into the pause histogram. Around it, the sampler (memory, and the nodes
//! unlinked and not yet freed), the counters, and the self-check: the graph is walked and
//! compared with what the strategy booked, every node dropped at most once, and what was
//! never freed is counted.
//!
//! What a row's numbers mean:
//! - throughput: operations per second, collections included (they are the work's cost);
//! - latency: every operation, timed alone — with the collections a library runs inside
//!   an allocation or a drop (`gc`, dumpster), which no caller can time apart; those are
//!   counted in `extra.hidden_collections`;
//! - pauses (`pauses_ns`): every collection the driver ran, timed alone;
//! - `extra.garbage_end`: nodes unlinked and not yet freed when the repeat ended;
//!   `leaked`: those a full collection then could not free (the leak: `rc-leak`'s cycles,
//!   or a collector's miss); `never_freed`: nodes still not freed after the graph's
//!   teardown (`rc-leak` leaks its live graph too: its trees are cycles).
//!
//! An unsync strategy's graph never leaves the thread that built it: a repeat at one
//! thread runs on the calling thread. Graph workers are not pinned (`--pin` places the
//! backend workers): pinning the calling thread would pin every thread it starts later. `rc-leak` stops a repeat early once
//! [`LEAK_CAP`] nodes are leaked (its memory is never given back to the process).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use reclaim_core::SplitMix64;
use reclaim_graphs::{
    Collect, Counts, CountsReader, GraphConfig, GraphInfo, GraphStrategy, GraphVisitor, SharedGraph,
};

use crate::counters::{Counters, Readings};
use crate::driver::histogram;
use crate::error::RepeatError;
use crate::gate::Gate;
use crate::noise::{CpuTimes, Noise, ThreadSched};
use crate::row::Measured;
use crate::sampler::{Probe, Sampler};
use crate::settings::Settings;
use crate::workload::Workload;

/// Nodes `rc-leak` may leak in one repeat before the repeat stops: about a hundred
/// megabytes, which stay allocated until the process ends.
pub(crate) const LEAK_CAP: u64 = 1_000_000;

/// The role a graph worker's errors name.
const WORKER: &str = "graph worker";

/// How often (in operations) a worker reads the counts for the leak cap and the growth
/// mark: two relaxed loads, rarely enough not to show.
const CHECK_EVERY: u64 = 256;

/// What a graph row says of its settings.
pub(crate) fn describe(info: &GraphInfo, workload: Workload, settings: &Settings) -> String {
    let config = config(settings);
    let mut text = format!(
        "{} live nodes of up to {} edges in trees of {}; an operation replaces a subtree of \
         at most {} nodes; collections: {}",
        config.nodes,
        config.max_edges,
        config.tree,
        config.subgraph,
        policy(info)
    );
    if workload == Workload::GraphForced {
        text.push_str(&format!(
            "; plus a full collection every {} operations",
            settings.collect_every
        ));
    }
    text
}

/// The strategy's own collection policy, in words.
fn policy(info: &GraphInfo) -> &'static str {
    match info.name {
        "rc-weak" | "arc-weak" => "none (counts free inline)",
        "rc-leak" => "none (counts free inline; cycles leak)",
        "bacon-rajan-cc" => "the cycle collector when its buffered roots reach the node count",
        "gc" => "rust-gc's own threshold, inside allocations (counted, not timed)",
        "dumpster-unsync" | "dumpster-sync" => {
            "dumpster's own condition, inside drops (counted, not timed)"
        }
        "gc-arena" => "an incremental step whenever the allocation debt is positive",
        _ => "the strategy's own",
    }
}

/// What a graph row's threads did.
pub(crate) fn roles(threads: usize) -> String {
    match threads {
        1 => "1 thread on its own graph".to_string(),
        n => format!("{n} threads sharing one graph"),
    }
}

fn config(settings: &Settings) -> GraphConfig {
    GraphConfig {
        nodes: settings.graph_nodes,
        ..GraphConfig::default()
    }
}

/// One repeat of `info`'s strategy on `workload` at `threads` threads.
pub(crate) fn measure(
    info: GraphInfo,
    workload: Workload,
    threads: usize,
    settings: &Settings,
) -> Result<Measured, RepeatError> {
    let mut visitor = Find {
        name: info.name,
        run: Run {
            config: config(settings),
            threads,
            forced_every: (workload == Workload::GraphForced).then_some(settings.collect_every),
            settings,
        },
        measured: None,
    };
    reclaim_graphs::visit_all(&mut visitor);
    visitor
        .measured
        .unwrap_or(Err(RepeatError::NotRegistered(info.name)))
}

/// Finds the strategy among the family's types and runs the repeat.
struct Find<'a> {
    name: &'static str,
    run: Run<'a>,
    measured: Option<Result<Measured, RepeatError>>,
}

impl GraphVisitor for Find<'_> {
    fn visit<G: GraphStrategy>(&mut self) {
        if G::INFO.name == self.name {
            self.measured = Some(self.run.own::<G>());
        }
    }

    fn visit_shared<G: SharedGraph>(&mut self) {
        if G::INFO.name == self.name {
            self.measured = Some(if self.run.threads == 1 {
                self.run.own::<G>()
            } else {
                self.run.shared::<G>()
            });
        }
    }
}

/// One repeat's parameters.
struct Run<'a> {
    config: GraphConfig,
    threads: usize,
    forced_every: Option<u64>,
    settings: &'a Settings,
}

/// What a worker does to the graph: through `&mut` on the thread that owns it, or through
/// a shared reference from several threads.
trait Operate {
    fn replace(&mut self, rng: &mut SplitMix64);
    fn due(&self) -> bool;
    fn collect(&mut self, how: Collect) -> bool;
}

struct Own<'g, G>(&'g mut G);

impl<G: GraphStrategy> Operate for Own<'_, G> {
    fn replace(&mut self, rng: &mut SplitMix64) {
        self.0.replace(rng);
    }
    fn due(&self) -> bool {
        self.0.collection_due()
    }
    fn collect(&mut self, how: Collect) -> bool {
        self.0.collect(how)
    }
}

struct Share<'g, G>(&'g G);

impl<G: SharedGraph> Operate for Share<'_, G> {
    fn replace(&mut self, rng: &mut SplitMix64) {
        self.0.replace_shared(rng);
    }
    fn due(&self) -> bool {
        self.0.collection_due()
    }
    fn collect(&mut self, how: Collect) -> bool {
        self.0.collect_shared(how)
    }
}

/// What one worker measured.
struct Worker {
    ops: u64,
    latency: Histogram<u64>,
    pauses: Histogram<u64>,
    pause_total: Duration,
    started: Instant,
    ended: Instant,
    sched: ThreadSched,
    leak_capped: bool,
    /// The garbage count and time at the first check past half the repeat.
    half: Option<(Instant, u64)>,
}

/// Nodes unlinked and not yet freed: the graph always holds `nodes` reachable ones.
fn garbage(counts: Counts, nodes: u64) -> u64 {
    counts.created.saturating_sub(counts.dropped + nodes)
}

impl Run<'_> {
    fn stop_after(&self) -> (Option<u64>, Duration) {
        match self.settings.iterations {
            Some(n) => (Some(n), Duration::MAX),
            None => (None, self.settings.duration),
        }
    }

    /// One worker's loop. `first`: it runs the collections.
    fn work(
        &self,
        graph: &mut impl Operate,
        index: usize,
        counts: Option<&CountsReader>,
        leaks: bool,
    ) -> Worker {
        let first = index == 0;
        let nodes = self.config.nodes as u64;
        let mut rng = SplitMix64::new(self.settings.seed ^ (index as u64).wrapping_mul(0x9e37));
        let (iterations, duration) = self.stop_after();
        let half_ops = iterations.map(|n| n / 2);
        let sched = ThreadSched::now();
        let started = Instant::now();
        let mut w = Worker {
            ops: 0,
            latency: histogram(),
            pauses: histogram(),
            pause_total: Duration::ZERO,
            started,
            ended: started,
            sched,
            leak_capped: false,
            half: None,
        };
        let mut now = started;
        loop {
            if iterations.is_some_and(|n| w.ops >= n) || now.duration_since(started) >= duration {
                break;
            }
            graph.replace(&mut rng);
            let after = Instant::now();
            w.latency.saturating_record(nanos(after - now));
            w.ops += 1;
            now = after;
            if first {
                let how = if self.forced_every.is_some_and(|m| w.ops.is_multiple_of(m)) {
                    Some(Collect::Full)
                } else {
                    graph.due().then_some(Collect::Due)
                };
                if let Some(how) = how
                    && graph.collect(how)
                {
                    let end = Instant::now();
                    w.pauses.saturating_record(nanos(end - now));
                    w.pause_total += end - now;
                    now = end;
                }
            }
            if w.ops.is_multiple_of(CHECK_EVERY)
                && let Some(counts) = counts
            {
                let g = garbage(counts.counts(), nodes);
                if leaks && g > LEAK_CAP {
                    w.leak_capped = true;
                    break;
                }
                let past_half = match half_ops {
                    Some(h) => w.ops >= h,
                    None => now.duration_since(started) >= duration / 2,
                };
                if w.half.is_none() && past_half {
                    w.half = Some((now, g));
                }
            }
        }
        w.ended = now;
        w.sched = sched.until(ThreadSched::now());
        w
    }

    /// A repeat on the calling thread, which builds, runs and frees the graph.
    fn own<G: GraphStrategy>(&self) -> Result<Measured, RepeatError> {
        let mut graph = G::new(&self.config).map_err(RepeatError::Graph)?;
        let reader = graph.counts_reader();
        let measured = self.around(reader.as_ref(), |_| {
            let mut own = Own(&mut graph);
            catch_unwind(AssertUnwindSafe(|| {
                vec![self.work(&mut own, 0, reader.as_ref(), G::INFO.leaks_cycles)]
            }))
            .map_err(|_| RepeatError::Panicked { role: WORKER })
        });
        settle(graph, measured, |graph, measured| {
            self.finish(graph, measured)
        })
    }

    /// A repeat of `threads` threads on one graph.
    fn shared<G: SharedGraph>(&self) -> Result<Measured, RepeatError> {
        let graph = G::new(&self.config).map_err(RepeatError::Graph)?;
        let reader = graph.counts_reader();
        let measured = self.around(reader.as_ref(), |gate| {
            thread::scope(|s| {
                let handles: Vec<_> = (0..self.threads)
                    .map(|index| {
                        let graph = &graph;
                        let reader = reader.as_ref();
                        thread::Builder::new()
                            .name(format!("graph-{index}"))
                            .spawn_scoped(s, move || {
                                gate.wait();
                                let worker = self.work(
                                    &mut Share(graph),
                                    index,
                                    reader,
                                    G::INFO.leaks_cycles,
                                );
                                graph.thread_done();
                                worker
                            })
                            .map_err(|source| RepeatError::Spawn {
                                role: WORKER,
                                source,
                            })
                    })
                    .collect();
                let (started, failed): (Vec<_>, Vec<_>) =
                    handles.into_iter().partition(Result::is_ok);
                if let Some(Err(error)) = failed.into_iter().next() {
                    gate.abort();
                    for h in started.into_iter().flatten() {
                        let _ = h.join();
                    }
                    return Err(error);
                }
                gate.open_for(self.threads);
                started
                    .into_iter()
                    .flatten()
                    .map(|h| h.join().map_err(|_| RepeatError::Panicked { role: WORKER }))
                    .collect()
            })
        });
        settle(graph, measured, |graph, measured| {
            self.finish(graph, measured)
        })
    }

    /// Runs `workers` with the sampler and the counters around them.
    fn around(
        &self,
        reader: Option<&CountsReader>,
        workers: impl FnOnce(&Gate) -> Result<Vec<Worker>, RepeatError>,
    ) -> Result<Running, RepeatError> {
        let settings = self.settings;
        let nodes = self.config.nodes as u64;
        let sampler = settings
            .instrumented
            .then(|| Sampler::new(settings.sample_interval, settings.duration));
        let sampler_gate = Gate::default();
        let workers_gate = Gate::default();
        // Nodes unlinked so far (created beyond the initial graph), freed, and waiting.
        let probe = || {
            let counts = reader?.counts();
            let retired = counts.created.saturating_sub(nodes);
            Some(Probe {
                outstanding: garbage(counts, nodes),
                retired: Some(retired),
                freed: Some(counts.dropped),
                reclaimer_cpu_ns: None,
            })
        };
        thread::scope(|s| {
            let sampler_thread = match &sampler {
                Some(sampler) => Some(
                    thread::Builder::new()
                        .name("sampler".into())
                        .spawn_scoped(s, || sampler.run(&sampler_gate, probe))
                        .map_err(|source| RepeatError::Spawn {
                            role: "sampler",
                            source,
                        })?,
                ),
                None => None,
            };
            let mut counters = settings.instrumented.then(Counters::open);
            if let Some(sampler) = &sampler {
                sampler.rebase();
            }
            let cpu_before = CpuTimes::now();
            if let Some(c) = &mut counters {
                c.enable();
            }
            sampler_gate.open_for(usize::from(sampler_thread.is_some()));
            let workers = workers(&workers_gate);
            if let Some(c) = &mut counters {
                c.disable();
            }
            let cpu_after = CpuTimes::now();
            if let Some(sampler) = &sampler {
                sampler.stop();
            }
            let series = sampler_thread
                .map(|t| t.join())
                .transpose()
                .map_err(|_| RepeatError::Panicked { role: "sampler" })?;
            let readings = match &mut counters {
                Some(c) => c.read(),
                None => Readings::unavailable("instrumentation off"),
            };
            Ok(Running {
                workers: workers?,
                series,
                peak_bytes: sampler
                    .as_ref()
                    .filter(|s| s.counting())
                    .map(Sampler::peak_bytes),
                counters: readings,
                cpu: (cpu_before, cpu_after),
            })
        })
    }

    /// The checks after the run, the final collection and the teardown; the repeat's
    /// numbers.
    fn finish<G: GraphStrategy>(&self, mut graph: G, run: Running) -> Measured {
        let nodes = self.config.nodes as u64;
        let first = run.workers.iter().map(|w| w.started).min();
        let last = run.workers.iter().map(|w| w.ended).max();
        let elapsed = match (first, last) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        };
        let ops: u64 = run.workers.iter().map(|w| w.ops).sum();
        let verified = graph.verify();
        let at_end = graph.counts();
        let hidden = graph.hidden_collections();
        // What a full collection cannot free: the leak (rc-leak's cycles), or a
        // collector's miss.
        graph.collect(Collect::Full);
        let after_full = graph.counts();
        let torn_down = graph.teardown();

        let mut latency = histogram();
        let mut pauses = histogram();
        let mut pause_total = Duration::ZERO;
        for w in &run.workers {
            // Same bounds everywhere: adding cannot fail.
            let _ = latency.add(&w.latency);
            let _ = pauses.add(&w.pauses);
            pause_total += w.pause_total;
        }
        let check = match verified {
            Err(error) => Err(format!("the graph failed its check after the run: {error}")),
            Ok(census) if census.nodes != nodes => Err(format!(
                "the graph holds {} reachable nodes, not the {nodes} it was built with",
                census.nodes
            )),
            Ok(_) if torn_down.bad_drops != 0 || torn_down.dropped > torn_down.created => {
                Err(format!("nodes dropped more than once: {torn_down:?}"))
            }
            Ok(_) => Ok(()),
        };
        let never_freed = torn_down.created.saturating_sub(torn_down.dropped);
        let mut extra = vec![
            ("nodes", nodes as f64),
            ("collections", pauses.len() as f64),
            ("collection_total_ns", pause_total.as_nanos() as f64),
            (
                "collection_time_pct",
                100.0 * pause_total.as_secs_f64() / elapsed.as_secs_f64().max(1e-9),
            ),
            ("nodes_created", at_end.created.saturating_sub(nodes) as f64),
            (
                "alive_end",
                at_end.created.saturating_sub(at_end.dropped) as f64,
            ),
            ("reachable_end", nodes as f64),
            ("garbage_end", garbage(at_end, nodes) as f64),
            ("leaked", garbage(after_full, nodes) as f64),
            ("never_freed", never_freed as f64),
        ];
        if let Some(every) = self.forced_every {
            extra.push(("collect_every", every as f64));
        }
        if let Some(hidden) = hidden {
            extra.push(("hidden_collections", hidden as f64));
        }
        if run.workers.iter().any(|w| w.leak_capped) {
            extra.push(("leak_capped", 1.0));
        }
        // Garbage growth over the second half, in nodes (and below, in live bytes): ≈ 0
        // for a strategy that keeps up with its garbage, the leak's rate for one that
        // does not.
        if let Some((at, g)) = run.workers.first().and_then(|w| w.half) {
            let span = last.map_or(Duration::ZERO, |l| l.saturating_duration_since(at));
            if !span.is_zero() {
                let rate = (garbage(at_end, nodes) as f64 - g as f64) / span.as_secs_f64();
                extra.push(("garbage_growth_per_sec", rate));
            }
        }
        if let Some(rate) = run.series.as_ref().and_then(|s| growth(&s.memory)) {
            extra.push(("memory_growth_bytes_per_sec", rate));
        }
        Measured {
            ops_per_sec: ops as f64 / elapsed.as_secs_f64().max(1e-9),
            per_thread_ops: run.workers.iter().map(|w| w.ops).collect(),
            latency: Some(latency),
            pauses: Some(pauses),
            series: run.series,
            peak_bytes: run.peak_bytes,
            counters: run.counters,
            extra: extra
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
            check,
            noise: Noise::of(
                run.cpu.0.as_ref(),
                run.cpu.1.as_ref(),
                elapsed,
                run.workers
                    .iter()
                    .map(|w| (w.sched, w.ended.saturating_duration_since(w.started))),
            ),
        }
    }
}

/// The repeat's numbers from a graph and its run, or the run's error. A worker that
/// panicked did so inside an operation — a canary failed, so the graph is corrupt, and
/// freeing it could read freed memory again: it is leaked instead.
fn settle<G>(
    graph: G,
    run: Result<Running, RepeatError>,
    finish: impl FnOnce(G, Running) -> Measured,
) -> Result<Measured, RepeatError> {
    match run {
        Ok(run) => Ok(finish(graph, run)),
        Err(error @ RepeatError::Panicked { role: WORKER }) => {
            std::mem::forget(graph);
            Err(error)
        }
        Err(error) => Err(error),
    }
}

/// A run's workers and what was measured around them.
struct Running {
    workers: Vec<Worker>,
    series: Option<crate::sampler::Series>,
    peak_bytes: Option<u64>,
    counters: Readings,
    cpu: (Option<CpuTimes>, Option<CpuTimes>),
}

/// Live bytes gained per second over the second half of a memory series; `None` when it
/// has no second half to measure.
fn growth(memory: &[reclaim_results::MemoryPoint]) -> Option<f64> {
    let last = memory.last()?;
    let half = memory.iter().find(|p| p.t_ms >= last.t_ms / 2.0)?;
    let span_s = (last.t_ms - half.t_ms) / 1000.0;
    (span_s > 0.0).then(|| (last.bytes - half.bytes) as f64 / span_s)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reclaim_results::MemoryPoint;

    fn point(t_ms: f64, bytes: i64) -> MemoryPoint {
        MemoryPoint {
            t_ms,
            bytes,
            objects: 0,
        }
    }

    #[test]
    fn memory_growth_is_the_second_halfs_slope() {
        // 0 → 1 MB over the first second, flat after: the second half grew nothing.
        let flat = [
            point(0.0, 0),
            point(1000.0, 1_000_000),
            point(2000.0, 1_000_000),
        ];
        assert_eq!(growth(&flat), Some(0.0));
        let leaking = [point(0.0, 0), point(1000.0, 1_000), point(2000.0, 3_000)];
        assert_eq!(growth(&leaking), Some(2_000.0));
        assert_eq!(growth(&[point(5.0, 10)]), None);
        assert_eq!(growth(&[]), None);
    }

    #[test]
    fn garbage_is_what_was_made_beyond_the_graph_and_not_dropped() {
        let counts = Counts {
            created: 1_500,
            dropped: 300,
            bad_drops: 0,
        };
        assert_eq!(garbage(counts, 1_000), 200);
        assert_eq!(garbage(Counts::default(), 1_000), 0);
    }
}
