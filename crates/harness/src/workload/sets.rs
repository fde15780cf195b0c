//! The set workloads: every thread runs an operation mix — `contains`, `insert` and
//! `remove` on keys drawn uniformly from a key range — over a set prefilled to half the
//! range, the shape the research harnesses (setbench, smr-benchmark, IBR, Hyaline) measure
//! sets with.
//!
//! # The mixes
//!
//! `read-only` 100/0/0, `read-mostly` 90/5/5, `balanced` 50/25/25, `write-heavy` 0/50/50
//! (percent `contains` / `insert` / `remove`), or any mix given with `--mix R/I/D`, which
//! replaces the named workload's. Inserts and removes come in equal shares in every named
//! mix, so the set stays near half full: with the keys uniform, an insert succeeds about
//! as often as a remove, and the prefill to half the range is the steady state from the
//! first operation. `read-only` retires nothing: it measures what a scheme costs readers
//! alone (an epoch pin, a hazard pointer's fence per node visited).
//!
//! # The key range
//!
//! `--keys N`; by default 1,024 for lists and 100,000 for the others. A list is walked
//! from its head, so an operation costs a quarter of the range in nodes visited on
//! average (half the keys present, half of those passed): 1,024 keys keeps a list
//! operation near the cost of a few hundred hops, where traversal — the cost that parts
//! the schemes — dominates, and lets a run do enough operations to measure; the research
//! harnesses use ranges of this size for lists. A hash map or a skip list reaches a key
//! in a few hops whatever the range, so their range is set by memory instead: 100,000
//! keys (50,000 present) is a structure of a few megabytes, larger than the caches of
//! the small machines this tool targets, so that a run measures memory traffic, not a
//! structure that fits in L1.
//!
//! With `--zipf S` the keys are drawn from a Zipf distribution of exponent `S` instead
//! ([`Zipf`]); the prefill stays uniform.
//!
//! `stalled` and `oversubscription` run sets too, with the `balanced` mix (or `--mix`).
//!
//! # `long-reader`
//!
//! One thread walks the whole set — every node, in one read-side critical section — again
//! and again, while the others run `balanced` (or `--mix`): what an iterator, a snapshot
//! or a periodic report does to a set in production. Under epochs the walk holds back
//! every node retired while it runs, so garbage grows with the walk's length; hazard
//! pointers hold only the few nodes under the walker's hazards; a lock held for the walk
//! holds back the writers instead. The row's throughput is the other threads'; the
//! walks are counted beside it. The garbage and memory series are the result.

use std::fmt;
use std::str::FromStr;

use reclaim_core::SetInfo;

use super::{Shape, ShapeError, Workload};

/// Percentages of `contains`, `insert` and `remove`; they add up to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mix {
    /// `contains`, in percent.
    pub read: u8,
    /// `insert`, in percent.
    pub insert: u8,
    /// `remove`, in percent.
    pub remove: u8,
}

impl Mix {
    /// 100% `contains`.
    pub const READ_ONLY: Mix = Mix::of(100, 0, 0);
    /// 90% `contains`, 5% `insert`, 5% `remove`.
    pub const READ_MOSTLY: Mix = Mix::of(90, 5, 5);
    /// 50% `contains`, 25% `insert`, 25% `remove`.
    pub const BALANCED: Mix = Mix::of(50, 25, 25);
    /// 50% `insert`, 50% `remove`.
    pub const WRITE_HEAVY: Mix = Mix::of(0, 50, 50);

    const fn of(read: u8, insert: u8, remove: u8) -> Mix {
        Mix {
            read,
            insert,
            remove,
        }
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.read, self.insert, self.remove)
    }
}

/// A `--mix` that is not three percentages adding up to 100.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad mix `{0}`: give three whole percentages of contains/insert/remove adding up to \
     100, like 90/5/5"
)]
pub struct BadMix(pub String);

/// `"90/5/5"`: percent `contains` / `insert` / `remove`.
impl FromStr for Mix {
    type Err = BadMix;

    fn from_str(text: &str) -> Result<Mix, BadMix> {
        let bad = || BadMix(text.to_string());
        let parts: Vec<u8> = text
            .split('/')
            .map(|p| p.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        match parts[..] {
            [read, insert, remove]
                if u32::from(read) + u32::from(insert) + u32::from(remove) == 100 =>
            {
                Ok(Mix::of(read, insert, remove))
            }
            _ => Err(bad()),
        }
    }
}

/// The exponent `s` of Zipf-distributed keys (`--zipf S`): the key of rank `k` is drawn
/// with probability proportional to `1 / k^s`, so a few keys take most operations, as
/// real caches and indexes see (`s` near 1 is the usual model). Ranks are scattered over
/// the range (multiplied by a prime coprime to it), so that the hot keys are not all at
/// the head of a list. Compared as bits: equal exponents are equal settings.
#[derive(Clone, Copy, Debug)]
pub struct Zipf(pub f64);

impl PartialEq for Zipf {
    fn eq(&self, other: &Zipf) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Zipf {}

impl fmt::Display for Zipf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zipf s = {}", self.0)
    }
}

/// Largest Zipf exponent accepted: beyond it one key takes nearly every operation.
pub const MAX_ZIPF: f64 = 10.0;

