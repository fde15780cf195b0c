//! Questions the report asks of result files: which rows measure the same thing in
//! different files, which rows belong in one chart, what the median is.
//!
//! Orders are orders of first appearance (the order the harness ran things), so the
//! report follows the run and never needs to know a backend or workload by name.

use reclaim_results::{ResultFile, Row};

use crate::Input;
use crate::chart::Ranks;

/// The scheme every other scheme is measured against: `leak` never frees, so it is
/// what the structure would cost with reclamation free. Rows of other schemes are
/// divided by the `leak` row of the same structure, workload and thread count.
pub(crate) const REFERENCE_SCHEME: &str = "leak";

/// Workloads whose point is how memory and garbage evolve over the run (a stalled
/// thread holding back reclamation; a set's long reader holding it back walk after walk;
/// a consumer freeing what a producer allocated); they get time-series charts. Other
/// workloads run at a steady state whose peak the tables already show.
pub(crate) const TIME_SERIES_WORKLOADS: &[&str] = &["stalled", "long-reader", "handoff"];

/// The structure of the graph family's rows (`graph-rc-weak`, `graph-gc`, …): an
/// operation there replaces a subgraph, and what matters beside throughput is the
/// collections' pauses and what is left unfreed. They get a section of their own and
/// stay out of the ranking and charts of containers and sets.
pub(crate) const GRAPH_STRUCTURE: &str = "graph";

/// Whether `row` belongs to the graph family ([`GRAPH_STRUCTURE`]).
pub(crate) fn is_graph(row: &Row) -> bool {
    row.structure == GRAPH_STRUCTURE
}

/// The rows of a file that are not the graph family's: what the container and set
/// sections draw (the graph family has a section of its own).
pub(crate) fn without_graphs(rows: &[Row]) -> Vec<&Row> {
    rows.iter().filter(|r| !is_graph(r)).collect()
}

/// Row parameters (numbers in a row's `extra`) that change what a row measures, with the
/// name a label gives them. Two rows that differ in one are never the same measurement:
/// a set's rows over Zipf keys measure something else than over uniform ones (the hot
/// keys sit in cache, and writers meet on them), over a thousand keys something else than
/// over a million, and at another mix of operations something else again; a graph of
/// 10,000 nodes is not one of 100,000, and a forced collection every 100 operations is
/// not one every 1,000. The first (the Zipf exponent) is always in a label; the others
/// only where rows of one workload differ in them ([`Context::workload_label`]).
const MEASURE_PARAMS: [(&str, &str); 7] = [
    ("zipf_s", "Zipf s"),
    ("keys", "keys"),
    ("mix_contains_pct", "contains %"),
    ("mix_insert_pct", "insert %"),
    ("mix_remove_pct", "remove %"),
    ("nodes", "nodes"),
    ("collect_every", "collect every"),
];

/// A row's [`MEASURE_PARAMS`], as bits (comparable, hashable); `None` where the row has
/// no such parameter (uniform keys, a row that is not a set or a graph).
pub(crate) type Params = [Option<u64>; MEASURE_PARAMS.len()];

/// What identifies a measurement across files: the backend, the workload, the thread
/// count and the parameters that change what is measured ([`MEASURE_PARAMS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key<'a> {
    pub(crate) backend: &'a str,
    pub(crate) workload: &'a str,
    pub(crate) threads: usize,
    pub(crate) params: Params,
}

