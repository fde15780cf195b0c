//! The conformance suite: what every backend must do, whatever its structure or scheme.
//!
//! Each check is a generic function over a [`Backend`] that returns `Err(message)` on a
//! violation. `tests/registry.rs` runs every check that applies against every registered
//! backend, so a new backend is tested with no test edits; [`checks`] lists them.
//!
//! Sizes adapt to where the suite runs ([`Sizes`]): full on a host, small under Miri, and
//! the stress loop follows `RECLAIM_STRESS_ITERS` (raise it for soak runs, lower it under
//! qemu).

mod concurrent;
mod sequential;
mod sizes;
mod stall;
mod stress;
mod tracked;
mod wait;

pub use concurrent::{concurrent_multiset, per_producer_order};
pub use sequential::sequential_model;
pub use sets::{set_checks, set_disjoint_keys, set_sequential_model, set_shared_keys_add_up};
pub use sizes::{STRESS_ENV, Sizes};
pub use stall::stall_then_resume;
pub use stress::stress_round_trip;
pub use tracked::{Ledger, Tracked, drop_accounting};
pub use wait::wait_for;

use reclaim_core::{Backend, BuildError, Config, Container, Entry, Item};

/// The outcome of one check: `Err` carries a message that names what went wrong.
pub type CheckResult = Result<(), String>;

/// A check that applies to a backend, by name.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    /// The check's name, as test names show it.
    pub name: &'static str,
    /// Runs the check.
    pub run: fn() -> CheckResult,
}

/// The [`Check`] that runs `check::<B>`, named after its function.
macro_rules! check {
    ($check:ident::<$backend:ty>) => {
        Check {
            name: stringify!($check),
            run: $check::<$backend>,
        }
    };
}

// After the macro: the set checks list themselves with it.
mod sets;

/// Every check that applies to backend `B`, with sizes from the environment.
pub fn checks<B: Backend>(entry: &Entry) -> Vec<Check> {
    let mut checks = vec![
        check!(sequential_model::<B>),
        check!(concurrent_multiset::<B>),
        check!(drop_accounting::<B>),
        check!(stress_round_trip::<B>),
        check!(reclamation_counters::<B>),
        check!(stall_then_resume::<B>),
    ];
    if entry.info.ordering.keeps_producer_order() {
        checks.push(check!(per_producer_order::<B>));
    }
    checks
}

/// Builds `B`'s container for items `T`, turning a build error into a check failure.
pub(crate) fn build<B: Backend, T: Item>(config: &Config) -> Result<B::Container<T>, String> {
    B::Container::<T>::new(config)
        .map_err(|e: BuildError| format!("could not build: {}", reclaim_core::error_chain(&e)))
}

/// The configuration checks build with: a small capacity for bounded backends, so that
/// refusals actually happen.
pub(crate) fn config_for<B: Backend>(capacity: usize) -> Config {
    if B::INFO.bounded {
        Config::with_capacity(capacity)
    } else {
        Config::default()
    }
}

/// Reclamation counters, where a backend has them, are consistent: they start at zero,
/// never free more than was retired, only grow, and count at least one retire once
/// values have been popped. Backends without counters (baselines) must say so with
/// `None` every time, not report zeros.
pub fn reclamation_counters<B: Backend>() -> CheckResult {
    let container = build::<B, u64>(&config_for::<B>(64))?;
    let Some(start) = container.reclamation() else {
        return (0..3)
            .all(|_| container.reclamation().is_none())
            .then_some(())
            .ok_or_else(|| "reclamation() switched from None to Some".into());
    };
    if start.retired != 0 || start.freed != 0 {
        return Err(format!("a fresh container reports {start:?}"));
    }
    let rounds = Sizes::from_env().sequential_ops as u64;
    let mut handle = container.handle();
    let mut previous = start;
    for round in 0..rounds {
        use reclaim_core::Handle as _;
        handle
            .push(round)
            .map_err(|_| "push refused on an empty container")?;
        if handle.pop() != Some(round) {
            return Err(format!(
                "round {round}: pop did not return the value pushed"
            ));
        }
        let now = container
            .reclamation()
            .ok_or("reclamation() switched from Some to None")?;
        if now.freed > now.retired {
            return Err(format!("freed more than retired: {now:?}"));
        }
        if now.retired < previous.retired || now.freed < previous.freed {
            return Err(format!(
                "counters went backwards: {previous:?} then {now:?}"
            ));
        }
        previous = now;
    }
    if rounds > 0 && previous.retired == 0 {
        return Err(format!("{rounds} values popped but nothing retired"));
    }
    Ok(())
}