/// Fewest keys a run accepts: half are prefilled, and the check needs some to move.
pub const MIN_KEYS: u64 = 2;
/// Most keys a run accepts: keys stay below 2³², which keeps the run's digest exact (see
/// the driver's check) and a full scan of the range at the end affordable.
pub const MAX_KEYS: u64 = 1 << 32;

/// The key range when `--keys` is not given: see the module docs.
pub fn default_keys(info: &SetInfo) -> u64 {
    match info.structure {
        "hmlist" | "harris" => 1_024,
        _ => 100_000,
    }
}

/// `list`'s line for `long-reader`.
pub(super) const LONG_READER_SUMMARY: &str =
    "sets: one thread walks the whole set again and again; the others run balanced";

/// One line for `list`.
pub(super) fn summary(mix: Mix) -> &'static str {
    match mix {
        Mix::READ_ONLY => "sets: every operation a contains (100/0/0 contains/insert/remove)",
        Mix::READ_MOSTLY => "sets: 90% contains, 5% insert, 5% remove",
        Mix::BALANCED => "sets: 50% contains, 25% insert, 25% remove",
        _ => "sets: 50% insert, 50% remove",
    }
}

/// The mix a workload runs on a set when no `--mix` is given; `None` for the workloads
/// sets do not run (`pairs`, `prodcons`, `mpsc`, `handoff`, the graph workloads).
pub fn named_mix(workload: Workload) -> Option<Mix> {
    match workload {
        Workload::ReadOnly => Some(Mix::READ_ONLY),
        Workload::ReadMostly => Some(Mix::READ_MOSTLY),
        Workload::Balanced => Some(Mix::BALANCED),
        Workload::WriteHeavy => Some(Mix::WRITE_HEAVY),
        Workload::Stalled | Workload::Oversubscription | Workload::LongReader => {
            Some(Mix::BALANCED)
        }
        Workload::Pairs
        | Workload::Prodcons
        | Workload::Mpsc
        | Workload::Handoff
        | Workload::Graph
        | Workload::GraphForced => None,
    }
}

/// Who does what when `workload` runs `threads` threads on a set, on a machine with
/// `cores` hardware threads; `None` for a workload sets do not run.
pub(super) fn shape(
    workload: Workload,
    threads: usize,
    cores: usize,
) -> Option<Result<Shape, ShapeError>> {
    named_mix(workload)?;
    Some(match workload {
        _ if threads == 0 => Err(ShapeError::NoThreads),
        Workload::Stalled if threads < 2 => Err(ShapeError::TooFewThreads {
            needs: 2,
            roles: "the stalled one and one that runs the mix",
        }),
        Workload::Stalled => Ok(Shape {
            mixed: threads - 1,
            stalled: 1,
            ..Shape::default()
        }),
        Workload::LongReader if threads < 2 => Err(ShapeError::TooFewThreads {
            needs: 2,
            roles: "the long reader and one that runs the mix",
        }),
        Workload::LongReader => Ok(Shape {
            mixed: threads - 1,
            walkers: 1,
            ..Shape::default()
        }),
        Workload::Oversubscription if threads <= cores => {
            Err(ShapeError::NotOversubscribed { threads, cores })
        }
        _ => Ok(Shape {
            mixed: threads,
            ..Shape::default()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_parse_and_print_back() {
        assert_eq!("90/5/5".parse::<Mix>(), Ok(Mix::READ_MOSTLY));
        assert_eq!(" 0 / 50 / 50 ".parse::<Mix>(), Ok(Mix::WRITE_HEAVY));
        assert_eq!(Mix::BALANCED.to_string(), "50/25/25");
        for bad in [
            "90/5",
            "90/5/6",
            "a/b/c",
            "",
            "100/0/0/0",
            "-10/60/50",
            "300/0/0",
        ] {
            let err = bad.parse::<Mix>().unwrap_err();
            assert_eq!(err, BadMix(bad.to_string()), "{bad}");
        }
    }

    #[test]
    fn set_shapes_give_every_thread_a_role() {
        let shape = |w, t| shape(w, t, 2).expect("a set workload");
        assert_eq!(shape(Workload::ReadMostly, 3,).unwrap().mixed, 3);
        let stalled = shape(Workload::Stalled, 3).unwrap();
        assert_eq!((stalled.mixed, stalled.stalled), (2, 1));
        assert!(shape(Workload::Stalled, 1).is_err());
        assert!(matches!(
            shape(Workload::Oversubscription, 2),
            Err(ShapeError::NotOversubscribed { .. })
        ));
        assert_eq!(shape(Workload::Oversubscription, 4).unwrap().mixed, 4);
        assert_eq!(shape(Workload::Balanced, 0), Err(ShapeError::NoThreads));
        let reader = shape(Workload::LongReader, 2).unwrap();
        assert_eq!((reader.mixed, reader.walkers, reader.threads()), (1, 1, 2));
        assert!(shape(Workload::LongReader, 1).is_err());
        assert!(super::shape(Workload::Pairs, 2, 2).is_none());
        assert!(super::shape(Workload::Handoff, 2, 2).is_none());
    }
}
