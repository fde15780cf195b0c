//! The comparison of result files: the same measurement (backend, workload, thread
//! count, and the parameters that change what a row measures: a set's keys, their
//! distribution and its mix, a graph's size; see `data::Key`) side by side
//! across files, as a ratio to the first file, and each file's own ratio of the row to
//! its reference.
//!
//! Across files nothing is paired (two machines do not share rounds), so the ratio of
//! two medians gets the interval that their two 95% intervals bound: from the lowest
//! to the highest quotient of their ends. Both intervals hold their medians with
//! probability 0.95 each, so this one holds the ratio with at least 0.95² ≈ 90%; where
//! it contains 1, the two are within noise of each other. Each file's ratio to its
//! reference was paired by round on its own machine, so it keeps its 95% interval: and
//! since a machine's quirks slow a row and its reference alike, those ratios transfer
//! between machines better than absolute throughput does.
//!
//! [`lines`] is the one model of a comparison; the terminal table here and the HTML
//! table in the report both print it, so they always agree.

use std::fmt::Write as _;

use reclaim_results::Row;

use crate::Input;
use crate::data::{self, Context, Key};
use crate::format::{self, MISSING};

/// Counters shown next to throughput in the terminal, with their short column names:
/// work per operation and cache misses per operation explain most throughput gaps
/// between machines.
const TEXT_COUNTERS: [(&str, &str); 2] =
    [("instructions", "instr/op"), ("cache-misses", "miss/op")];

/// One measurement across the inputs.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    pub(crate) key: Key<'a>,
    /// The workload as the tables show it ([`Context::workload_label`]).
    pub(crate) workload: String,
    /// One cell per input, in input order.
    pub(crate) cells: Vec<Cell<'a>>,
}

/// One input's side of a [`Line`].
#[derive(Debug)]
pub(crate) struct Cell<'a> {
    /// The input's row for this measurement, valid or not.
    pub(crate) row: Option<&'a Row>,
    /// The median ops/s if the row is valid.
    pub(crate) median: Option<f64>,
    /// `median` divided by the first input's median, when both exist.
    pub(crate) ratio: Option<f64>,
    /// The interval of `ratio` from the two medians' 95% intervals (at least 90%), when
    /// both have one.
    pub(crate) ratio_interval: Option<[f64; 2]>,
}

impl Cell<'_> {
    /// Whether the interval of the ratio to the first input contains 1.
    pub(crate) fn within_noise(&self) -> bool {
        self.ratio_interval
            .is_some_and(|[low, high]| low <= 1.0 && 1.0 <= high)
    }

    /// The cross-input ratio for a table: `–`, `≈1.03×` within noise, `0.52×` otherwise.
    pub(crate) fn ratio_text(&self) -> String {
        match self.ratio {
            None => MISSING.to_owned(),
            Some(r) if self.within_noise() => format!("≈{}", format::ratio(r)),
            Some(r) => format::ratio(r),
        }
    }

    /// The median with the half-width of its 95% interval, `~` in front where the row
    /// was flagged noisy: `14M ±4.2%`, `~9.1M ±23.0%`.
    pub(crate) fn median_text(&self) -> String {
        let Some(median) = self.median else {
            return MISSING.to_owned();
        };
        let noisy = if self.row.is_some_and(|r| r.noisy.is_some()) {
            "~"
        } else {
            ""
        };
        let width = self
            .row
            .and_then(|r| r.ops_per_sec)
            .and_then(|s| s.ci_half_width_pct());
        match width {
            Some(w) => format!(
                "{noisy}{} {}",
                format::si(median),
                format::plus_minus_pct(w)
            ),
            None => format!("{noisy}{}", format::si(median)),
        }
    }
}

/// The 95% interval of a valid row's median.
fn interval(row: Option<&Row>) -> Option<[f64; 2]> {
    row.filter(|r| r.valid)?.ops_per_sec?.ci95
}

