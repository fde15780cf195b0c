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

/// What identifies a measurement across files. A set's rows over Zipf keys measure
/// something else than over uniform ones (the hot keys sit in cache, and writers meet
/// on them): a uniform row and a Zipf one, or two Zipf rows of different exponents, are
/// never the same measurement, and their workloads are labelled apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key<'a> {
    pub(crate) backend: &'a str,
    pub(crate) workload: &'a str,
    pub(crate) threads: usize,
    /// The Zipf exponent of a set's keys (`extra.zipf_s`), as its bits; `None` for
    /// uniform keys and for rows that are not sets.
    pub(crate) zipf: Option<u64>,
}

impl<'a> Key<'a> {
    pub(crate) fn of(row: &'a Row) -> Key<'a> {
        Key {
            backend: &row.backend,
            workload: &row.workload,
            threads: row.threads,
            zipf: zipf(row),
        }
    }

    /// The workload as a table shows it: its name, and `(Zipf s = 0.99)` after it for
    /// Zipf keys.
    pub(crate) fn workload_label(&self) -> String {
        match self.zipf {
            None => self.workload.to_owned(),
            Some(bits) => format!("{} (Zipf s = {})", self.workload, f64::from_bits(bits)),
        }
    }
}

/// The Zipf exponent of `row`'s keys as bits (comparable, hashable), if it has one.
pub(crate) fn zipf(row: &Row) -> Option<u64> {
    row.extra.get("zipf_s").map(|s| s.to_bits())
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
}

impl<'a> Context<'a> {
    pub(crate) fn new(inputs: &'a [Input]) -> Context<'a> {
        let rows = || inputs.iter().flat_map(|i| &i.file.rows);
        Context {
            inputs,
            schemes: Ranks::of(rows().map(|r| r.scheme.as_str())),
            workloads: Ranks::of(rows().map(|r| r.workload.as_str())),
            backends: distinct(rows().map(|r| r.backend.as_str())),
        }
    }

    /// The short tag of input `index` used in legends and column heads: `[1]`, `[2]`.
    pub(crate) fn tag(index: usize) -> String {
        format!("[{}]", index + 1)
    }

    /// Every measurement in any input: backends in order of first appearance, then
    /// workloads in order of first appearance, then key distributions (uniform or a
    /// Zipf exponent) in order of first appearance, then thread counts ascending.
    pub(crate) fn keys(&self) -> Vec<Key<'a>> {
        let rows: Vec<&'a Row> = self.inputs.iter().flat_map(|i| &i.file.rows).collect();
        let workloads = distinct(rows.iter().map(|r| r.workload.as_str()));
        let mut distributions: Vec<Option<u64>> = Vec::new();
        for row in &rows {
            if !distributions.contains(&zipf(row)) {
                distributions.push(zipf(row));
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
                distributions.iter().position(|d| *d == k.zipf),
                k.threads,
            )
        });
        keys
    }
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
