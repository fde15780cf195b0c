//! Tests of the page and the text comparison on fixture result files.

mod fixture;

use reclaim_results::{Latency, Memory, MemoryPoint, Row, Spread};

use std::path::Path;

use crate::{Input, compare_text, label_for, labels_for, render_html};

fn input(file: reclaim_results::ResultFile) -> Input {
    Input {
        label: label_for(&file),
        file,
    }
}

fn one() -> Vec<Input> {
    vec![input(fixture::laptop())]
}

fn two() -> Vec<Input> {
    vec![input(fixture::laptop()), input(fixture::board())]
}

/// The text from `start` up to and including the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)?;
    let len = text[from..].find(end)? + end.len();
    Some(&text[from..from + len])
}

/// The `<section id="…">` of the page with that id.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    between(
        html,
        &format!("<section id=\"{id}\">"),
        "</section>\n<section",
    )
    .or_else(|| between(html, &format!("<section id=\"{id}\">"), "</body>"))
    .unwrap_or_else(|| panic!("no section {id}"))
}

/// Whether the backend section of `escaped` (a backend name as HTML) holds a chart
/// marked with that backend.
fn has_backend_chart(html: &str, escaped: &str) -> bool {
    between(
        html,
        &format!("<section class=\"backend\" id=\"backend-{escaped}\">"),
        "</section>",
    )
    .is_some_and(|s| s.contains(&format!("<svg class=\"chart\" data-backend=\"{escaped}\"")))
}

#[test]
fn every_backend_has_a_chart_in_its_section() {
    for inputs in [one(), two()] {
        let html = render_html(&inputs);
        let mut backends: Vec<&str> = inputs
            .iter()
            .flat_map(|i| i.file.rows.iter().map(|r| r.backend.as_str()))
            .collect();
        backends.dedup();
        assert!(backends.len() >= 13, "the fixture has many backends");
        for backend in backends {
            assert!(has_backend_chart(&html, backend), "no chart for {backend}");
        }
        assert!(!has_backend_chart(&html, "no-such-backend"));
    }
}

#[test]
fn the_page_is_self_contained() {
    for inputs in [Vec::new(), one(), two()] {
        let html = render_html(&inputs);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        let lower = html.to_lowercase();
        for forbidden in [
            "<script", "http://", "https://", "<link", "src=", "url(", "@import", "<iframe",
        ] {
            assert!(!lower.contains(forbidden), "found {forbidden}");
        }
    }
}

#[test]
fn null_counters_read_unsupported_never_zero() {
    // One row has cache misses, the other does not: the column stays, and the null
    // cell says why it is empty.
    let mut without = fixture::row("treiber-ebr", "treiber", "ebr", "pairs", 2, 1e6);
    without.counters = [("cache-misses".to_owned(), None)].into();
    without.counter_errors = [("cache-misses".to_owned(), "no <PMU> here".to_owned())].into();
    let mut with = fixture::row("treiber-hp", "treiber", "hp", "pairs", 2, 1e6);
    with.counters = [("cache-misses".to_owned(), Some(3_000))].into();
    with.counted_ops = 1_000;
    let mut file = fixture::laptop();
    file.rows = vec![without, with];
    let html = render_html(&[input(file)]);
    let counters = section(&html, "counters");
    let null_row = between(counters, "<tr><td>treiber-ebr</td>", "</tr>").unwrap();
    assert!(
        null_row.contains(
            "<span class=\"unsupported\" title=\"no &lt;PMU&gt; here\">unsupported</span><sup>1</sup>"
        ),
        "{null_row}"
    );
    assert!(
        !null_row.contains(">0<") && !null_row.contains(">0 "),
        "{null_row}"
    );
    assert!(
        counters.contains("<li>no &lt;PMU&gt; here</li>"),
        "footnote"
    );
    let measured = between(counters, "<tr><td>treiber-hp</td>", "</tr>").unwrap();
    assert!(measured.contains(">3 <small>(3k)</small>"), "{measured}");

    // In the fixture no row has cache misses: one line says so, with the reason.
    let html = render_html(&one());
    let counters = section(&html, "counters");
    assert!(!counters.contains("cache-misses /op"));
    assert!(counters.contains(&format!(
        "Unsupported in every row: <span class=\"unsupported\" title=\"{}\">cache-misses</span>",
        crate::escape::html(fixture::MISSING_COUNTER_REASON)
    )));
    assert!(counters.contains("instructions /op"));
    assert!(
        counters.contains("task-clock ns/op"),
        "a unit where there is one"
    );
}

