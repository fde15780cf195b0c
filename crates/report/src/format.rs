//! Numbers as people read them: three significant digits with a unit prefix.
//!
//! The report and the terminal table use the same functions, so a number copied from
//! one matches the other (the hyperfine rule: exports show what the terminal showed).

use reclaim_results::{Row, Verdict};

/// What a cell shows when there is no number: missing, invalid or unsupported rows are
/// never shown as 0.
pub const MISSING: &str = "–";

/// `value` with three significant digits and an SI prefix: `950`, `1.23k`, `45.6M`.
pub(crate) fn si(value: f64) -> String {
    scaled(value, 1000.0, &["", "k", "M", "G", "T", "P"], "")
}

/// A byte count with a binary prefix: `512 B`, `1.50 KiB`, `-3.20 MiB`.
pub(crate) fn bytes(value: f64) -> String {
    scaled(value, 1024.0, &[" B", " KiB", " MiB", " GiB", " TiB"], "")
}

/// A duration in nanoseconds in the unit that keeps it short: `85 ns`, `1.20 µs`.
pub(crate) fn nanos(value: f64) -> String {
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

/// A ratio such as `0.52×`.
pub(crate) fn ratio(value: f64) -> String {
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
pub(crate) fn per_op(value: f64) -> String {
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
pub(crate) fn significant(value: f64) -> String {
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
    }

    #[test]
    fn ratios_say_reference_noise_or_a_difference() {
        use reclaim_results::Ratio;
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