/// Every measurement present in any input.
pub(crate) fn lines<'a>(ctx: &Context<'a>) -> Vec<Line<'a>> {
    ctx.keys()
        .into_iter()
        .map(|key| {
            let rows: Vec<Option<&'a Row>> = ctx
                .inputs
                .iter()
                .map(|i| data::find(&i.file, &key))
                .collect();
            let first = rows.first().copied().flatten().and_then(data::median);
            let first_interval = interval(rows.first().copied().flatten());
            let cells = rows
                .into_iter()
                .map(|row| {
                    let median = row.and_then(data::median);
                    let ratio = median
                        .zip(first)
                        .map(|(m, f)| m / f)
                        .filter(|r| r.is_finite());
                    let ratio_interval = interval(row)
                        .zip(first_interval)
                        .map(|([low, high], [f_low, f_high])| [low / f_high, high / f_low])
                        .filter(|[low, high]| low.is_finite() && high.is_finite());
                    Cell {
                        row,
                        median,
                        ratio: ratio.filter(|_| ratio.is_some()),
                        ratio_interval: ratio.and(ratio_interval),
                    }
                })
                .collect();
            Line {
                workload: ctx.workload_label(&key),
                key,
                cells,
            }
        })
        .collect()
}

/// The comparison as an aligned plain-text table, with a line of metadata per input.
pub(crate) fn text(inputs: &[Input]) -> String {
    if inputs.is_empty() {
        return "no result files given\n".to_owned();
    }
    let ctx = Context::new(inputs);
    let mut out = inputs_text(inputs);
    let counters = counter_columns(inputs);
    let lines = lines(&ctx);
    if lines.is_empty() {
        out.push_str("no rows in any input\n");
    } else {
        let head = text_header(inputs.len(), &counters);
        let table: Vec<Vec<String>> = lines
            .iter()
            .map(|line| text_line(line, &counters))
            .collect();
        out.push_str(&format::table(&head, 2..usize::MAX, &table));
        out.push_str(
            "\nops/s: median ±half-width of its 95% interval, ~ where the row was flagged noisy \
             (its `noisy` field says why). [n]/[1]: ≈ where the two \
             intervals leave the ratio within noise (an interval of at least 90%, from the \
             two 95% ones). vs ref: each file's own ratio to the row's reference, paired by \
             round on its machine (≈ within noise, ? no interval): ratios transfer between \
             machines better than ops/s.\n",
        );
    }
    out.push_str(&invalid_text(&lines));
    for index in 1..inputs.len() {
        if let Some(text) = agreement(&lines, index) {
            out.push_str(&text);
        }
    }
    out
}

/// `inputs:` and a line per input: its tag, label, machine and build, with a warning
/// where its timings say little.
fn inputs_text(inputs: &[Input]) -> String {
    let mut out = String::from("inputs:\n");
    for (index, input) in inputs.iter().enumerate() {
        let m = &input.file.metadata;
        let debug = if m.profile == "debug" {
            "  WARNING: debug build, numbers are not meaningful"
        } else if m.emulation.is_some() {
            "  WARNING: run under emulation, timings are not meaningful"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} {}: {}, {} hardware threads, {}, {} profile{debug}",
            Context::tag(index),
            input.label,
            m.cpu_model,
            m.cores,
            m.target,
            m.profile
        );
    }
    out.push('\n');
    out
}

/// A counter column of the terminal table: one of [`TEXT_COUNTERS`] for one input.
struct CounterColumn {
    /// The input, by index.
    input: usize,
    /// The counter's name in the rows.
    name: &'static str,
    /// The column's name.
    short: &'static str,
}

/// A column for each of [`TEXT_COUNTERS`] in each input that has it in any row.
fn counter_columns(inputs: &[Input]) -> Vec<CounterColumn> {
    inputs
        .iter()
        .enumerate()
        .flat_map(|(index, input)| {
            TEXT_COUNTERS.iter().filter_map(move |&(name, short)| {
                let present = input
                    .file
                    .rows
                    .iter()
                    .any(|r| r.counters.get(name).copied().flatten().is_some());
                present.then_some(CounterColumn {
                    input: index,
                    name,
                    short,
                })
            })
        })
        .collect()
}