#[test]
fn strings_from_files_are_escaped() {
    let mut file = fixture::laptop();
    file.metadata.host = "<b>host</b>".into();
    let mut weird = fixture::row(r#"a<b&"c"#, "treiber", "ebr", "pairs", 2, 1e6);
    weird.error = Some("<script>alert(1)</script>".into());
    weird.valid = false;
    file.rows.push(weird.clone());
    weird.valid = true;
    weird.workload = "prodcons".into();
    file.rows.push(weird);
    let html = render_html(&[input(file)]);
    assert!(!html.contains(r#"a<b&"c"#));
    assert!(!html.contains("<script"));
    assert!(!html.contains("<b>host</b>"));
    assert!(html.contains("&lt;b&gt;host&lt;/b&gt;"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(has_backend_chart(&html, "a&lt;b&amp;&quot;c"));
}

#[test]
fn two_inputs_compare_with_their_ratio() {
    let html = render_html(&two());
    let comparison = section(&html, "comparison");
    // treiber-ebr pairs at 2 threads: 7.28M on the board against 14.0M on the laptop.
    let expected = format!("{:.2}×", 7.28e6 / 14.0e6);
    assert_eq!(expected, "0.52×");
    let line = between(
        comparison,
        "<tr><td>treiber-ebr</td><td>pairs</td><td class=\"num\">2</td>",
        "</tr>",
    )
    .expect("a comparison line for treiber-ebr pairs 2");
    assert!(line.contains("14M"), "{line}");
    assert!(line.contains("7.28M"), "{line}");
    assert!(line.contains(&expected), "{line}");
    // The missing row is a dash, not a number: its ops/s, its ratio and its ratio to
    // its reference; and the laptop's row has no ratio to a reference (a file without
    // rounds).
    let missing = between(
        comparison,
        "<tr><td>msqueue-hp</td><td>pairs</td><td class=\"num\">4</td>",
        "</tr>",
    )
    .unwrap();
    assert_eq!(
        missing.matches("<span class=\"missing\">–</span>").count(),
        4,
        "{missing}"
    );
    // Each backend section has the inputs side by side.
    let board = between(
        &html,
        "<section class=\"backend\" id=\"backend-treiber-ebr\">",
        "</section>",
    )
    .unwrap();
    assert!(board.contains("data-chart=\"backend-inputs\""));
}

#[test]
fn compare_text_shows_ratios_and_dashes() {
    let text = compare_text(&two());
    let line_of = |prefix: &[&str]| {
        text.lines()
            .find(|l| l.split_whitespace().take(3).eq(prefix.iter().copied()))
            .unwrap_or_else(|| panic!("no line {prefix:?} in\n{text}"))
            .to_owned()
    };
    let ebr = line_of(&["treiber-ebr", "pairs", "2"]);
    let fields: Vec<&str> = ebr.split_whitespace().collect();
    assert_eq!(&fields[3..6], ["14M", "7.28M", "0.52×"], "{ebr}");
    let gone = line_of(&["msqueue-hp", "pairs", "4"]);
    let fields: Vec<&str> = gone.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["–", "–"], "{gone}");
    let invalid = line_of(&["treiber-hp", "prodcons", "4"]);
    assert_eq!(invalid.split_whitespace().nth(3), Some("–"), "{invalid}");
    assert!(text.contains("[1] laptop x86_64-unknown-linux-gnu @0123456"));
    assert!(text.contains("Cortex-A76"));
    assert!(text.contains("[1] instr/op"), "laptop has instructions");
    assert!(!text.contains("[2] instr/op"), "the board has no counters");
    assert!(text.contains(fixture::INVALID_ERROR));
    // Columns line up: every table line has the header's width or less.
    let header = text.lines().find(|l| l.starts_with("backend")).unwrap();
    assert!(header.contains("[2]/[1]"));
}

#[test]
fn a_structure_chart_has_one_line_per_scheme() {
    let html = render_html(&one());
    let chart = between(
        &html,
        "<svg class=\"chart\" data-chart=\"throughput\" data-input=\"1\" data-workload=\"pairs\" data-group=\"msqueue\"",
        "</svg>",
    )
    .expect("the msqueue pairs chart");
    let lines = series_lines(chart);
    assert_eq!(lines, 3, "leak, ebr and hp");
    for scheme in ["leak", "ebr", "hp"] {
        assert!(
            chart.contains(&format!(">\n{scheme}\n</text>")),
            "legend for {scheme}"
        );
    }
    // treiber has five schemes.
    let treiber = between(
        &html,
        "data-workload=\"pairs\" data-group=\"treiber\"",
        "</svg>",
    )
    .unwrap();
    assert_eq!(treiber.matches("stroke-width=\"2\"").count(), 5);
}

#[test]
fn invalid_rows_are_listed() {
    let html = render_html(&one());
    let invalid = section(&html, "invalid");
    assert!(invalid.contains("treiber-hp"));
    assert!(invalid.contains(fixture::INVALID_ERROR));
    assert_eq!(invalid.matches("<tr>").count(), 2, "the head and one row");
}

#[test]
fn ratio_to_leak_is_a_dash_without_a_leak_row() {
    let html = render_html(&one());
    let ratio = section(&html, "ratio");
    let no_leak = between(
        ratio,
        "<tr><td>prodcons</td><td>treiber</td><td class=\"num\">4</td>",
        "</tr>",
    )
    .unwrap();
    assert!(!no_leak.contains('×'), "{no_leak}");
    let with_leak = between(
        ratio,
        "<tr><td>pairs</td><td>treiber</td><td class=\"num\">2</td>",
        "</tr>",
    )
    .unwrap();
    assert!(with_leak.contains('×'), "{with_leak}");
    assert!(
        !ratio.contains("<td>mutex-vec</td>"),
        "no leak backend, left out"
    );
}

#[test]
fn time_series_charts_for_stalled_and_handoff() {
    let html = render_html(&one());
    let memory = section(&html, "memory");
    for workload in ["stalled", "handoff"] {
        assert!(memory.contains(&format!(
            "data-chart=\"memory\" data-input=\"1\" data-workload=\"{workload}\""
        )));
        assert!(memory.contains(&format!(
            "data-chart=\"garbage\" data-input=\"1\" data-workload=\"{workload}\""
        )));
    }
    assert!(!memory.contains("data-workload=\"pairs\""));
    let ebr = between(&html, "id=\"backend-treiber-ebr\"", "</section>").unwrap();
    assert!(ebr.contains("data-chart=\"garbage\""));
}

/// A debug, uninstrumented file with a row without numbers, a row of zeros, NaNs and
/// negative memory, and an absurdly fast row; and a file without rows.
fn odd_inputs() -> Vec<Input> {
    let mut empty_numbers = Row::empty();
    empty_numbers.backend = "hollow".into();
    empty_numbers.valid = true;
    let mut zero = fixture::row("zero", "z", "leak", "pairs", 1, 0.0);
    zero.ops_per_sec = Some(Spread {
        median: 0.0,
        min: -1.0,
        max: f64::NAN,
        cv: f64::INFINITY,
        ci95: Some([f64::NAN, -1.0]),
    });
    zero.latency_ns = Some(Latency {
        p50: 0,
        p99: 0,
        p999: 0,
        max: u64::MAX,
        samples: 0,
    });
    zero.counted_ops = 0;
    zero.workload = "stalled".into();
    zero.memory = Some(Memory {
        peak_bytes: 0,
        series: vec![
            MemoryPoint {
                t_ms: 0.0,
                bytes: -4096,
                objects: -1,
            },
            MemoryPoint {
                t_ms: f64::NAN,
                bytes: i64::MIN,
                objects: 0,
            },
        ],
    });
    let huge = fixture::row("huge", "z", "hp", "pairs", 1, 1e300);
    let mut no_rows = fixture::laptop();
    no_rows.rows.clear();
    let mut odd = fixture::laptop();
    odd.metadata.profile = "debug".into();
    odd.settings.instrumented = false;
    odd.rows = vec![empty_numbers, zero, huge];
    vec![input(odd), input(no_rows)]
}

#[test]
fn an_emulated_run_is_flagged_in_the_report_and_the_comparison() {
    let mut emulated = fixture::laptop();
    emulated.metadata.emulation = Some("arm binary on a x86_64 kernel (qemu user mode)".into());
    let inputs = vec![input(fixture::laptop()), input(emulated)];
    let html = render_html(&inputs);
    assert_eq!(html.matches("<b>Emulated:</b>").count(), 1);
    assert!(html.contains("arm binary on a x86_64 kernel"));
    let text = compare_text(&inputs);
    assert_eq!(text.matches("run under emulation").count(), 1, "{text}");
    assert!(!render_html(&inputs[..1]).contains("<b>Emulated:</b>"));
}

#[test]
fn odd_files_never_panic() {
    let inputs = odd_inputs();
    let html = render_html(&inputs);
    assert!(html.contains("Debug build"));
    assert!(has_backend_chart(&html, "hollow"));
    assert!(has_backend_chart(&html, "zero"));
    assert!(!html.contains("could not be drawn"), "every chart drew");
    let text = compare_text(&inputs);
    assert!(text.contains("hollow"));
    assert!(render_html(&[]).contains("nothing to report"));
    assert_eq!(compare_text(&[]), "no result files given\n");
}

#[test]
fn labels_name_host_target_and_short_commit() {
    assert_eq!(
        label_for(&fixture::laptop()),
        "laptop x86_64-unknown-linux-gnu @0123456"
    );
    assert_eq!(
        label_for(&fixture::board()),
        "pi5 aarch64-unknown-linux-gnu @fedcba9-dirty"
    );
    let mut unknown = fixture::laptop();
    unknown.metadata.git_sha = "unknown".into();
    assert!(label_for(&unknown).ends_with("@unknown"));
}

/// Two runs of one machine and commit read the same under `label_for`; their start
/// times, else their file names, tell them apart, and only where needed.
#[test]
fn labels_that_would_collide_get_the_start_time_then_the_file_name() {
    let base = "laptop x86_64-unknown-linux-gnu @0123456";
    let first = fixture::laptop();
    let mut later = fixture::laptop();
    later.metadata.started_at = "2025-11-23T11:30:00Z".into();
    let board = fixture::board();
    let labels = labels_for(&[
        (Path::new("a/before.json"), &first),
        (Path::new("a/after.json"), &later),
        (Path::new("b/pi.json"), &board),
    ]);
    assert_eq!(
        labels,
        [
            format!("{base} · 2025-11-23T10:00:00Z"),
            format!("{base} · 2025-11-23T11:30:00Z"),
            label_for(&board),
        ]
    );
    // The same start time (a copy): the file names; the same stem: the paths.
    let copy = fixture::laptop();
    let labels = labels_for(&[
        (Path::new("a/run.json"), &first),
        (Path::new("a/copy.json"), &copy),
    ]);
    assert_eq!(labels, [format!("{base} · run"), format!("{base} · copy")]);
    let labels = labels_for(&[
        (Path::new("a/run.json"), &first),
        (Path::new("b/run.json"), &copy),
    ]);
    assert_eq!(
        labels,
        [
            format!("{base} · a/run.json"),
            format!("{base} · b/run.json")
        ]
    );
    // One file given twice is one run: nothing to tell apart.
    let same = Path::new("a/run.json");
    assert_eq!(labels_for(&[(same, &first), (same, &copy)]), [base, base]);
    // The page shows the labels it was given.
    let inputs: Vec<Input> =
        labels_for(&[(Path::new("x.json"), &first), (Path::new("y.json"), &later)])
            .into_iter()
            .zip([first.clone(), later.clone()])
            .map(|(label, file)| Input { label, file })
            .collect();
    let html = render_html(&inputs);
    assert!(
        html.contains(&format!("[2] {base} · 2025-11-23T11:30:00Z")),
        "{html}"
    );
}

/// The latency table lists rows by workload (run order), threads, then p50, and has a
/// chart per workload and thread count whose rows come in the table's order.
#[test]
fn latency_is_sorted_and_charted_per_workload_and_threads() {
    let file = fixture::laptop();
    let sorted = crate::data::by_latency(&file.rows);
    assert_eq!(sorted.len(), file.rows.iter().filter(|r| r.valid).count());
    let workloads = crate::data::distinct(file.rows.iter().map(|r| r.workload.as_str()));
    let key = |r: &Row| {
        let w = workloads.iter().position(|w| *w == r.workload);
        (w, r.threads, r.latency_ns.map_or(u64::MAX, |l| l.p50))
    };
    assert!(sorted.windows(2).all(|p| key(p[0]) <= key(p[1])), "sorted");
    // Not the run's order, which goes backend by backend.
    let run_order: Vec<&Row> = file.rows.iter().filter(|r| r.valid).collect();
    assert_ne!(
        sorted.iter().map(|r| &r.backend).collect::<Vec<_>>(),
        run_order.iter().map(|r| &r.backend).collect::<Vec<_>>()
    );

    let html = render_html(&[input(file.clone())]);
    let latency = section(&html, "latency");
    // The table's rows follow the sorted order.
    let mut at = 0;
    for row in &sorted {
        let cells = format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            row.backend, row.workload, row.threads
        );
        let found = latency[at..].find(&cells).map(|i| i + at);
        at = found.unwrap_or_else(|| panic!("{cells} out of order"));
    }
    // One chart per (workload, threads), named in its rows' order.
    let chart = between(
        latency,
        "data-chart=\"latency\" data-input=\"1\" data-workload=\"pairs\" data-threads=\"2\"",
        "</svg>",
    )
    .expect("a latency chart for pairs at 2 threads");
    let in_pairs_2: Vec<&str> = sorted
        .iter()
        .filter(|r| r.workload == "pairs" && r.threads == 2)
        .map(|r| r.backend.as_str())
        .collect();
    let positions: Vec<usize> = in_pairs_2
        .iter()
        .map(|b| {
            chart
                .find(&format!(">\n{b}\n</text>"))
                .unwrap_or_else(|| panic!("{b}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert_eq!(chart.matches("<circle").count(), in_pairs_2.len());
    assert_eq!(
        latency.matches("data-chart=\"latency\"").count(),
        3 + 2 + 2 + 1,
        "pairs, prodcons, stalled, handoff"
    );
}

/// Memory and garbage over time: a small chart per backend, none for a backend whose
/// samples are all zero (named in a note instead), and the end of the measured repeat
/// marked.
#[test]
fn time_series_are_small_multiples_without_all_zero_series() {
    let mut file = fixture::laptop();
    let rc = file
        .rows
        .iter_mut()
        .find(|r| r.backend == "treiber-rc" && r.workload == "stalled" && r.threads == 2)
        .unwrap();
    for point in &mut rc.garbage.as_mut().unwrap().series {
        point.outstanding = 0;
    }
    let html = render_html(&[input(file)]);
    let memory = section(&html, "memory");
    let stalled_2 = between(memory, "stalled · 2 threads</h4>", "<h4>").unwrap();
    let garbage_charts: Vec<&str> = stalled_2
        .split("<svg class=\"chart\" data-chart=\"garbage\"")
        .skip(1)
        .collect();
    // The fixture's reclaiming backends: ten minus the two baselines, minus rc.
    assert_eq!(garbage_charts.len(), 7);
    assert!(
        garbage_charts
            .iter()
            .all(|c| !c.contains("data-backend=\"treiber-rc\""))
    );
    assert!(
        stalled_2.contains("All zero, not drawn: <code>treiber-rc</code>."),
        "{stalled_2}"
    );
    // Its memory is not zero: it keeps its memory chart.
    assert!(stalled_2.contains("data-chart=\"memory\" data-input=\"1\" data-workload=\"stalled\" data-threads=\"2\" data-backend=\"treiber-rc\""));
    // Each chart has one line, and the repeat's end (the fixture's 1000 ms) marked.
    let first = garbage_charts[0];
    assert_eq!(first.matches("stroke-width=\"2\"").count(), 1);
    assert!(
        first.contains(">\nend of repeat (1000 ms)\n</text>"),
        "{first}"
    );
    // Runs stopped by an iteration count have no set end.
    let mut counted = fixture::laptop();
    counted.settings.iterations = Some(10_000);
    assert!(!render_html(&[input(counted)]).contains("end of repeat"));
}

/// Writes the fixture reports where `RECLAIM_REPORT_FIXTURE_DIR` says (for looking at
/// them in a browser or taking screenshots); without it, only renders them.
#[test]
fn fixture_reports_render() {
    let one = render_html(&one());
    let two = render_html(&two());
    if let Some(dir) = std::env::var_os("RECLAIM_REPORT_FIXTURE_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("report-one.html"), one).unwrap();
        std::fs::write(dir.join("report-two.html"), two).unwrap();
        std::fs::write(dir.join("compare.txt"), compare_text(&self::two())).unwrap();
        std::fs::write(dir.join("report-odd.html"), render_html(&odd_inputs())).unwrap();
    }
}

/// The ranking opens the page: fastest first, a tie where the paired ratio of two
/// neighbours is within noise, a rank of its own where it is not, and each row's ratio
/// to its reference in words.
#[test]
fn the_ranking_ties_rows_the_noise_does_not_separate() {
    use reclaim_results::Ratio;
    let rounds =
        |base: f64, wobble: [f64; 6]| -> Vec<f64> { wobble.iter().map(|w| base * w).collect() };
    let mut file = fixture::laptop();
    file.rows.clear();
    let reference = rounds(10e6, [1.0, 1.01, 0.99, 1.0, 1.02, 0.98]);
    let specs = [
        // Faster than the reference in every round, by about 20%.
        ("fast", rounds(12e6, [1.0, 1.01, 0.99, 1.0, 1.02, 0.98])),
        // Against the reference: up in some rounds, down in others.
        ("ref", reference.clone()),
        ("same", rounds(10e6, [1.05, 0.96, 1.04, 0.97, 1.0, 1.01])),
        ("slow", rounds(5e6, [1.0, 1.01, 0.99, 1.0, 1.02, 0.98])),
    ];
    for (backend, repeats) in specs {
        let mut row = fixture::row(backend, "s", backend, "pairs", 2, 0.0);
        row.ops_per_sec = Spread::of(&repeats);
        row.ratio = Ratio::paired("ref", &repeats, &reference);
        row.repeat_ops_per_sec = repeats;
        file.rows.push(row);
    }
    let html = render_html(&[input(file)]);
    assert!(
        html.find("<section id=\"ranking\">") < html.find("<section id=\"throughput\">"),
        "the ranking comes first"
    );
    let ranking = section(&html, "ranking");
    // "same" runs a hair faster than "ref" at the median: within noise of it.
    let order: Vec<usize> = ["fast", "same", "ref", "slow"]
        .iter()
        .map(|b| ranking.find(&format!("<code>{b}</code>")).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "fastest first: {order:?}"
    );
    let cell = |backend: &str| {
        let at = ranking.find(&format!("<code>{backend}</code>")).unwrap();
        let row_start = ranking[..at].rfind("<tr>").unwrap();
        &ranking[row_start..at]
    };
    assert!(cell("fast").contains(">1<"), "{}", cell("fast"));
    assert!(cell("ref").contains(">=2<"), "{}", cell("ref"));
    assert!(cell("same").contains(">=2<"), "{}", cell("same"));
    assert!(cell("slow").contains(">4<"), "{}", cell("slow"));
    assert!(ranking.contains("1.20× (1.20–1.20)"), "{ranking}");
    assert!(ranking.contains("within noise: "), "{ranking}");
    assert!(ranking.contains("reference"), "{ranking}");
}

/// Across files, a ratio whose interval (from the two medians' 95% intervals) contains 1
/// is marked within noise, one clear of 1 is not; each file's own ratio to its
/// reference is shown beside.
#[test]
fn compare_marks_ratios_within_noise_and_shows_each_files_reference_ratio() {
    use reclaim_results::Ratio;
    let six = |median: f64, spread: f64| -> Vec<f64> {
        [-1.0, -0.5, 0.0, 0.0, 0.5, 1.0]
            .iter()
            .map(|k| median * (1.0 + k * spread))
            .collect()
    };
    let file = |noisy_median: f64, clear_median: f64| {
        let mut f = fixture::laptop();
        f.rows.clear();
        for (backend, median) in [("noisy", noisy_median), ("clear", clear_median)] {
            let mut row = fixture::row(backend, "s", "ebr", "pairs", 1, median);
            let repeats = six(median, 0.05);
            row.ops_per_sec = Spread::of(&repeats);
            row.ratio = Ratio::paired("clear", &repeats, &six(clear_median, 0.0));
            row.repeat_ops_per_sec = repeats;
            f.rows.push(row);
        }
        f
    };
    // noisy: 10M ±5% against 10.3M ±5% (overlapping); clear: 10M against 20M.
    let inputs = vec![input(file(10e6, 10e6)), input(file(10.3e6, 20e6))];
    let text = compare_text(&inputs);
    let line = |backend: &str| {
        text.lines()
            .find(|l| l.starts_with(backend))
            .unwrap_or_else(|| panic!("no {backend} in\n{text}"))
            .to_owned()
    };
    assert!(line("noisy").contains("≈1.03×"), "{}", line("noisy"));
    assert!(line("noisy").contains("10M ±5.0%"), "{}", line("noisy"));
    assert!(line("clear").contains(" 2.00×"), "{}", line("clear"));
    assert!(!line("clear").contains('≈'), "{}", line("clear"));
    assert!(line("clear").contains("ref"), "{}", line("clear"));
    // noisy's ratio to clear: 1.0 in the first file, about 0.52 in the second.
    assert!(
        text.contains("[2] against [1]: 1 rows; within ±5%: 0, within ±10%: 0"),
        "{text}"
    );
    assert!(
        text.contains("flagged noisy in neither: noisy pairs 1 (-48%)"),
        "{text}"
    );
    let html = render_html(&inputs);
    let comparison = section(&html, "comparison");
    assert!(comparison.contains("≈1.03×"), "{comparison}");
    assert!(comparison.contains("reference"), "{comparison}");
}

/// A run over uniform keys and one over Zipf keys do not measure the same thing: the
/// comparison gives each its own line, labelled with the exponent, and never divides one
/// by the other; two files over the same exponent share a line.
#[test]
fn sets_over_uniform_and_zipf_keys_are_compared_apart() {
    let file = |zipf: Option<f64>, median: f64| {
        let mut f = fixture::laptop();
        f.rows.clear();
        let mut row = fixture::row("hashmap-ebr", "hashmap", "ebr", "read-mostly", 1, median);
        row.extra.insert("keys".into(), 100_000.0);
        if let Some(s) = zipf {
            row.extra.insert("zipf_s".into(), s);
        }
        f.rows.push(row);
        f
    };
    let inputs = vec![
        input(file(None, 10e6)),
        input(file(Some(0.99), 20e6)),
        input(file(Some(0.99), 30e6)),
    ];
    let text = compare_text(&inputs);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("hashmap-ebr"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    // Uniform first (it came first), then Zipf: each with dashes where the other is.
    let uniform = table_cells(lines[0]);
    assert_eq!(
        uniform[..5],
        ["hashmap-ebr", "read-mostly", "1", "10M", "–"],
        "{text}"
    );
    let zipf = table_cells(lines[1]);
    assert_eq!(
        zipf[..7],
        [
            "hashmap-ebr",
            "read-mostly (Zipf s = 0.99)",
            "1",
            "–",
            "20M",
            "–",
            "30M"
        ],
        "{text}"
    );
    assert!(
        !text.contains("2.00×") && !text.contains("3.00×"),
        "Zipf over uniform: {text}"
    );

    let html = render_html(&inputs);
    let comparison = section(&html, "comparison");
    assert!(
        comparison.contains("<td>read-mostly (Zipf s = 0.99)</td>"),
        "{comparison}"
    );
}

/// Runs over different key ranges or operation mixes (`--keys`, `--mix`), or graphs of
/// different sizes (`--nodes`), do not measure the same thing either: each setting gets
/// its own line, labelled with what differs, and no ratio joins them. What all files share
/// stays out of the label.
#[test]
fn rows_of_other_keys_mixes_or_graph_sizes_are_compared_apart() {
    let file = |keys: f64, contains: f64, nodes: f64, median: f64| {
        let mut f = fixture::laptop();
        f.rows.clear();
        let mut set = fixture::row("hashmap-ebr", "hashmap", "ebr", "read-mostly", 1, median);
        set.extra.insert("keys".into(), keys);
        set.extra.insert("mix_contains_pct".into(), contains);
        set.extra
            .insert("mix_insert_pct".into(), (100.0 - contains) / 2.0);
        set.extra
            .insert("mix_remove_pct".into(), (100.0 - contains) / 2.0);
        f.rows.push(set);
        let mut graph = fixture::row("graph-gc", "graph", "gc", "graph", 1, median);
        graph.extra.insert("nodes".into(), nodes);
        f.rows.push(graph);
        f
    };
    let inputs = vec![
        input(file(1_000.0, 90.0, 10_000.0, 10e6)),
        input(file(100_000.0, 90.0, 10_000.0, 20e6)),
        input(file(1_000.0, 50.0, 100_000.0, 40e6)),
    ];
    let text = compare_text(&inputs);
    let labels = |prefix: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| table_cells(l)[1].to_owned())
            .collect()
    };
    assert_eq!(
        labels("hashmap-ebr"),
        [
            "read-mostly (keys = 1000, contains % = 90, insert % = 5, remove % = 5)",
            "read-mostly (keys = 100000, contains % = 90, insert % = 5, remove % = 5)",
            "read-mostly (keys = 1000, contains % = 50, insert % = 25, remove % = 25)",
        ],
        "{text}"
    );
    assert_eq!(
        labels("graph-gc"),
        ["graph (nodes = 10000)", "graph (nodes = 100000)"],
        "{text}"
    );
    // The two files on 10,000 nodes share a line: a ratio of 2 (20M over 10M), and
    // nothing else is divided.
    assert!(text.contains("2.00×"), "{text}");
    assert!(!text.contains("4.00×"), "a ratio across settings: {text}");

    let html = render_html(&inputs);
    let comparison = section(&html, "comparison");
    assert!(
        comparison.contains("<td>graph (nodes = 100000)</td>"),
        "{comparison}"
    );

    // A container's row of the same workload has no key range; that is no difference
    // to label (the backend tells them apart).
    let mixed = |median: f64| {
        let mut f = file(1_000.0, 90.0, 10_000.0, median);
        f.rows.push(fixture::row(
            "treiber-ebr",
            "treiber",
            "ebr",
            "read-mostly",
            1,
            median,
        ));
        f
    };
    let text = compare_text(&[input(mixed(10e6)), input(mixed(20e6))]);
    let set_line = text
        .lines()
        .find(|l| l.starts_with("hashmap-ebr"))
        .expect("the set's line");
    assert!(
        set_line.contains("read-mostly ") && !set_line.contains("keys ="),
        "{text}"
    );
}

/// A run on several allocators (`run --allocator`) reads as one input per allocator, in
/// the order they first appear: the comparison and the page put them side by side with
/// ratios to the first, as they do machines. A file on one allocator stays one input.
#[test]
fn a_run_on_several_allocators_is_compared_allocator_by_allocator() {
    let mut file = fixture::laptop();
    let jemalloc: Vec<Row> = file
        .rows
        .iter()
        .map(|row| {
            let mut row = row.clone();
            row.allocator = "jemalloc".to_owned();
            row.ops_per_sec = row.ops_per_sec.map(|s| Spread {
                median: s.median * 2.0,
                ..s
            });
            row
        })
        .collect();
    file.rows.extend(jemalloc);
    let inputs = crate::split_inputs(&[input(file.clone())]);
    let labels: Vec<&str> = inputs.iter().map(|i| i.label.as_str()).collect();
    let label = label_for(&file);
    assert_eq!(
        labels,
        [format!("{label} · system"), format!("{label} · jemalloc")]
    );
    assert!(inputs[0].file.rows.iter().all(|r| r.allocator == "system"));
    assert!(
        inputs[1]
            .file
            .rows
            .iter()
            .all(|r| r.allocator == "jemalloc")
    );
    assert_eq!(inputs[0].file.rows.len(), inputs[1].file.rows.len());

    let text = compare_text(&[input(file.clone())]);
    let ebr = text
        .lines()
        .find(|l| {
            l.split_whitespace()
                .take(3)
                .eq(["treiber-ebr", "pairs", "2"])
        })
        .unwrap_or_else(|| panic!("no treiber-ebr line in\n{text}"));
    assert_eq!(ebr.split_whitespace().nth(5), Some("2.00×"), "{ebr}");
    let html = render_html(&[input(file)]);
    assert!(html.contains("· jemalloc"));

    let one = crate::split_inputs(&[input(fixture::laptop())]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].label, label_for(&fixture::laptop()));
}

/// A run that swept a knob reads as one input per value, each with the rows at the
/// defaults it was measured beside, and the page plots throughput and garbage against
/// the knob for the rows that set it.
#[test]
fn a_knob_sweep_is_compared_value_by_value_and_plotted_against_the_knob() {
    let mut file = fixture::laptop();
    let seize: Vec<Row> = [8_u64, 64]
        .into_iter()
        .map(|value| {
            let mut row = file
                .rows
                .iter()
                .find(|r| r.backend == "treiber-ebr" && r.workload == "pairs" && r.threads == 2)
                .unwrap()
                .clone();
            row.backend = "treiber-seize".into();
            row.scheme = "seize".into();
            row.tuning = Some(reclaim_results::Tuning {
                key: "batch-size".into(),
                value,
            });
            row
        })
        .collect();
    let untuned = file.rows.len();
    file.rows.extend(seize);
    let inputs = crate::split_inputs(&[input(file.clone())]);
    let label = label_for(&file);
    let labels: Vec<&str> = inputs.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            format!("{label} · batch-size=8"),
            format!("{label} · batch-size=64")
        ]
    );
    for (input, value) in inputs.iter().zip([8, 64]) {
        assert_eq!(input.file.rows.len(), untuned + 1);
        let tuned: Vec<u64> = input
            .file
            .rows
            .iter()
            .filter_map(|r| r.tuning.as_ref().map(|t| t.value))
            .collect();
        assert_eq!(tuned, [value]);
    }
    let html = render_html(&[input(file)]);
    let tuning = section(&html, "tuning");
    assert_eq!(
        tuning.matches("data-chart=\"tuning\"").count(),
        2,
        "{tuning}"
    );
    assert!(tuning.contains("against batch-size"));
    let plain = render_html(&one());
    assert!(!plain.contains("<section id=\"tuning\">"));
}

/// The laptop's rows and the graph family's.
fn with_graphs() -> reclaim_results::ResultFile {
    let mut file = fixture::laptop();
    file.rows.extend(fixture::graph_rows());
    file
}

/// The line of the graph section's pause table for `backend` at `threads`.
fn pause_line<'a>(graphs: &'a str, backend: &str, threads: usize) -> &'a str {
    between(
        graphs,
        &format!("<tr><td>{backend}</td><td>graph</td><td class=\"num\">{threads}</td>"),
        "</tr>",
    )
    .unwrap_or_else(|| panic!("no pause line for {backend} at {threads} threads"))
}

/// Graph rows get a section of their own: throughput with each group's reference and
/// paired ratios, a pause table whose timed pauses are formatted and whose dashes mark
/// collections no one timed, leaks flagged where the strategy should free everything
/// (and marked as by design for `rc-leak`), and memory and garbage over time with a
/// line per strategy.
#[test]
fn graph_rows_get_a_section_with_pauses_and_leaks_flagged() {
    let html = render_html(&[input(with_graphs())]);
    let graphs = section(&html, "graphs");
    assert!(
        html.contains("<a href=\"#graphs\">Graphs</a>"),
        "in the nav"
    );

    // Throughput: a line per strategy, a reference named per group.
    assert!(
        graphs.contains("ratio to <code>graph-rc-weak</code>"),
        "{graphs}"
    );
    assert!(
        graphs.contains("ratio to <code>graph-arc-weak</code>"),
        "{graphs}"
    );
    let bacon = between(graphs, "<tr><td><code>bacon-rajan-cc</code></td>", "</tr>")
        .expect("a throughput line for bacon-rajan-cc");
    assert!(bacon.contains("306k"), "0.34 × 900k: {bacon}");
    assert!(bacon.contains("0.34× (0.34–0.34)"), "{bacon}");
    assert!(bacon.contains("ratio-low"), "{bacon}");
    let rc_weak = between(graphs, "<tr><td><code>rc-weak</code></td>", "</tr>").unwrap();
    assert!(rc_weak.contains(">reference<"), "{rc_weak}");

    // Pauses: the driver's timed collections, formatted; none timed is a dash, not 0.
    let timed = pause_line(graphs, "graph-bacon-rajan-cc", 1);
    assert_eq!(
        crate::format::nanos(fixture::GRAPH_PAUSE_P99_NS as f64),
        "19.8 ms"
    );
    assert!(
        timed.contains("<td class=\"num\">5.97 ms</td><td class=\"num\">19.8 ms</td>"),
        "{timed}"
    );
    assert!(
        timed.contains("38 collections timed over every repeat"),
        "{timed}"
    );
    assert!(timed.contains("72.5%"), "{timed}");
    let gc = pause_line(graphs, "graph-gc", 1);
    assert!(gc.contains("0 + 8 inside ops"), "{gc}");
    assert_eq!(
        gc.matches("<span class=\"missing\">–</span>").count(),
        4,
        "{gc}"
    );
    assert!(graphs.contains("so their pauses are not here but in the operation latency"));

    // Leaks: flagged for dumpster-sync, by design for rc-leak, nothing for the others.
    let dumpster = pause_line(graphs, "graph-dumpster-sync", 2);
    assert!(
        dumpster.contains("<span class=\"bad leak\" title=\"124 nodes still not freed after teardown\">62 ⚠ unexpected</span>"),
        "{dumpster}"
    );
    let leak = pause_line(graphs, "graph-rc-leak", 1);
    assert!(
        leak.contains("500k (by design, stopped at the cap)"),
        "{leak}"
    );
    assert!(
        !leak.contains("unexpected") && !leak.contains("class=\"bad"),
        "{leak}"
    );
    assert!(!pause_line(graphs, "graph-rc-weak", 1).contains("leak"));
    assert_eq!(
        graphs.matches("<b>Unexpected leak:</b>").count(),
        1,
        "{graphs}"
    );
    assert!(graphs.contains(
        "<b>Unexpected leak:</b> <code>graph-dumpster-sync</code> on <code>graph</code> at 2 threads left 62 nodes"
    ));

    // Over time: per workload and thread count, memory and garbage, a line a strategy.
    for kind in ["memory", "garbage"] {
        let chart = between(
            graphs,
            &format!(
                "<svg class=\"chart\" data-chart=\"{kind}\" data-input=\"1\" data-family=\"graph\" data-workload=\"graph\" data-threads=\"1\""
            ),
            "</svg>",
        )
        .unwrap_or_else(|| panic!("no {kind} chart for graph at 1 thread"));
        let lines = series_lines(chart);
        assert_eq!(lines, 4, "rc-weak, rc-leak, bacon-rajan-cc and gc");
        assert!(chart.contains(">\nrc-leak\n</text>"), "legend");
    }
    assert_eq!(
        graphs.matches("<svg class=\"chart\"").count(),
        4,
        "2 groups × 2"
    );
}

/// The container and set sections know nothing of graphs: no line in the throughput
/// charts, no group in the ranking, no column in the cost of reclamation. The backend
/// sections and the comparison of inputs keep graph rows like any other.
#[test]
fn graph_rows_stay_out_of_the_container_sections() {
    let html = render_html(&[input(with_graphs())]);
    for id in ["ranking", "throughput", "ratio", "memory"] {
        let body = section(&html, id);
        assert!(!body.contains("graph-"), "{id} shows a graph backend");
        assert!(
            !body.contains("data-workload=\"graph\""),
            "{id} charts graph"
        );
        assert!(!body.contains("<h3>graph ·"), "{id} ranks graph");
    }
    assert!(section(&html, "throughput").contains("data-group=\"treiber\""));
    assert!(section(&html, "ranking").contains("<code>treiber-ebr</code>"));
    assert!(has_backend_chart(&html, "graph-gc"));

    let mut board = fixture::board();
    board.rows.extend(fixture::graph_rows());
    let html = render_html(&[input(with_graphs()), input(board)]);
    let comparison = section(&html, "comparison");
    assert!(
        comparison.contains("<tr><td>graph-gc</td><td>graph</td><td class=\"num\">1</td>"),
        "{comparison}"
    );
    assert_eq!(
        section(&html, "graphs")
            .matches("<b>Unexpected leak:</b>")
            .count(),
        2
    );
}

/// A file without graph rows has no graph section; one with only graph rows says where
/// they are instead of showing empty container sections.
#[test]
fn the_graph_section_is_there_only_for_graph_rows() {
    assert!(!render_html(&one()).contains("<section id=\"graphs\">"));
    let mut only = fixture::laptop();
    only.rows = fixture::graph_rows();
    let html = render_html(&[input(only)]);
    for id in ["ranking", "throughput"] {
        assert!(
            section(&html, id).contains("Only graph rows in this file"),
            "{id}"
        );
    }
    assert!(section(&html, "graphs").contains("graph-rc-weak"));
}

/// A graph row that failed its check reads "invalid" in the graph throughput table,
/// with its error in the tooltip, and is neither in the pause table nor drawn; the
/// invalid rows' table lists it like any row.
#[test]
fn an_invalid_graph_row_is_marked_not_measured() {
    let mut file = with_graphs();
    let gc = file
        .rows
        .iter_mut()
        .find(|r| r.backend == "graph-gc")
        .unwrap();
    gc.valid = false;
    gc.error = Some("the graph holds 19999 reachable nodes, not the 20000".into());
    let html = render_html(&[input(file)]);
    let graphs = section(&html, "graphs");
    let line = between(graphs, "<tr><td><code>gc</code></td>", "</tr>").unwrap();
    assert!(
        line.contains("<span class=\"bad\" title=\"the graph holds 19999 reachable nodes, not the 20000\">invalid</span>"),
        "{line}"
    );
    assert!(
        !graphs.contains("<tr><td>graph-gc</td>"),
        "not in the pause table"
    );
    assert!(!graphs.contains(">\ngc\n</text>"), "not drawn");
    assert!(section(&html, "invalid").contains("graph-gc"));
}

/// The data lines of a chart: the polylines drawn at the series stroke width (axes are
/// 1 px).
fn series_lines(chart: &str) -> usize {
    let series_stroke = format!("stroke-width=\"{}\"", crate::chart::SERIES_STROKE);
    chart
        .split("<polyline")
        .skip(1)
        .filter(|tag| tag[..tag.find('>').unwrap()].contains(&series_stroke))
        .count()
}

/// The cells of a line of a plain-text table, whose columns are at least two spaces
/// apart.
fn table_cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}
