//! Numbers as people read them, and the plain-text table they are printed in.
//!
//! One set of functions for every place reclaim-bench shows a number: the terminal
//! summary after a run, `run --overhead`, `list`, `compare` and the HTML report. So a
//! figure copied from the terminal matches the report's for the same row and field (the
//! hyperfine rule: exports show what the terminal showed), and a change of format is
//! made once. Counts and rates get three significant digits and an SI prefix, bytes a
//! binary prefix, durations the unit that keeps them short, ratios two decimals and a
//! `×`, percentages one decimal.

use std::ops::Range;
use std::time::Duration;

use crate::{Row, Verdict};

/// What a cell shows when there is no number: missing, invalid or unsupported rows are
/// never shown as 0.
pub const MISSING: &str = "–";

/// A count or a rate with three significant digits and an SI prefix: `950`, `1.23k`,
/// `45.6M` (operations per second, objects, samples, a counter's total).
pub fn si(value: f64) -> String {
    scaled(value, 1000.0, &["", "k", "M", "G", "T", "P"], "")
}

/// A byte count with a binary prefix: `512 B`, `1.50 KiB`, `-3.20 MiB`.
pub fn bytes(value: f64) -> String {
    scaled(value, 1024.0, &[" B", " KiB", " MiB", " GiB", " TiB"], "")
}

/// A duration in nanoseconds in the unit that keeps it short, three significant digits:
/// `85 ns`, `1.2 µs`, `2.5 ms`, `12.3 s` (latency percentiles, callback times).
pub fn nanos(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_owned();
    }
    let (scaled, unit) = match value.abs() {
        v if v < 1e3 => (value, "ns"),
        v if v < 1e6 => (value / 1e3, "µs"),
        v if v < 1e9 => (value / 1e6, "ms"),
        _ => (value / 1e9, "s"),
    };
    format!("{} {unit}", significant(scaled))
}

/// [`nanos`] of a [`Duration`]: `250 ms`, `42 s`.
pub fn duration(value: Duration) -> String {
    nanos(value.as_nanos() as f64)
}

/// A share given as a fraction, in percent with one decimal: `0.031` is `3.1%`.
pub fn percent(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.1}%", fraction * 100.0)
    } else {
        MISSING.to_owned()
    }
}

/// [`percent`] with its sign always written, for a change: `+3.1%`, `-0.4%`.
pub fn signed_percent(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:+.1}%", fraction * 100.0)
    } else {
        MISSING.to_owned()
    }
}

/// The half-width of an interval, given in percent of its center as
/// [`Spread::ci_half_width_pct`](crate::Spread::ci_half_width_pct) returns it: `±4.2%`.
pub fn plus_minus_pct(pct: f64) -> String {
    if pct.is_finite() {
        format!("±{}", percent(pct / 100.0))
    } else {
        MISSING.to_owned()
    }
}

/// A ratio such as `0.52×`.
pub fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}×")
    } else {
        MISSING.to_owned()
    }
}

/// A row's ratio to its reference, short, for a table cell: `1.23×` where the interval
/// lies clear of 1, `≈0.98×` where it contains 1 (within noise), `1.23×?` without an
/// interval (fewer than 6 rounds), `ref` for the reference itself, `–` without a ratio.
pub fn ratio_cell(row: &Row) -> String {
    let Some(r) = &row.ratio else {
        return MISSING.to_owned();
    };
    match r.verdict(&row.backend) {
        Verdict::Reference => "ref".to_owned(),
        Verdict::Faster | Verdict::Slower => ratio(r.median),
        Verdict::WithinNoise => format!("≈{}", ratio(r.median)),
        Verdict::NoInterval => format!("{}?", ratio(r.median)),
    }
}

/// A row's ratio to its reference in words, with its interval: `1.23× (1.10–1.31)`,
/// `within noise: 0.98× (0.95–1.04)`, `reference`, `1.23× (no interval from 3 rounds)`.
pub fn ratio_long(row: &Row) -> String {
    let Some(r) = &row.ratio else {
        return MISSING.to_owned();
    };
    let interval = |[low, high]: [f64; 2]| format!("({:.2}–{:.2})", low, high);
    match (r.verdict(&row.backend), r.ci95) {
        (Verdict::Reference, _) => "reference".to_owned(),
        (Verdict::WithinNoise, Some(ci)) => {
            format!("within noise: {} {}", ratio(r.median), interval(ci))
        }
        (_, Some(ci)) => format!("{} {}", ratio(r.median), interval(ci)),
        (_, None) => format!(
            "{} (no interval from {} round{})",
            ratio(r.median),
            r.rounds,
            if r.rounds == 1 { "" } else { "s" }
        ),
    }
}

/// A per-operation figure (instructions, cache misses): enough digits to compare small
/// values, no more.
pub fn per_op(value: f64) -> String {
    if !value.is_finite() {
        MISSING.to_owned()
    } else if value.abs() >= 1000.0 {
        si(value)
    } else {
        significant(value)
    }
}

