//! A repeat over a set: the prefill, the mix loop, the stalled reader, and the check.
//!
//! # What a run does
//!
//! Before the clock, the set is filled to half its key range with keys drawn at random
//! (the steady state of a mix with as many inserts as removes). Each thread then draws,
//! per operation, one 64-bit random number: its high half picks the key (uniform over the
//! range), its low half the operation (by the mix's percentages). The loop's rhythm —
//! batches of [`BATCH`] operations between clock reads, one operation per batch timed at
//! a random position — is the containers' (`roles.rs`). An operation is counted whether
//! it succeeds or not: an `insert` of a present key is as much work as one that adds it.
//! After each batch the loop reads how many nodes the batch's last operation visited
//! (`SetHandle::visited`), for the row's `visited_per_op`: a sample of one operation in
//! [`BATCH`], every kind in the mix's proportion.
//!
//! # The check
//!
//! As setbench does: each thread keeps a digest (count and power sums, `check.rs`) of the
//! keys its inserts added and of those its removes took out. At the end the set's
//! contents are read back by asking `contains` of every key of the range, and the
//! prefilled keys plus the keys inserted must equal the keys removed plus the keys left,
//! as multisets. A lost insert, a remove that succeeded twice, a `contains` that misses a
//! present key — each unbalances it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use reclaim_core::{ConcurrentSet, ReclaimStats, SetHandle};

use super::check::Digest;
use super::roles::{Role, RunControl, Worker, hold_until_churned};
use super::{Params, Rig, Subject};
use crate::batch::BATCH;
use crate::error::RepeatError;
use crate::plan::SetRun;
use crate::workload::{Mix, Zipf};
use reclaim_core::SplitMix64;

/// A set with what its prefill put in it.
pub(super) struct Sets<S> {
    set: S,
    run: SetRun,
    prefilled: Digest,
    /// Set by a long reader whose set could not walk.
    cannot_walk: AtomicBool,
}

impl<S: ConcurrentSet> Subject for Sets<S> {
    fn build(params: &Params) -> Result<Self, RepeatError> {
        let run = params.set.ok_or(RepeatError::NoKeyRange)?;
        let config = params.config.clone().with_keys(run.keys);
        let set = S::new(&config).map_err(RepeatError::Build)?;
        let prefilled = prefill(&set, run.keys)?;
        Ok(Sets {
            set,
            run,
            prefilled,
            cannot_walk: AtomicBool::new(false),
        })
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        self.set.reclamation()
    }

    #[inline]
    fn work(&self, index: usize, role: Role, _: &Rig, control: &RunControl<'_>, w: &mut Worker) {
        let mut handle = self.set.handle();
        match role {
            Role::Stalled => stalled(&mut handle, control, w),
            Role::Walker => {
                long_reader(&mut handle, control, w);
                if w.walks.is_none() {
                    self.cannot_walk.store(true, Ordering::Relaxed);
                }
            }
            // Set shapes give every other thread the mix.
            _ => mixed(&mut handle, Keys::new(index, self.run), control, w),
        }
    }

    fn check(&self, workers: &[(usize, Worker)]) -> Result<(), String> {
        if self.cannot_walk.load(Ordering::Relaxed) {
            return Err(
                "this set cannot walk its keys (`SetHandle::walk`): it has no long \
                        reader to measure"
                    .to_string(),
            );
        }
        check(&self.set, self.run.keys, self.prefilled, workers)
    }
}

/// Draws the prefill may take per key of the range: half the range takes about 0.7
/// draws a key on average (a draw finds a key not yet in with probability at least a
/// half), so a set that still lacks half its keys after this many refuses inserts.
const PREFILL_DRAWS_PER_KEY: u64 = 64;

/// Fills `set` with half of `0..keys`, drawn at random; the digest of what went in. An
/// error, not a hang, for a set whose inserts keep failing.
fn prefill<S: ConcurrentSet>(set: &S, keys: u64) -> Result<Digest, RepeatError> {
    let mut handle = set.handle();
    let mut draws = SplitMix64::new(0x5e7_f111 ^ keys);
    let mut added = Digest::default();
    let most = keys.saturating_mul(PREFILL_DRAWS_PER_KEY);
    let mut drawn = 0;
    while added.count < keys / 2 {
        if drawn == most {
            return Err(RepeatError::Prefill {
                inserted: added.count,
                wanted: keys / 2,
                draws: drawn,
            });
        }
        drawn += 1;
        let key = draws.below(keys);
        if handle.insert(key) {
            added.add(key);
        }
    }
    Ok(added)
}

/// The harness's generator, as `rand_distr`'s distributions draw from one.
struct Draws(SplitMix64);

