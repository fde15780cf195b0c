//! The page: one self-contained HTML file, readable offline and on a phone.
//!
//! No JavaScript and nothing fetched: styles are inline, charts are inline SVG, so the
//! file can be mailed, attached to an issue or opened from a Raspberry Pi's SD card
//! years later and look the same. Every string from a result file is escaped.
//!
//! Sections, in reading order: what ran where, the ranking of each comparison group by
//! its paired ratios, throughput against threads, the price of reclamation (ratio to
//! `leak`), memory and garbage over time, the graph family (its own throughput, the
//! collections' pauses, what was left unfreed), latency, counters,
//! invalid rows, the comparison of files, then a section per backend.

mod backends;
mod comparison;
mod graph;
mod ranking;
mod tables;
mod throughput;
mod timeline;
mod tuning;

use std::fmt::Write as _;
use std::ops::Range;

use reclaim_results::ResultFile;

use crate::Input;
use crate::data::Context;
use crate::escape::html;
use crate::format::{self, MISSING};

/// The whole report for `inputs`.
pub(crate) fn page(inputs: &[Input]) -> String {
    let ctx = Context::new(inputs);
    let mut out = String::with_capacity(1 << 20);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", html(&title(inputs)));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(out, "<header>\n<h1>{}</h1>", html(&title(inputs)));
    out.push_str(&header(inputs));
    out.push_str(HOW_TO_READ);
    out.push_str("</header>\n");
    if inputs.is_empty() {
        out.push_str("<p class=\"note\">No result files were given: nothing to report.</p>\n");
        out.push_str("</body>\n</html>\n");
        return out;
    }
    let mut sections: Vec<(&str, &str, String)> = vec![
        ("ranking", "Ranking", ranking::section(&ctx)),
        ("throughput", "Throughput", throughput::section(&ctx)),
        (
            "ratio",
            "Cost of reclamation",
            throughput::ratio_section(&ctx),
        ),
        (
            "memory",
            "Memory and garbage over time",
            timeline::section(&ctx),
        ),
    ];
    if graph::any(&ctx) {
        sections.push(("graphs", "Graphs", graph::section(&ctx)));
    }
    sections.extend([
        ("latency", "Latency", tables::latency(&ctx)),
        ("counters", "Counters", tables::counters(&ctx)),
        ("invalid", "Invalid rows", tables::invalid(&ctx)),
    ]);
    let tuning = tuning::section(&ctx);
    if !tuning.is_empty() {
        sections.push(("tuning", "Scheme knobs", tuning));
    }
    if inputs.len() > 1 {
        sections.push((
            "comparison",
            "Comparison of inputs",
            comparison::section(&ctx),
        ));
    }
    sections.push(("backends", "Backends", backends::section(&ctx)));
    sections.push(("rows", "All rows", tables::all_rows(&ctx)));

    out.push_str("<nav>");
    for (id, name, _) in &sections {
        let _ = write!(out, "<a href=\"#{id}\">{name}</a> ");
    }
    out.push_str("</nav>\n");
    for (id, name, body) in &sections {
        let _ = writeln!(
            out,
            "<section id=\"{id}\">\n<h2>{name}</h2>\n{body}</section>"
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn title(inputs: &[Input]) -> String {
    match inputs {
        [] => "reclaim-bench report".to_owned(),
        [one] => format!("reclaim-bench report: {}", one.label),
        many => format!("reclaim-bench comparison of {} runs", many.len()),
    }
}

const HOW_TO_READ: &str = "<div class=\"how\"><h2>How to read this</h2><p>\
<b>ops/s</b> counts completed operations, pushes plus pops (for sets: contains, inserts \
and removes, found or not), per second of wall time. \
The rows of a comparison group (a workload at a thread count) are measured in \
<b>rounds</b>: each round runs every row once, in a shuffled order, so a slow moment of \
the machine slows them all. Each point is the <b>median over the rounds</b>, and the \
shaded band (or whisker) is its 95% confidence interval (the slowest to the fastest \
repeat in files without one). <b>Ratios</b> to a reference are taken round by round and \
carry their own 95% interval; where it contains 1 the report says <i>within noise</i>: \
no difference the measurement can claim. Axes switch to a log scale when values span more than \
tenfold; tick labels always show real values. \
<b>Ratio to leak</b> divides a scheme's median by the <code>leak</code> scheme's on the \
same structure, workload and thread count: <code>leak</code> never frees, so the ratio is \
what reclamation costs. Memory is live heap above what was live before the run. \
Graph rows (an operation replaces a subgraph; the strategies are reference counting, \
cycle collectors and tracing collectors) are measured apart and read in their own \
section, with the pauses of their collections. \
Invalid rows (a failed check) are listed in their own table and never plotted; numbers \
that are unavailable show as “–” or “unsupported”, never as 0.</p></div>\n";

/// One card of metadata per input, with warnings for numbers that mean little.
fn header(inputs: &[Input]) -> String {
    let mut out = String::from("<div class=\"inputs\">\n");
    for (index, input) in inputs.iter().enumerate() {
        out.push_str(&input_card(index, input));
    }
    out.push_str("</div>\n");
    for (index, input) in inputs.iter().enumerate() {
        let tag = Context::tag(index);
        if input.file.metadata.profile == "debug" {
            let _ = writeln!(
                out,
                "<p class=\"warning\"><b>Debug build:</b> {tag} {} was built with the \
                 <code>debug</code> profile. Its numbers say little about real performance; \
                 build with <code>--release</code>.</p>",
                html(&input.label)
            );
        }
        if let Some(emulation) = &input.file.metadata.emulation {
            let _ = writeln!(
                out,
                "<p class=\"warning\"><b>Emulated:</b> {tag} {} ran under emulation: {}. \
                 Read it for correctness (every row still checked itself), not for speed.</p>",
                html(&input.label),
                html(emulation)
            );
        }
        if !input.file.settings.instrumented {
            let _ = writeln!(
                out,
                "<p class=\"warning\">{tag} {} ran without instrumentation: it has no \
                 memory, garbage, latency or counter figures.</p>",
                html(&input.label)
            );
        }
    }
    out
}

fn input_card(index: usize, input: &Input) -> String {
    let ResultFile {
        metadata: m,
        settings: s,
        ..
    } = &input.file;
    let profile = if m.profile == "debug" {
        format!("<span class=\"bad\">{} ⚠</span>", html(&m.profile))
    } else {
        html(&m.profile)
    };
    let fields = [
        ("host", html(&m.host)),
        (
            "cpu",
            format!("{} ({} hardware threads)", html(&m.cpu_model), m.cores),
        ),
        ("kernel", html(&m.kernel)),
        (
            "load at start",
            m.load_average
                .map_or_else(missing, |l| format!("{l:.2} (1-minute average)")),
        ),
        ("governor", m.governor.as_deref().map_or_else(missing, html)),
        (
            "scratch",
            match (&m.scratch_dir, &m.scratch_fs) {
                (Some(dir), Some(fs)) if matches!(fs.as_str(), "tmpfs" | "ramfs") => format!(
                    "<code>{}</code> on <span class=\"bad\">{} (in memory: the disk rows \
                     measure RAM)</span>",
                    html(dir),
                    html(fs)
                ),
                (Some(dir), Some(fs)) => format!("<code>{}</code> on {}", html(dir), html(fs)),
                (Some(dir), None) => format!("<code>{}</code>", html(dir)),
                (None, _) => missing(),
            },
        ),
        (
            "target",
            match &m.emulation {
                Some(_) => format!("{} <span class=\"bad\">emulated ⚠</span>", html(&m.target)),
                None => html(&m.target),
            },
        ),
        ("rustc", html(&m.rustc)),
        ("commit", format!("<code>{}</code>", html(&m.git_sha))),
        ("profile", profile),
        ("harness", html(&m.harness_version)),
        ("started", html(&m.started_at)),
        ("suite", html(&s.suite)),
        (
            "rounds",
            match (s.ci_target_pct, s.max_time_s) {
                (Some(target), Some(cap)) => format!(
                    "at least {} × {} ms, until intervals are within ±{target}% (cap {cap} s)",
                    s.repeats, s.duration_ms
                ),
                _ => format!("{} × {} ms", s.repeats, s.duration_ms),
            },
        ),
        (
            "instrumented",
            if s.instrumented {
                format!(
                    "yes (samples every {} ms; 1 op timed per {}-iteration batch, at random)",
                    s.sample_interval_ms, s.latency_sample_every
                )
            } else {
                "no".to_owned()
            },
        ),
        ("in flight", format!("at most {}", s.max_in_flight)),
        (
            "placement",
            match s.pinned {
                Some(true) => "workers pinned, one per CPU (round-robin beyond)".to_owned(),
                Some(false) => "workers placed by the scheduler".to_owned(),
                None => missing(),
            },
        ),
        ("rows", input.file.rows.len().to_string()),
        ("command", format!("<code>{}</code>", html(&m.command))),
    ];
    let mut out = format!(
        "<div class=\"input\"><h3>{} {}</h3>\n<dl>",
        Context::tag(index),
        html(&input.label)
    );
    for (name, value) in fields {
        let _ = write!(out, "<dt>{name}</dt><dd>{value}</dd>");
    }
    out.push_str("</dl></div>\n");
    out
}

/// `body(index, input)` for each input, under a heading naming the input when there
/// is more than one.
fn per_input(ctx: &Context<'_>, mut body: impl FnMut(usize, &Input) -> String) -> String {
    let mut out = String::new();
    for (index, input) in ctx.inputs.iter().enumerate() {
        if ctx.inputs.len() > 1 {
            let _ = writeln!(
                out,
                "<h3 class=\"input-heading\">{} {}</h3>",
                Context::tag(index),
                html(&input.label)
            );
        }
        out.push_str(&body(index, input));
    }
    out
}

/// A table. `head` and the cells are HTML (escape text first); the columns in
/// `numeric` are right-aligned numbers.
fn table(head: &[String], numeric: Range<usize>, rows: &[Vec<String>]) -> String {
    let align = |i: usize| {
        if numeric.contains(&i) {
            " class=\"num\""
        } else {
            ""
        }
    };
    let mut out = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for (i, cell) in head.iter().enumerate() {
        let _ = write!(out, "<th{}>{cell}</th>", align(i));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(out, "<td{}>{cell}</td>", align(i));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    out
}

/// Column heads from plain text.
fn heads(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| html(n)).collect()
}

/// A cell for a possibly absent number.
fn number(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    match value.filter(|v| v.is_finite()) {
        Some(v) => show(v),
        None => missing(),
    }
}

fn missing() -> String {
    format!("<span class=\"missing\">{MISSING}</span>")
}

/// A ratio cell, shaded by how far it is from 1, with the numbers behind it in its
/// tooltip.
fn ratio_cell(ratio: Option<f64>, tooltip: &str) -> String {
    let Some(r) = ratio.filter(|r| r.is_finite()) else {
        return missing();
    };
    format!(
        "<span class=\"{}\" title=\"{}\">{}</span>",
        ratio_class(r),
        html(tooltip),
        format::ratio(r)
    )
}

/// The shade of a finite ratio `r`: by how far it is from 1.
fn ratio_class(r: f64) -> &'static str {
    if r < 0.5 {
        "ratio-low"
    } else if r < 0.9 {
        "ratio-mid"
    } else if r > 1.1 {
        "ratio-high"
    } else {
        "ratio-even"
    }
}

/// A grid of charts.
fn charts(svgs: impl IntoIterator<Item = String>) -> String {
    grid("charts", svgs)
}

/// A grid of small multiples, several to a row.
fn charts_small(svgs: impl IntoIterator<Item = String>) -> String {
    grid("charts small", svgs)
}

fn grid(class: &str, svgs: impl IntoIterator<Item = String>) -> String {
    let mut out = format!("<div class=\"{class}\">\n");
    for svg in svgs {
        out.push_str(&svg);
    }
    out.push_str("</div>\n");
    out
}

const CSS: &str = r#"
:root { --ink: #222; --muted: #666; --rule: #d8dce2; --band: #f5f6f8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); margin: 0 auto; max-width: 1600px; padding: 12px 24px 48px; }
h1 { font-size: 24px; margin: 8px 0 12px; }
h2 { font-size: 20px; border-bottom: 2px solid var(--rule); padding-bottom: 4px; margin: 36px 0 12px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
h4 { font-size: 14px; margin: 16px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
code { font-size: 13px; background: var(--band); padding: 0 3px; border-radius: 3px; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--rule); padding: 6px 0; z-index: 2; }
nav a { margin-right: 14px; color: #2a5d9f; text-decoration: none; }
.how h2 { font-size: 16px; border: 0; margin: 16px 0 4px; }
.how p { max-width: 1100px; margin: 0; }
.inputs { display: flex; flex-wrap: wrap; gap: 12px; }
.input { flex: 1 1 420px; border: 1px solid var(--rule); border-radius: 6px; padding: 8px 14px; background: var(--band); }
.input h3 { margin: 4px 0 6px; }
.input dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 14px; margin: 0; }
.input dt { color: var(--muted); }
.input dd { margin: 0; overflow-wrap: anywhere; }
.warning { background: #fff3e0; border-left: 4px solid #e67e22; padding: 6px 12px; margin: 10px 0; }
.bad { color: #b3261e; font-weight: bold; }
.expected { color: var(--muted); }
dl.columns { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 13px; max-width: 1100px; }
dl.columns dt { font-weight: 600; }
dl.columns dd { margin: 0; color: var(--muted); }
.noisy { color: #8a5a00; font-size: 0.9em; }
.note { color: var(--muted); font-size: 13px; max-width: 1100px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(620px, 1fr)); gap: 14px 22px; align-items: start; }
svg.chart { display: block; width: 100%; height: auto; max-width: 780px; border: 1px solid #eceef1; border-radius: 4px; background: #fff; }
.charts.small { grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 10px 14px; }
.charts.small svg.chart { max-width: 440px; }
.panel-title { font-weight: 600; margin: 14px 0 6px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0 14px; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eceef1; text-align: left; white-space: nowrap; }
th { background: var(--band); font-weight: 600; }
.num { text-align: right; }
tbody tr:hover td { background: #f7f9fc; }
td small { color: var(--muted); }
.missing { color: #999; }
.unsupported { color: #9a5b00; font-style: italic; text-decoration: underline dotted; cursor: help; }
.error { color: #b3261e; white-space: normal; min-width: 300px; }
.ratio-low, .ratio-mid, .ratio-even, .ratio-high { display: inline-block; min-width: 52px; padding: 0 5px; border-radius: 3px; text-align: right; }
.ratio-low { background: #f6c9c5; }
.ratio-mid { background: #fce3c4; }
.ratio-high { background: #cfe9c8; }
section.backend { border-top: 1px solid var(--rule); padding-top: 4px; margin-top: 26px; }
section.backend h3 { font-size: 17px; }
.meta { color: var(--muted); margin: 0 0 8px; }
details summary { cursor: pointer; color: #2a5d9f; margin: 6px 0; }
ol.footnotes { font-size: 13px; color: var(--muted); }
"#;