/// `value` divided by the largest power of `base` that keeps it at or above 1, with that
/// power's suffix.
fn scaled(value: f64, base: f64, suffixes: &[&str], fallback: &str) -> String {
    if !value.is_finite() {
        return MISSING.to_owned();
    }
    let mut scaled = value;
    let mut index = 0;
    while scaled.abs() >= base && index + 1 < suffixes.len() {
        scaled /= base;
        index += 1;
    }
    // Rounding can carry 999.6 up to "1000"; move to the next prefix instead.
    let rounded: f64 = significant(scaled).parse().unwrap_or(scaled);
    if rounded.abs() >= base && index + 1 < suffixes.len() {
        scaled /= base;
        index += 1;
    }
    if scaled.abs() >= base {
        // Past the last prefix: an absurd value, written so that it still fits a cell.
        return format!("{value:.2e}");
    }
    let suffix = suffixes.get(index).copied().unwrap_or(fallback);
    format!("{}{suffix}", significant(scaled))
}

/// Three significant digits, trailing zeros of the fraction dropped (`2`, `2.5`, `0.042`).
pub fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return if value.is_finite() {
            "0".to_owned()
        } else {
            MISSING.to_owned()
        };
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 6) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A plain-text table for the terminal: `rows` under `header`, each column as wide as
/// its widest cell, two spaces between columns; the columns in `numeric` right-aligned
/// (header included) so that digits line up, the others left-aligned, and no trailing
/// spaces. Widths count characters, so `µ`, `×` and `–` take one column each. A row may
/// have fewer cells than the header.
///
/// The same shape as the report's HTML tables, which take the numeric columns the same
/// way: `table(&["BACKEND", "OPS/S"], 1..usize::MAX, &rows)`.
pub fn table<H: AsRef<str>>(header: &[H], numeric: Range<usize>, rows: &[Vec<String>]) -> String {
    let lines: Vec<Vec<&str>> = std::iter::once(header.iter().map(AsRef::as_ref).collect())
        .chain(
            rows.iter()
                .map(|row| row.iter().map(String::as_str).collect()),
        )
        .collect();
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in &lines {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &lines {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if c > 0 {
                line.push_str("  ");
            }
            if numeric.contains(&c) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_keeps_three_digits() {
        assert_eq!(si(950.0), "950");
        assert_eq!(si(1234.0), "1.23k");
        assert_eq!(si(45_600_000.0), "45.6M");
        assert_eq!(si(999_700.0), "1M");
        assert_eq!(si(0.0), "0");
        assert_eq!(si(f64::NAN), MISSING);
        assert_eq!(si(-2_500.0), "-2.5k");
        assert_eq!(si(1e300), "1.00e300");
    }

    #[test]
    fn units_for_bytes_time_and_ratios() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(-3.0 * 1024.0 * 1024.0), "-3 MiB");
        assert_eq!(nanos(85.0), "85 ns");
        assert_eq!(nanos(1_200.0), "1.2 µs");
        assert_eq!(ratio(0.5234), "0.52×");
        assert_eq!(per_op(0.04213), "0.0421");
        assert_eq!(per_op(12_345.0), "12.3k");
        assert_eq!(duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(nanos(2_500_000.0), "2.5 ms");
        assert_eq!(nanos(f64::INFINITY), MISSING);
    }

    #[test]
    fn percentages_have_one_decimal_and_changes_a_sign() {
        assert_eq!(percent(0.0312), "3.1%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(f64::NAN), MISSING);
        assert_eq!(signed_percent(0.0312), "+3.1%");
        assert_eq!(signed_percent(-0.004), "-0.4%");
        assert_eq!(plus_minus_pct(4.25), "±4.2%");
        assert_eq!(plus_minus_pct(f64::INFINITY), MISSING);
    }

    #[test]
    fn tables_align_text_left_and_numbers_right_on_the_widest_cell() {
        let rows = [
            vec!["long-name".into(), "1".into(), "x".into()],
            vec!["s".into(), "22".into(), "y".into()],
            vec!["µ×–".into()],
        ];
        let text = table(&["A", "B", "C"], 1..2, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "A           B  C");
        assert_eq!(lines[1], "long-name   1  x");
        assert_eq!(lines[2], "s          22  y");
        assert_eq!(lines[3], "µ×–", "no trailing spaces, short rows allowed");
        assert_eq!(lines.len(), 4);
        let left = table(&["A", "B"], 0..0, &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(left, "A    B\nxyz  1\n");
    }

    #[test]
    fn ratios_say_reference_noise_or_a_difference() {
        use crate::Ratio;
        let mut row = Row::empty();
        row.backend = "b".into();
        assert_eq!(
            (ratio_cell(&row), ratio_long(&row)),
            ("–".into(), "–".into())
        );
        let six = |v: f64| [v; 6];
        row.ratio = Ratio::paired("a", &six(1.2), &six(1.0));
        assert_eq!(ratio_cell(&row), "1.20×");
        assert_eq!(ratio_long(&row), "1.20× (1.20–1.20)");
        row.ratio = Ratio::paired("a", &[0.9, 1.1, 1.0, 1.0, 0.95, 1.05], &six(1.0));
        assert_eq!(ratio_cell(&row), "≈1.00×");
        assert_eq!(ratio_long(&row), "within noise: 1.00× (0.90–1.10)");
        row.ratio = Ratio::paired("a", &[1.2; 3], &[1.0; 3]);
        assert_eq!(ratio_cell(&row), "1.20×?");
        assert_eq!(ratio_long(&row), "1.20× (no interval from 3 rounds)");
        row.ratio = Ratio::paired("b", &six(1.0), &six(1.0));
        assert_eq!(
            (ratio_cell(&row), ratio_long(&row)),
            ("ref".into(), "reference".into())
        );
    }
}