impl rand_core::TryRng for Draws {
    type Error = std::convert::Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.0.next_u64() >> 32) as u32)
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.0.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// One thread's draws: a key and an operation per random number.
struct Keys {
    draws: Draws,
    keys: u64,
    /// `contains` below this in `0..2³²`, `insert` from it to `insert_below`.
    read_below: u64,
    insert_below: u64,
    /// With `--zipf`: the ranks' distribution, and the prime that scatters them.
    zipf: Option<(rand_distr::Zipf<f64>, u64)>,
}

/// Primes that scatter Zipf ranks over the key range: rank `r` is key `r × p mod keys`,
/// a permutation of the range when `p` and `keys` are coprime, which one of the two is
/// for every range up to 2³² (their product exceeds it).
const SCATTER: [u64; 2] = [2_147_483_647, 3_037_000_493];

impl Keys {
    fn new(index: usize, run: SetRun) -> Keys {
        let Mix { read, insert, .. } = run.mix;
        let share = |percent: u32| (u64::from(percent) << 32) / 100;
        let zipf = run.zipf.map(|Zipf(s)| {
            // Valid by `Settings::validate`: s in (0, 10], keys ≥ 2.
            let ranks = rand_distr::Zipf::new(run.keys as f64, s)
                .expect("the exponent and the range were checked");
            let prime = SCATTER
                .into_iter()
                .find(|p| !run.keys.is_multiple_of(*p))
                .expect("no range up to 2^32 is a multiple of both");
            (ranks, prime)
        });
        Keys {
            draws: Draws(SplitMix64::new(
                0x6b65_7973 ^ (index as u64).wrapping_mul(0x9e37_79b9),
            )),
            keys: run.keys,
            read_below: share(u32::from(read)),
            insert_below: share(u32::from(read) + u32::from(insert)),
            zipf,
        }
    }