impl<'a> Key<'a> {
    pub(crate) fn of(row: &'a Row) -> Key<'a> {
        Key {
            backend: &row.backend,
            workload: &row.workload,
            threads: row.threads,
            params: params(row),
        }
    }
}

/// `row`'s [`MEASURE_PARAMS`].
pub(crate) fn params(row: &Row) -> Params {
    MEASURE_PARAMS.map(|(name, _)| row.extra.get(name).map(|v| v.to_bits()))
}

/// The median throughput of a row that passed its checks and has a finite one.
pub(crate) fn median(row: &Row) -> Option<f64> {
    row.ops_per_sec
        .filter(|s| row.valid && s.median.is_finite())
        .map(|s| s.median)
}

/// `items` without repeats, in order of first appearance.
pub(crate) fn distinct<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// Thread counts of `rows`, ascending, without repeats.
pub(crate) fn thread_counts<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Vec<usize> {
    let mut counts: Vec<usize> = rows.into_iter().map(|r| r.threads).collect();
    counts.sort_unstable();
    counts.dedup();
    counts
}

/// The first row of `file` measuring `key`.
pub(crate) fn find<'a>(file: &'a ResultFile, key: &Key<'_>) -> Option<&'a Row> {
    file.rows.iter().find(|r| Key::of(r) == *key)
}

/// The valid rows of `rows` as the latency table and charts list them: by workload (in
/// order of first appearance), then threads, then p50, fastest first; rows without
/// latency figures last in their group.
pub(crate) fn by_latency(rows: &[Row]) -> Vec<&Row> {
    let workloads = distinct(rows.iter().map(|r| r.workload.as_str()));
    let mut sorted: Vec<&Row> = rows.iter().filter(|r| r.valid).collect();
    sorted.sort_by_key(|r| {
        let workload = workloads.iter().position(|w| *w == r.workload);
        let p50 = r.latency_ns.map_or(u64::MAX, |l| l.p50);
        (workload, r.threads, p50)
    });
    sorted
}

/// Facts about the whole report that every section shares.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) inputs: &'a [Input],
    /// Colour ranks of schemes, so a scheme has one colour in every chart.
    pub(crate) schemes: Ranks,
    /// Colour ranks of workloads.
    pub(crate) workloads: Ranks,
    /// Backends of all inputs in order of first appearance.
    pub(crate) backends: Vec<&'a str>,
    /// Per workload, which of the [`MEASURE_PARAMS`] its rows differ in, across all
    /// inputs: those a label must show to tell its measurements apart.
    varying: Vec<(&'a str, [bool; MEASURE_PARAMS.len()])>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(inputs: &'a [Input]) -> Context<'a> {
        let rows = || inputs.iter().flat_map(|i| &i.file.rows);
        Context {
            inputs,
            schemes: Ranks::of(rows().map(|r| r.scheme.as_str())),
            workloads: Ranks::of(rows().map(|r| r.workload.as_str())),
            backends: distinct(rows().map(|r| r.backend.as_str())),
            varying: varying(rows()),
        }
    }

    /// The workload of `key` as a table or chart shows it: its name, then `(Zipf s =
    /// 0.99)` for Zipf keys, and any other parameter the workload's rows differ in,
    /// `(Zipf s = 0.99, keys = 1000)`. So two measurements of one workload never share a
    /// label.
    pub(crate) fn workload_label(&self, key: &Key<'_>) -> String {
        let varying = self
            .varying
            .iter()
            .find(|(w, _)| *w == key.workload)
            .map_or([false; MEASURE_PARAMS.len()], |(_, v)| *v);
        let shown: Vec<String> = MEASURE_PARAMS
            .iter()
            .zip(key.params)
            .enumerate()
            .filter(|(index, _)| *index == 0 || varying[*index])
            .filter_map(|(_, ((_, label), bits))| {
                bits.map(|b| format!("{label} = {}", f64::from_bits(b)))
            })
            .collect();
        if shown.is_empty() {
            key.workload.to_owned()
        } else {
            format!("{} ({})", key.workload, shown.join(", "))
        }
    }

    /// The short tag of input `index` used in legends and column heads: `[1]`, `[2]`.
    pub(crate) fn tag(index: usize) -> String {
        format!("[{}]", index + 1)
    }

    /// Every measurement in any input: backends in order of first appearance, then
    /// workloads in order of first appearance, then parameters (a set's keys and their
    /// distribution, a graph's size) in order of first appearance, then thread counts
    /// ascending.
    pub(crate) fn keys(&self) -> Vec<Key<'a>> {
        let rows: Vec<&'a Row> = self.inputs.iter().flat_map(|i| &i.file.rows).collect();
        let workloads = distinct(rows.iter().map(|r| r.workload.as_str()));
        let mut settings: Vec<Params> = Vec::new();
        for row in &rows {
            let seen = params(row);
            if !settings.contains(&seen) {
                settings.push(seen);
            }
        }
        let rank = |list: &[&str], name: &str| list.iter().position(|n| *n == name);
        let mut keys: Vec<Key<'a>> = Vec::new();
        for row in rows {
            let key = Key::of(row);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys.sort_by_key(|k| {
            (
                rank(&self.backends, k.backend),
                rank(&workloads, k.workload),
                settings.iter().position(|p| *p == k.params),
                k.threads,
            )
        });
        keys
    }
}

/// Per workload (in order of first appearance), which [`MEASURE_PARAMS`] its rows give
/// different values. A row without the parameter does not count: a container's row has
/// no key range where a set's row of the same workload has one, and its backend already
/// tells them apart.
fn varying<'a>(
    rows: impl Iterator<Item = &'a Row>,
) -> Vec<(&'a str, [bool; MEASURE_PARAMS.len()])> {
    let mut first: Vec<(&'a str, Params, [bool; MEASURE_PARAMS.len()])> = Vec::new();
    for row in rows {
        let seen = params(row);
        match first.iter_mut().find(|(w, _, _)| *w == row.workload) {
            Some((_, known, varies)) => {
                for (index, value) in seen.iter().enumerate() {
                    match (known[index], value) {
                        (Some(a), Some(b)) => varies[index] |= a != *b,
                        (None, Some(_)) => known[index] = *value,
                        (_, None) => {}
                    }
                }
            }
            None => first.push((&row.workload, seen, [false; MEASURE_PARAMS.len()])),
        }
    }
    first.into_iter().map(|(w, _, v)| (w, v)).collect()
}

/// Rows drawn in one chart: a structure's schemes side by side, or, for structures
/// with a single scheme (locks, channels), those structures' backends together.
#[derive(Debug)]
pub(crate) struct Group<'a> {
    /// The structure, or "other structures" for the pooled ones.
    pub(crate) title: String,
    /// Whether lines are schemes (a structure's group) or backends (pooled).
    pub(crate) by_scheme: bool,
    pub(crate) rows: Vec<&'a Row>,
}

impl Group<'_> {
    /// The name of `row`'s line in this group's chart.
    pub(crate) fn series_name<'r>(&self, row: &'r Row) -> &'r str {
        if self.by_scheme {
            &row.scheme
        } else {
            &row.backend
        }
    }
}

/// Splits `rows` (one workload's) into chart groups, in order of first appearance.
pub(crate) fn structure_groups<'a>(rows: &[&'a Row]) -> Vec<Group<'a>> {
    let structures = distinct(rows.iter().map(|r| r.structure.as_str()));
    let mut groups = Vec::new();
    let mut pooled: Vec<&'a Row> = Vec::new();
    for structure in structures {
        let members: Vec<&'a Row> = rows
            .iter()
            .copied()
            .filter(|r| r.structure == structure)
            .collect();
        let schemes = distinct(members.iter().map(|r| r.scheme.as_str()));
        if schemes.len() > 1 {
            groups.push(Group {
                title: structure.to_owned(),
                by_scheme: true,
                rows: members,
            });
        } else {
            pooled.extend(members);
        }
    }
    if !pooled.is_empty() {
        groups.push(Group {
            title: "other structures".to_owned(),
            by_scheme: false,
            rows: pooled,
        });
    }
    groups
}