/// The header: the key, then each input's ops/s and its ratio to the first input, each
/// input's ratio to its reference, and the counter columns.
fn text_header(inputs: usize, counters: &[CounterColumn]) -> Vec<String> {
    let mut head = vec![
        "backend".to_owned(),
        "workload".to_owned(),
        "threads".to_owned(),
    ];
    for index in 0..inputs {
        head.push(format!("{} ops/s", Context::tag(index)));
        if index > 0 {
            head.push(format!("{}/{}", Context::tag(index), Context::tag(0)));
        }
    }
    for index in 0..inputs {
        head.push(format!("{} vs ref", Context::tag(index)));
    }
    for column in counters {
        head.push(format!("{} {}", Context::tag(column.input), column.short));
    }
    head
}

/// One measurement's cells, in the order of [`text_header`].
fn text_line(line: &Line<'_>, counters: &[CounterColumn]) -> Vec<String> {
    let mut cells = vec![
        line.key.backend.to_owned(),
        line.workload.clone(),
        line.key.threads.to_string(),
    ];
    for (index, cell) in line.cells.iter().enumerate() {
        cells.push(cell.median_text());
        if index > 0 {
            cells.push(cell.ratio_text());
        }
    }
    for cell in &line.cells {
        cells.push(match cell.row {
            Some(row) if row.valid => format::ratio_cell(row),
            _ => MISSING.to_owned(),
        });
    }
    for column in counters {
        let value = line.cells[column.input]
            .row
            .filter(|r| r.valid)
            .and_then(|r| r.counter_per_op(column.name));
        cells.push(value.map_or_else(|| MISSING.to_owned(), format::per_op));
    }
    cells
}

/// The invalid rows, by input and why, under a heading; empty where there are none.
fn invalid_text(lines: &[Line<'_>]) -> String {
    let mut out = String::new();
    for line in lines {
        for (index, cell) in line.cells.iter().enumerate() {
            if let Some(row) = cell.row.filter(|r| !r.valid) {
                let _ = writeln!(
                    out,
                    "  {} {} {} {}: {}",
                    Context::tag(index),
                    row.backend,
                    row.workload,
                    row.threads,
                    row.error.as_deref().unwrap_or("no reason recorded")
                );
            }
        }
    }
    if out.is_empty() {
        return out;
    }
    format!("\ninvalid rows (shown as –):\n{out}")
}

/// How far input `index`'s ratios to their references agree with the first input's: the
/// question two runs of one machine answer (do they reproduce?), and a check of how far
/// ratios carry between two machines. Rows that are their own reference are left out.
fn agreement(lines: &[Line<'_>], index: usize) -> Option<String> {
    let ratio = |cell: &Cell<'_>| {
        let row = cell.row.filter(|r| r.valid)?;
        let ratio = row.ratio.as_ref().filter(|r| r.reference != row.backend)?;
        Some((ratio.median, row.noisy.is_some()))
    };
    let pairs: Vec<(&Line<'_>, f64, bool)> = lines
        .iter()
        .filter_map(|line| {
            let (first, first_noisy) = ratio(line.cells.first()?)?;
            let (other, other_noisy) = ratio(line.cells.get(index)?)?;
            Some((line, other / first - 1.0, first_noisy || other_noisy))
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let within = |pct: f64| {
        pairs
            .iter()
            .filter(|(_, d, _)| d.abs() * 100.0 <= pct)
            .count()
    };
    let mut out = format!(
        "\nratios to the reference, {} against {}: {} rows; within ±5%: {}, within ±10%: {}\n",
        Context::tag(index),
        Context::tag(0),
        pairs.len(),
        within(5.0),
        within(10.0),
    );
    let unflagged: Vec<String> = pairs
        .iter()
        .filter(|(_, d, noisy)| d.abs() > 0.10 && !noisy)
        .map(|(line, d, _)| {
            format!(
                "{} {} {} ({:+.0}%)",
                line.key.backend,
                line.workload.clone(),
                line.key.threads,
                d * 100.0
            )
        })
        .collect();
    if !unflagged.is_empty() {
        let _ = writeln!(
            out,
            "  apart by more than 10% and flagged noisy in neither: {}",
            unflagged.join(", ")
        );
    }
    Some(out)
}
