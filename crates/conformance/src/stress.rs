//! Many short lives: build, share between threads, push and pop a little, tear down.
//! Catches what long runs do not: races at start-up, values stranded at teardown, domains
//! that free too early or too late.

use crate::concurrent::{check_exactly_once, consumers_for, run_prodcons};
use crate::{CheckResult, Sizes};
use reclaim_core::Backend;

/// Repeats a small two-sided round trip [`Sizes::stress_iterations`] times (2,000 by
/// default, `RECLAIM_STRESS_ITERS` to change), each on a fresh container.
pub fn stress_round_trip<B: Backend>() -> CheckResult {
    let sizes = Sizes::from_env();
    let consumers = consumers_for::<B>(2);
    for iteration in 0..sizes.stress_iterations {
        let logs = run_prodcons::<B>(2, consumers, sizes.stress_values)?;
        check_exactly_once(2, sizes.stress_values, logs.iter().flatten())
            .map_err(|e| format!("iteration {iteration}: {e}"))?;
    }
    Ok(())
}
