//! The rhythm of a measured loop: how many iterations run between two reads of the clock,
//! and which operation of each such batch is timed on its own.

use reclaim_core::SplitMix64;

/// Loop iterations between two reads of the clock (and two publications of progress).
/// Large enough that a clock read (20–50 ns under a hypervisor) costs under 1% of a batch
/// of the fastest operations, small enough that a thread overshoots the deadline by
/// microseconds, not milliseconds.
pub(crate) const BATCH: u32 = 64;

/// Which operation of a batch is timed: drawn at random for every batch.
///
/// A fixed position aliases with anything periodic in the backend. crossbeam-epoch tries
/// to collect every 128 pins, and a Michael–Scott queue pins twice per pair, so with the
/// first operation of every 64-pair batch timed, every timed operation was the one that
/// collected: `msqueue-ebr`'s p50 read 780 ns against a mean of 30 ns. A uniform draw
/// per batch times each operation of the batch equally often.
#[derive(Debug)]
pub(crate) struct SamplePosition {
    positions: SplitMix64,
}

impl SamplePosition {
    /// A generator for worker `index` (a fixed seed: runs time the same positions).
    pub(crate) fn new(index: usize) -> SamplePosition {
        SamplePosition {
            positions: SplitMix64::new(index as u64 ^ 0x5eed_0f1a_7ec7_e500),
        }
    }

    /// The next position in `0..within` (a power of two).
    #[inline]
    pub(crate) fn next(&mut self, within: u32) -> u32 {
        debug_assert!(within.is_power_of_two());
        self.positions.below(u64::from(within)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timed operation moves within the batch: every position of a pairs batch (2 × 64
    /// operations) comes up, about equally often, and never in a short cycle that could line
    /// up with a backend's own period (crossbeam-epoch's collection every 128 pins).
    #[test]
    fn the_timed_operation_is_drawn_anew_for_every_batch() {
        const WITHIN: u32 = 2 * BATCH;
        const DRAWS: usize = 128 * 400;
        let mut positions = SamplePosition::new(3);
        let drawn: Vec<u32> = (0..DRAWS).map(|_| positions.next(WITHIN)).collect();
        let mut seen = vec![0usize; WITHIN as usize];
        for &p in &drawn {
            seen[p as usize] += 1;
        }
        let expected = DRAWS / WITHIN as usize;
        for (position, &n) in seen.iter().enumerate() {
            assert!(
                n > expected / 2 && n < expected * 3 / 2,
                "position {position} drawn {n} times, expected about {expected}"
            );
        }
        for period in 1..=256 {
            let repeats = drawn
                .windows(period + 1)
                .filter(|w| w[0] == w[period])
                .count();
            assert!(
                repeats < DRAWS / 32,
                "positions repeat with period {period} ({repeats} times)"
            );
        }
        // Another worker draws other positions.
        let mut other = SamplePosition::new(4);
        let same = drawn
            .iter()
            .take(1000)
            .filter(|&&p| p == other.next(WITHIN))
            .count();
        assert!(
            same < 50,
            "workers 3 and 4 draw the same positions ({same} of 1000)"
        );
    }
}
