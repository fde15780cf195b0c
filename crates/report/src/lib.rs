//! The HTML report and the cross-machine comparison of reclaim-bench result files.
//!
//! The harness writes one [`ResultFile`] per run. This crate reads any number of them
//! and answers two questions a person asks of benchmark numbers:
//!
//! - *What happened in this run?* [`render_html`] writes one self-contained page
//!   (inline CSS and SVG, no JavaScript, nothing fetched) with throughput against
//!   threads per structure and scheme, the cost of each scheme relative to `leak`
//!   (which never frees), memory and garbage over time where a thread stalls or
//!   objects change hands, latency percentiles, hardware counters, and the rows that
//!   failed their checks, which are listed and never plotted. The graph family (rows of
//!   structure `graph`) is read apart: its throughput and paired ratios, the pauses of
//!   its collections, what each strategy left unfreed (a leak flagged where the strategy
//!   should have freed everything), and its memory and garbage over time.
//! - *How do two runs differ?* Given several files (a laptop and a Raspberry Pi, or two
//!   commits), the page and [`compare_text`] put the same backend × workload × threads
//!   side by side with the ratio to the first file.
//!
//! Absent numbers stay absent: an invalid row, a missing row or an unsupported counter
//! shows as "–" or "unsupported", never as 0.

mod chart;
mod compare;
mod data;
mod escape;
mod html;

/// The number formats and the text table, shared with the terminal output of the binary:
/// [`reclaim_results::format`].
pub use reclaim_results::format;

use std::path::Path;

use reclaim_results::{ResultFile, Tuning};

/// A result file and the name it goes by in the report.
#[derive(Clone, Debug)]
pub struct Input {
    /// A short name telling this file apart from the others (see [`label_for`], and
    /// [`labels_for`] for several files).
    pub label: String,
    /// The file as loaded.
    pub file: ResultFile,
}

/// A short label for `file` that tells machines and commits apart:
/// `"host target @sha7"` (the commit cut to seven characters, `-dirty` kept).
pub fn label_for(file: &ResultFile) -> String {
    let m = &file.metadata;
    let sha = match m.git_sha.strip_suffix("-dirty") {
        Some(clean) => format!("{}-dirty", short_sha(clean)),
        None => short_sha(&m.git_sha).to_owned(),
    };
    format!("{} {} @{sha}", m.host, m.target)
}

/// Labels for result files, each given with the path it was read from, told apart:
/// [`label_for`] of each; where files would read the same (two runs on one machine and
/// commit), each gets its run's start time, then, where that is shared too, the stem of
/// the file it was read from, then its whole path. A step is taken only where it tells
/// the files apart: one file given twice keeps one label.
pub fn labels_for(files: &[(&Path, &ResultFile)]) -> Vec<String> {
    type Step = fn(&Path, &ResultFile) -> String;
    let steps: [Step; 3] = [
        |_, file| file.metadata.started_at.clone(),
        |path, _| {
            path.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        },
        |path, _| path.display().to_string(),
    ];
    let mut labels: Vec<String> = files.iter().map(|(_, file)| label_for(file)).collect();
    for step in steps {
        let values: Vec<String> = files.iter().map(|(path, file)| step(path, file)).collect();
        let before = labels.clone();
        for (i, label) in labels.iter_mut().enumerate() {
            let same: Vec<usize> = (0..files.len())
                .filter(|&j| before[j] == before[i])
                .collect();
            if same.iter().any(|&j| values[j] != values[i]) {
                *label = format!("{label} · {}", values[i]);
            }
        }
    }
    labels
}

fn short_sha(sha: &str) -> &str {
    let is_hex = sha.chars().all(|c| c.is_ascii_hexdigit());
    match sha.char_indices().nth(7) {
        Some((cut, _)) if is_hex => &sha[..cut],
        _ => sha,
    }
}

/// The report for `inputs` as one self-contained HTML page.
///
/// With one input it describes that run; with several, it adds a comparison of the
/// inputs and a chart per backend with the inputs side by side. Never panics on odd
/// data: empty inputs, rows without numbers, a single thread count and values that a
/// log axis cannot show all render as notes or empty charts.
pub fn render_html(inputs: &[Input]) -> String {
    html::page(&split_inputs(inputs))
}

/// A plain-text table for the terminal: for every backend × workload × threads in any
/// input, the median ops/s of each input and its ratio to the first ("0.52×"), "–"
/// where a row is missing or invalid; instructions and cache misses per operation when
/// the files have them; and a line per input saying what machine it came from.
pub fn compare_text(inputs: &[Input]) -> String {
    compare::text(&split_inputs(inputs))
}

/// `inputs`, with each file split where its rows measure the same backends under
/// different conditions, so that the report and the comparison show those side by side
/// the way they show machines (one column each, ratios to the first):
///
/// - rows on several allocators (`run --allocator`): one input per allocator, labelled
///   `… · jemalloc`, in the order the allocators first appear;
/// - rows that set a scheme knob (`run --scheme-setting`): one input per value, labelled
///   `… · batch-size=8`, each with the rows at that value and the file's rows at the
///   defaults (the references they were measured beside).
///
/// A file with neither stays as it is.
pub fn split_inputs(inputs: &[Input]) -> Vec<Input> {
    let mut split = Vec::with_capacity(inputs.len());
    for input in inputs {
        let rows = &input.file.rows;
        let allocators = data::distinct(rows.iter().map(|r| r.allocator.as_str()));
        let mut tunings: Vec<&Tuning> = Vec::new();
        for tuning in rows.iter().filter_map(|r| r.tuning.as_ref()) {
            if !tunings.contains(&tuning) {
                tunings.push(tuning);
            }
        }
        if allocators.len() < 2 && tunings.is_empty() {
            split.push(input.clone());
            continue;
        }
        let values: Vec<Option<&Tuning>> = if tunings.is_empty() {
            vec![None]
        } else {
            tunings.iter().copied().map(Some).collect()
        };
        for &allocator in &allocators {
            for &value in &values {
                let mut file = input.file.clone();
                file.rows.retain(|r| {
                    r.allocator == allocator && (r.tuning.is_none() || r.tuning.as_ref() == value)
                });
                let mut label = input.label.clone();
                if let Some(value) = value {
                    label = format!("{label} · {value}");
                }
                if allocators.len() > 1 {
                    label = format!("{label} · {allocator}");
                }
                split.push(Input { label, file });
            }
        }
    }
    split
}

#[cfg(test)]
mod tests;
