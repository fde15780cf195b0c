//! Axis scales and their ticks.
//!
//! Charts draw in "display space": a log axis is a linear axis over `log10(value)`, with
//! ticks placed at round values (1, 2, 5 × 10^k) and labelled with the value itself.
//! Doing the transform here, rather than with plotters' log coordinates, keeps one
//! drawing path for both scales and puts ticks where a reader expects them even when
//! the data spans less than a decade (plotters' log axis then shows no tick at all).

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use crate::format;

/// How values map onto an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scale {
    /// Equal distances for equal differences.
    Linear,
    /// Equal distances for equal ratios; values at or below zero cannot be placed and
    /// are left out of the chart.
    Log,
}

impl Scale {
    /// Log when positive values span more than `LOG_ABOVE_RATIO`, linear otherwise:
    /// throughput of a leaking Treiber stack and of a mutex can differ a hundredfold,
    /// and on a linear axis the slow lines would sit flat on zero.
    pub(crate) fn for_values(values: impl IntoIterator<Item = f64>) -> Scale {
        /// Above this max/min ratio, a linear axis squashes the small values.
        const LOG_ABOVE_RATIO: f64 = 10.0;
        let (mut lo, mut hi) = (f64::INFINITY, 0.0_f64);
        for v in values.into_iter().filter(|v| v.is_finite()) {
            if v <= 0.0 {
                return Scale::Linear;
            }
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo.is_finite() && hi / lo > LOG_ABOVE_RATIO {
            Scale::Log
        } else {
            Scale::Linear
        }
    }

    /// Where `value` goes in display space, or `None` if it cannot be placed.
    pub(crate) fn to_display(self, value: f64) -> Option<f64> {
        match self {
            Scale::Linear => value.is_finite().then_some(value),
            Scale::Log => (value.is_finite() && value > 0.0).then(|| value.log10()),
        }
    }

    /// The value at display coordinate `display`.
    pub(crate) fn value_at(self, display: f64) -> f64 {
        match self {
            Scale::Linear => display,
            Scale::Log => 10f64.powf(display),
        }
    }
}

/// What an axis measures, which decides how its tick labels read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A plain count or rate: `1.5M`.
    Count,
    /// Bytes: `1.5 MiB`.
    Bytes,
    /// A duration in nanoseconds: `850 ns`, `1.2 µs`.
    Nanos,
    /// A quantity whose unit is in the axis title (milliseconds, threads): `250`.
    Plain,
}

impl Unit {
    pub(crate) fn label(self, value: f64) -> String {
        match self {
            Unit::Count => format::si(value),
            Unit::Bytes => format::bytes(value),
            Unit::Nanos => format::nanos(value),
            Unit::Plain => format::significant(value),
        }
    }
}

/// An axis: its title, scale, unit, and optionally the exact values to tick.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    pub(crate) title: String,
    pub(crate) scale: Scale,
    pub(crate) unit: Unit,
    /// Tick exactly these values (thread counts) instead of round numbers.
    pub(crate) ticks_at: Option<Vec<f64>>,
    /// Stretch a linear axis to include zero, so bar heights and line heights compare.
    pub(crate) include_zero: bool,
}

impl Axis {
    pub(crate) fn new(title: impl Into<String>, scale: Scale, unit: Unit) -> Axis {
        Axis {
            title: title.into(),
            scale,
            unit,
            ticks_at: None,
            include_zero: scale == Scale::Linear,
        }
    }

    /// Ticks at exactly `values` (deduplicated), e.g. the thread counts measured.
    pub(crate) fn ticks_at(mut self, values: impl IntoIterator<Item = f64>) -> Axis {
        let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        self.ticks_at = Some(values);
        self.include_zero = false;
        self
    }

    /// The display range and ticks covering `values` (raw, untransformed).
    pub(crate) fn layout(&self, values: impl IntoIterator<Item = f64>) -> Layout {
        let mut shown: Vec<f64> = values
            .into_iter()
            .filter_map(|v| self.scale.to_display(v))
            .collect();
        if let Some(ticks) = &self.ticks_at {
            let ticks: Vec<f64> = ticks
                .iter()
                .filter_map(|&v| self.scale.to_display(v))
                .collect();
            shown.extend(&ticks);
            let (lo, hi) = bounds(&shown).unwrap_or((0.0, 1.0));
            // Explicit ticks sit on the data; pad so end points are not on the frame.
            let pad = ((hi - lo) * 0.06).max(0.1);
            return Layout {
                lo: lo - pad,
                hi: hi + pad,
                ticks,
            };
        }
        if self.include_zero {
            shown.push(0.0);
        }
        match (self.scale, self.unit) {
            (Scale::Linear, Unit::Bytes) => binary_layout(bounds(&shown)),
            (Scale::Linear, _) => linear_layout(bounds(&shown)),
            (Scale::Log, _) => log_layout(bounds(&shown)),
        }
    }
}

