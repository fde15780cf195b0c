//! Medians and their confidence intervals, without assuming a distribution.
//!
//! Throughput on a shared machine is not normally distributed: a repeat that loses its
//! core to another process is slower by any amount, never faster by as much. So rows
//! report medians, and a median's interval comes from order statistics (the interval the
//! sign test inverts): for `n` values, the `k`-th smallest and the `k`-th largest, with
//! `k` the largest rank for which fewer than 2.5% of samples of `n` would have `k` or
//! more values beyond the median on one side. It holds the true median with probability
//! at least 95% whatever the distribution, so long as the values are independent and
//! identically distributed — which is what running a comparison in interleaved rounds
//! is for. It needs at least [`MIN_VALUES`] values: with five, even the smallest and
//! largest value bound the median with only 94% confidence.
//!
//! A ratio between two backends is the median of their per-round ratios (paired: both
//! ran in the same round, so a slow period slows both), with the interval of that
//! median. An interval that contains 1 says the two are within noise of each other.

/// Two-sided confidence of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// The fewest values a 95% interval for a median can be built from.
pub const MIN_VALUES: usize = 6;

/// A row whose median or ratio interval is wider than this, in percent of its median on
/// either side, is marked noisy: its number is not one to lean on.
pub const NOISY_INTERVAL_PCT: f64 = 10.0;

/// A row during whose repeats the hypervisor stole more than this share of CPU time, in
/// percent, is marked noisy.
pub const NOISY_STEAL_PCT: f64 = 5.0;

/// A row whose workers waited for a CPU more than this share of their time, in percent,
/// while there were no more of them than cores, is marked noisy: something else ran.
pub const NOISY_RUNQUEUE_DELAY_PCT: f64 = 10.0;

/// The median of `values` (the mean of the two middle ones for an even count), or
/// `None` if there are none or one is not finite.
pub fn median(values: &[f64]) -> Option<f64> {
    let sorted = sorted(values)?;
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

/// A distribution-free 95% confidence interval for the median of `values`, or `None`
/// with fewer than [`MIN_VALUES`] values or a value that is not finite.
pub fn median_ci95(values: &[f64]) -> Option<[f64; 2]> {
    let sorted = sorted(values)?;
    let k = order_statistic_rank(sorted.len())?;
    Some([sorted[k - 1], sorted[sorted.len() - k]])
}

fn sorted(values: &[f64]) -> Option<Vec<f64>> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(sorted)
}

/// The largest `k ≥ 1` with P(Binomial(n, ½) ≤ k − 1) ≤ (1 − [`CONFIDENCE`]) / 2: the
/// `k`-th smallest and `k`-th largest of `n` values bound the median with at least
/// [`CONFIDENCE`]. `None` when even `k = 1` falls short (`n` below [`MIN_VALUES`]).
fn order_statistic_rank(n: usize) -> Option<usize> {
    let tail = (1.0 - CONFIDENCE) / 2.0;
    // P(B = i) in log space: 2^-n underflows nothing for the counts used here, but
    // C(n, i) overflows an f64 from n ≈ 1030 on.
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_term = ln_half_n; // ln P(B = 0)
    let mut cdf = 0.0; // P(B ≤ i − 1) before the step for i
    let mut k = 0;
    for i in 0..n / 2 {
        cdf += ln_term.exp();
        if cdf > tail {
            break;
        }
        k = i + 1;
        // ln P(B = i + 1) from ln P(B = i): times (n − i) / (i + 1).
        ln_term += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
    }
    (k >= 1).then_some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(B ≤ j) for B ~ Binomial(n, ½), exactly, for small n.
    fn binomial_cdf(n: u64, j: u64) -> f64 {
        let mut c = 1u128;
        let mut sum = 0u128;
        for i in 0..=j {
            if i > 0 {
                c = c * u128::from(n - i + 1) / u128::from(i);
            }
            sum += c;
        }
        sum as f64 / 2f64.powi(n as i32)
    }

    #[test]
    fn the_rank_is_the_largest_with_enough_coverage() {
        for n in 1..=100_u64 {
            match order_statistic_rank(n as usize) {
                None => {
                    assert!(n < MIN_VALUES as u64, "no interval for {n} values");
                    assert!(binomial_cdf(n, 0) > 0.025);
                }
                Some(k) => {
                    let k = k as u64;
                    assert!(binomial_cdf(n, k - 1) <= 0.025, "n {n}, k {k} undercovers");
                    assert!(
                        binomial_cdf(n, k) > 0.025,
                        "n {n}, k {k} is not the largest"
                    );
                }
            }
        }
        // The textbook values: 6 values give the extremes, 9 the second ones.
        assert_eq!(order_statistic_rank(5), None);
        assert_eq!(order_statistic_rank(6), Some(1));
        assert_eq!(order_statistic_rank(8), Some(1));
        assert_eq!(order_statistic_rank(9), Some(2));
        assert_eq!(order_statistic_rank(20), Some(6));
        // Large counts stay finite.
        assert!(order_statistic_rank(1000).is_some_and(|k| k > 400 && k < 500));
    }

    #[test]
    fn intervals_bound_the_median_and_shrink_with_more_values() {
        let values = [5.0, 1.0, 4.0, 2.0, 3.0, 6.0];
        assert_eq!(median(&values), Some(3.5));
        assert_eq!(median_ci95(&values), Some([1.0, 6.0]));
        assert_eq!(median_ci95(&values[..5]), None);
        let many: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median_ci95(&many), Some([6.0, 15.0]));
        assert_eq!(median(&[f64::NAN, 1.0]), None);
        assert_eq!(median(&[]), None);
    }

    /// Over many samples of a skewed distribution, the interval holds the true median at
    /// least 95% of the time (a fixed pseudo-random sequence: the check is exact, not
    /// timed or flaky).
    #[test]
    fn the_interval_covers_the_true_median_at_least_95_percent_of_the_time() {
        let mut state = 0x1234_5678_9abc_def0_u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        // Exponential with rate 1: median ln 2.
        let truth = std::f64::consts::LN_2;
        for n in [6, 7, 10, 15, 30] {
            let trials = 4000;
            let covered = (0..trials)
                .filter(|_| {
                    let values: Vec<f64> = (0..n).map(|_| -(1.0 - uniform()).ln()).collect();
                    let [low, high] = median_ci95(&values).unwrap();
                    low <= truth && truth <= high
                })
                .count();
            let coverage = covered as f64 / trials as f64;
            assert!(coverage >= 0.94, "{n} values: coverage {coverage}");
        }
    }
}
