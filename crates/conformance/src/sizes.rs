//! How big the checks are: full on a host, small under Miri, stress iterations from the
//! environment.

/// Environment variable giving the number of stress round trips (default 2,000; 3 under
/// Miri). Raise it for soak runs, lower it under qemu.
pub const STRESS_ENV: &str = "RECLAIM_STRESS_ITERS";

/// Sizes of the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Random operation sequences the sequential model tries.
    pub sequential_cases: u64,
    /// Operations per sequence, at most, and push/pop rounds of the counter check.
    pub sequential_ops: usize,
    /// Values each producer pushes in the concurrent checks.
    pub per_producer: u64,
    /// Producers in the concurrent checks.
    pub producers: usize,
    /// Consumers in the concurrent checks, where the backend allows more than one.
    pub consumers: usize,
    /// Round trips of the stress check.
    pub stress_iterations: u64,
    /// Values per producer in one stress round trip.
    pub stress_values: u64,
}

impl Sizes {
    /// The sizes for this build (host or Miri), with the stress count from
    /// [`STRESS_ENV`] if set.
    ///
    /// # Panics
    /// If [`STRESS_ENV`] is set to something other than a whole number: a test run asked
    /// for a size it cannot have, and must stop with a message rather than run another.
    pub fn from_env() -> Sizes {
        let mut sizes = if cfg!(miri) {
            Sizes {
                sequential_cases: 6,
                sequential_ops: 24,
                per_producer: 40,
                producers: 2,
                consumers: 2,
                stress_iterations: 3,
                stress_values: 8,
            }
        } else {
            Sizes {
                sequential_cases: 200,
                sequential_ops: 200,
                per_producer: 20_000,
                producers: 3,
                consumers: 2,
                stress_iterations: 2_000,
                stress_values: 64,
            }
        };
        if let Some(value) = std::env::var_os(STRESS_ENV) {
            let text = value.to_string_lossy();
            sizes.stress_iterations = text.trim().parse().unwrap_or_else(|_| {
                panic!("{STRESS_ENV}={text:?}: expected a whole number of stress iterations")
            });
        }
        sizes
    }
}