/// An axis's display range and tick positions, all in display space.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) ticks: Vec<f64>,
}

/// A [`Layout`] is the coordinate plotters draws an axis with: our range, and ticks
/// exactly where the layout put them (plotters' own `f64` coordinate would pick its own).
impl Ranged for Layout {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        let fraction = if span > 0.0 {
            (value - self.lo) / span
        } else {
            0.5
        };
        let pixels = f64::from(limit.1 - limit.0) * fraction;
        // Saturating float-to-int keeps a wild value from wrapping around the chart.
        limit.0.saturating_add(pixels.round() as i32)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light (minor) grid lines would add nothing to 1-2-5 ticks.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

fn bounds(values: &[f64]) -> Option<(f64, f64)> {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// Round ticks (1, 2, 5 × 10^k apart), about `TARGET_TICKS` of them, and a range that
/// starts and ends on a tick.
fn linear_layout(bounds: Option<(f64, f64)>) -> Layout {
    const TARGET_TICKS: f64 = 5.0;
    let (mut lo, mut hi) = bounds.unwrap_or((0.0, 1.0));
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let half = if lo == 0.0 { 1.0 } else { lo.abs() * 0.5 };
        lo -= half;
        hi += half;
        if bounds.is_some_and(|(l, _)| l >= 0.0) {
            lo = lo.max(0.0);
        }
    }
    let step = nice_step((hi - lo) / TARGET_TICKS);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let ticks: Vec<f64> = (0..=((last - first) as i64).clamp(1, 50))
        .map(|i| (first + i as f64) * step)
        .collect();
    Layout {
        lo: first * step,
        hi: last * step,
        ticks,
    }
}

/// [`linear_layout`] in units of the largest binary prefix (KiB, MiB, …) below the
/// data, so byte ticks read `1 MiB, 2 MiB` rather than `977 KiB, 1.91 MiB`.
fn binary_layout(bounds: Option<(f64, f64)>) -> Layout {
    let largest = bounds.map_or(0.0, |(lo, hi)| lo.abs().max(hi.abs()));
    let mut unit = 1.0;
    while largest / unit >= 1024.0 && unit < 1024f64.powi(5) {
        unit *= 1024.0;
    }
    let layout = linear_layout(bounds.map(|(lo, hi)| (lo / unit, hi / unit)));
    Layout {
        lo: layout.lo * unit,
        hi: layout.hi * unit,
        ticks: layout.ticks.iter().map(|t| t * unit).collect(),
    }
}

/// The round number (1, 2 or 5 × 10^k) nearest to `raw` (on a log scale), so the axis
/// ends close to the data instead of up to half empty.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let mantissa = raw / magnitude;
    // Geometric midpoints between 1, 2, 5 and 10.
    let nice = if mantissa < 1.5 {
        1.0
    } else if mantissa < 3.2 {
        2.0
    } else if mantissa < 7.1 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Ticks at round values for a log axis whose display bounds are `log10` values:
/// 1-2-5 per decade, thinned to whole decades when the data spans many, thickened to
/// every integer mantissa when it spans less than about a decade.
fn log_layout(bounds: Option<(f64, f64)>) -> Layout {
    /// More ticks than this crowd the axis labels.
    const MAX_TICKS: usize = 9;
    const ONE_TWO_FIVE: &[f64] = &[1.0, 2.0, 5.0];
    const DECADES: &[f64] = &[1.0];
    const EVERY_DIGIT: &[f64] = &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let (lo, hi) = bounds.unwrap_or((0.0, 1.0));
    let layout = log_ticks(lo, hi, ONE_TWO_FIVE);
    if layout.ticks.len() < 3 {
        return log_ticks(lo, hi, EVERY_DIGIT);
    }
    if layout.ticks.len() <= MAX_TICKS {
        return layout;
    }
    let mut layout = log_ticks(lo, hi, DECADES);
    let stride = layout.ticks.len().div_ceil(MAX_TICKS);
    layout.ticks = layout.ticks.into_iter().step_by(stride).collect();
    layout
}

/// The range from the last candidate tick at or below `lo` to the first at or above
/// `hi` (one more on each side when they coincide), with the ticks inside it.
fn log_ticks(lo: f64, hi: f64, mantissas: &[f64]) -> Layout {
    /// Tolerance for a value sitting exactly on a tick after `log10` rounding.
    const EPS: f64 = 1e-9;
    let candidates = log_candidates(lo, hi, mantissas);
    let mut start = candidates.iter().rposition(|&t| t <= lo + EPS).unwrap_or(0);
    let mut end = candidates
        .iter()
        .position(|&t| t >= hi - EPS)
        .unwrap_or(candidates.len().saturating_sub(1));
    if start >= end {
        start = start.saturating_sub(1);
        end = (end + 1).min(candidates.len().saturating_sub(1));
    }
    let ticks = candidates.get(start..=end).unwrap_or_default().to_vec();
    match (ticks.first(), ticks.last()) {
        (Some(&first), Some(&last)) if first < last => Layout {
            lo: first,
            hi: last,
            ticks,
        },
        _ => Layout {
            lo: lo - 0.5,
            hi: hi + 0.5,
            ticks: vec![lo],
        },
    }
}

/// `log10(m × 10^k)` for every mantissa `m` and every decade around `[lo, hi]`.
fn log_candidates(lo: f64, hi: f64, mantissas: &[f64]) -> Vec<f64> {
    let first = lo.floor() as i32 - 1;
    let last = (hi.ceil() as i32 + 1).min(first + 40);
    (first..=last)
        .flat_map(|k| mantissas.iter().map(move |m| m.log10() + f64::from(k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(axis: &Axis, values: &[f64]) -> Vec<String> {
        axis.layout(values.iter().copied())
            .ticks
            .iter()
            .map(|&t| axis.unit.label(axis.scale.value_at(t)))
            .collect()
    }

    #[test]
    fn linear_ticks_are_round_and_include_zero() {
        let axis = Axis::new("ops/s", Scale::Linear, Unit::Count);
        assert_eq!(
            labels(&axis, &[1.2e6, 3.7e6]),
            ["0", "1M", "2M", "3M", "4M"]
        );
    }

    #[test]
    fn byte_ticks_are_round_in_binary_units() {
        let axis = Axis::new("bytes", Scale::Linear, Unit::Bytes);
        assert_eq!(
            labels(&axis, &[0.0, 2.9 * 1024.0 * 1024.0]),
            [
                "0 B", "512 KiB", "1 MiB", "1.5 MiB", "2 MiB", "2.5 MiB", "3 MiB"
            ]
        );
    }

    #[test]
    fn log_ticks_within_a_decade_still_exist() {
        let axis = Axis::new("ops/s", Scale::Log, Unit::Count);
        let got = labels(&axis, &[2.2e6, 2.9e6]);
        assert!(got.len() >= 2, "{got:?}");
        assert_eq!(got.first().map(String::as_str), Some("2M"));
    }

    #[test]
    fn log_ticks_over_decades_are_1_2_5_or_decades() {
        let axis = Axis::new("ops/s", Scale::Log, Unit::Count);
        assert_eq!(
            labels(&axis, &[1.5e5, 4e6]),
            ["100k", "200k", "500k", "1M", "2M", "5M"]
        );
        let wide = labels(&axis, &[3.0, 4e9]);
        assert_eq!(wide.first().map(String::as_str), Some("1"));
        assert!(wide.len() <= 11, "{wide:?}");
    }

    #[test]
    fn degenerate_inputs_give_a_usable_range() {
        for scale in [Scale::Linear, Scale::Log] {
            for values in [&[][..], &[0.0], &[-5.0], &[7.0], &[f64::NAN, f64::INFINITY]] {
                let layout = Axis::new("", scale, Unit::Count).layout(values.iter().copied());
                assert!(layout.lo < layout.hi, "{scale:?} {values:?} {layout:?}");
                assert!(!layout.ticks.is_empty());
            }
        }
        let threads = Axis::new("threads", Scale::Log, Unit::Plain).ticks_at([4.0]);
        let layout = threads.layout([4.0]);
        assert!(layout.lo < layout.hi);
        assert_eq!(labels(&threads, &[4.0]), ["4"]);
    }

    #[test]
    fn scale_choice_follows_the_spread() {
        assert_eq!(Scale::for_values([1.0, 5.0]), Scale::Linear);
        assert_eq!(Scale::for_values([1.0, 500.0]), Scale::Log);
        assert_eq!(Scale::for_values([0.0, 500.0]), Scale::Linear);
        assert_eq!(Scale::for_values([]), Scale::Linear);
    }
}
