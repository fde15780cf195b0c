//! SplitMix64 (Steele, Lea and Flood, 2014): a generator whose output function is a
//! strong bijective mixer — the one generator of the workspace, for everything that must
//! be random yet reproducible (the harness's draws and shuffles, the structures' tower
//! heights, the conformance suite's operations). The harness uses the mixer to checksum values (a wrapping sum
//! of mixed values tells multisets apart that a plain sum would confuse: a lost 5 and a
//! duplicated 2 and 3), and the generator for choices that must not line up with
//! anything periodic — the timed operation of a batch, the order of rows in a round —
//! from a seed, so that a run can be repeated.

/// The generator's step: an odd constant, 2⁶⁴ divided by the golden ratio.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The first output of a generator seeded with `value`: a bijection of the 64-bit
/// values that spreads every input bit over the whole output.
#[inline]
pub fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator: a state that walks by a fixed odd step, each step's output its [`mix`].
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from `seed`; the same seed gives the same outputs.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let out = mix(self.state);
        self.state = self.state.wrapping_add(GAMMA);
        out
    }

    /// The state: a generator made anew from it continues where this one is.
    pub fn state(&self) -> u64 {
        self.state
    }

    /// A value in `0..n` (`n > 0`), by multiply-shift: uneven by at most `n / 2⁶⁴`.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published first outputs of SplitMix64 seeded with 1234567 (the reference
    /// implementation in Vigna's `splitmix64.c`).
    #[test]
    fn outputs_match_the_reference() {
        let mut g = SplitMix64::new(1_234_567);
        let first: Vec<u64> = (0..3).map(|_| g.next_u64()).collect();
        assert_eq!(
            first,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn below_stays_below() {
        let mut g = SplitMix64::new(9);
        assert!((0..10_000).all(|_| g.below(7) < 7));
        assert_eq!(SplitMix64::new(9).below(1), 0);
    }
}