    /// The next operation's key (high half of the draw, scaled to the range; or a Zipf
    /// rank, scattered) and its kind (low half, against the mix's thresholds).
    #[inline]
    fn next(&mut self) -> (u64, Op) {
        let r = self.draws.0.next_u64();
        let key = match &self.zipf {
            // keys ≤ 2³²: the product fits 64 bits.
            None => ((r >> 32) * self.keys) >> 32,
            Some((ranks, prime)) => {
                let rank = rand_distr::Distribution::sample(ranks, &mut self.draws) as u64;
                // Ranks are 1 to keys; the product of two values below 2³² fits.
                ((rank.clamp(1, self.keys) - 1) * (prime % self.keys)) % self.keys
            }
        };
        let low = r & 0xffff_ffff;
        let op = if low < self.read_below {
            Op::Contains
        } else if low < self.insert_below {
            Op::Insert
        } else {
            Op::Remove
        };
        (key, op)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Contains,
    Insert,
    Remove,
}

/// Runs the mix: `contains`, `insert` and `remove` on drawn keys, tallying what the
/// inserts added (`w.pushed`) and the removes took (`w.popped`), and sampling the nodes
/// visited (`w.visits`): after each batch, what the batch's last operation visited
/// (`SetHandle::visited`) — one operation in [`BATCH`], of a kind drawn like any other,
/// for a read of a field and an addition a batch.
#[inline(never)]
fn mixed<H: SetHandle>(handle: &mut H, mut keys: Keys, control: &RunControl<'_>, w: &mut Worker) {
    if !control.start.wait() {
        return;
    }
    w.start();
    let deadline = control.stop.deadline(w.started);
    let mut done = 0;
    let (mut visited, mut sampled) = (0u64, 0u64);
    while let Some(batch) = control.stop.next_batch(done, deadline) {
        let sample = w.sample_position(BATCH);
        for i in 0..batch {
            let (key, op) = keys.next();
            let timed = (sample == i).then(Instant::now);
            match op {
                Op::Contains => {
                    std::hint::black_box(handle.contains(key));
                }
                Op::Insert => {
                    if handle.insert(key) {
                        w.pushed.add(key);
                    }
                }
                Op::Remove => {
                    if handle.remove(key) {
                        w.popped.add(key);
                    }
                }
            }
            if let Some(t) = timed {
                w.record(t);
            }
        }
        // A constant `None` for sets that cannot say: the branch folds away.
        if let Some(nodes) = handle.visited() {
            visited += nodes;
            sampled += 1;
        }
        done += u64::from(batch);
    }
    w.end();
    w.ops = done;
    w.visits = (sampled > 0).then_some((visited, sampled));
}

/// Holds on inside an operation from before the start until every other thread is done:
/// a reader that does not leave.
fn stalled<H: SetHandle>(handle: &mut H, control: &RunControl<'_>, w: &mut Worker) {
    let held = handle.stall(&mut || hold_until_churned(control, w));
    w.held = Some(held);
}

/// Walks the whole set, again and again, until every other thread is done: the long
/// reader. Each walk is one read-side critical section (`SetHandle::walk`).
fn long_reader<H: SetHandle>(handle: &mut H, control: &RunControl<'_>, w: &mut Worker) {
    if !control.start.wait() {
        return;
    }
    w.start();
    let (mut walks, mut passed) = (0, 0);
    while !control.churned.load(Ordering::Acquire) {
        match handle.walk() {
            Some(nodes) => {
                walks += 1;
                passed += nodes;
            }
            // Said by the check: a row whose reader never read is not a long-reader row.
            None => break,
        }
    }
    w.end();
    w.walks = (walks > 0).then_some((walks, passed));
}

/// Whether the prefill plus every thread's inserts equal every thread's removes plus
/// what the set holds at the end (see the module docs).
fn check<S: ConcurrentSet>(
    set: &S,
    keys: u64,
    prefilled: Digest,
    workers: &[(usize, Worker)],
) -> Result<(), String> {
    let (mut added, mut taken) = (prefilled, Digest::default());
    for (_, w) in workers {
        added.merge(w.pushed);
        taken.merge(w.popped);
    }
    let (inserted, removed) = (added.count - prefilled.count, taken.count);
    let mut handle = set.handle();
    let mut left = Digest::default();
    for key in 0..keys {
        if handle.contains(key) {
            left.add(key);
        }
    }
    drop(handle);
    taken.merge(left);
    if added == taken {
        return Ok(());
    }
    let tally = format!(
        "{} prefilled + {inserted} inserted − {removed} removed should leave {}, and {} \
         keys are present",
        prefilled.count,
        added.count as i128 - removed as i128,
        left.count
    );
    Err(if added.count == taken.count {
        format!("{tally}, but not the keys the operations left (a key lost and another added)")
    } else {
        tally
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The drawn operations follow the mix and the keys cover the range.
    #[test]
    fn draws_follow_the_mix_and_cover_the_range() {
        let run = SetRun {
            keys: 1_000,
            mix: Mix::READ_MOSTLY,
            zipf: None,
        };
        let mut keys = Keys::new(3, run);
        let (mut counts, mut seen) = ([0usize; 3], vec![false; 1_000]);
        const DRAWS: usize = 200_000;
        for _ in 0..DRAWS {
            let (key, op) = keys.next();
            seen[key as usize] = true;
            counts[op as usize] += 1;
        }
        assert!(seen.iter().all(|&s| s), "every key of the range drawn");
        let percent = |n: usize| n as f64 * 100.0 / DRAWS as f64;
        assert!((percent(counts[0]) - 90.0).abs() < 0.5, "{counts:?}");
        assert!((percent(counts[1]) - 5.0).abs() < 0.3, "{counts:?}");
        assert!((percent(counts[2]) - 5.0).abs() < 0.3, "{counts:?}");
        // No insert or remove at all in a read-only mix, no contains in a write-heavy one.
        let mut read_only = Keys::new(
            0,
            SetRun {
                keys: 10,
                mix: Mix::READ_ONLY,
                zipf: None,
            },
        );
        assert!((0..10_000).all(|_| read_only.next().1 == Op::Contains));
        let mut writes = Keys::new(
            0,
            SetRun {
                keys: 10,
                mix: Mix::WRITE_HEAVY,
                zipf: None,
            },
        );
        assert!((0..10_000).all(|_| writes.next().1 != Op::Contains));
    }

    /// Zipf keys: every draw in the range, the hottest key far above its uniform share,
    /// and the hot keys scattered rather than the first few of the range.
    #[test]
    fn zipf_keys_are_skewed_and_scattered() {
        for keys in [1_000, 1 << 20, 2_147_483_647 * 2] {
            let run = SetRun {
                keys,
                mix: Mix::READ_MOSTLY,
                zipf: Some(Zipf(0.99)),
            };
            let mut draws = Keys::new(1, run);
            let mut counts = std::collections::HashMap::new();
            const DRAWS: usize = 100_000;
            for _ in 0..DRAWS {
                let (key, _) = draws.next();
                assert!(key < keys);
                *counts.entry(key).or_insert(0usize) += 1;
            }
            let (&hottest, &n) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
            assert!(n > DRAWS / 50, "{keys}: the hottest key drawn {n} times");
            let mut hot: Vec<u64> = counts
                .iter()
                .filter(|(_, n)| **n > DRAWS / 1_000)
                .map(|(k, _)| *k)
                .collect();
            hot.sort_unstable();
            assert!(hot.len() >= 5, "{keys}: {hot:?}");
            assert!(
                hot.last().unwrap() - hot[0] > keys / 4,
                "{keys}: hot keys bunched: {hot:?} (hottest {hottest})"
            );
        }
    }
}
