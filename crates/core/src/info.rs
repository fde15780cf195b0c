//! Static facts about a backend.

use std::fmt;

/// What a backend is. Every field is known at compile time, so listings, result files and
/// workload selection never need to build a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// The structure, in the domain's words: `"treiber"`, `"msqueue"`, `"mutex-vec"`, …
    /// Result files and reports group rows by it (one line per scheme).
    pub structure: &'static str,
    /// The reclamation scheme: `"leak"`, `"ebr"`, `"hp"`, … For baselines, how they free:
    /// `"lock"` (freed inline under a mutex) or `"internal"` (the crate's own scheme).
    pub scheme: &'static str,
    /// The order in which values come back out.
    pub ordering: ItemOrder,
    /// How many threads may pop concurrently.
    pub consumers: Consumers,
    /// Whether `push` can refuse because the container is full.
    pub bounded: bool,
    /// One line for `list`: what a user is looking at.
    pub summary: &'static str,
    /// The reclamation scheme's tuning in words (thresholds, intervals, capacities), so a
    /// result row says what was measured: `"crossbeam-epoch defaults: …"`.
    pub settings: &'static str,
    /// The scheme's tuning knobs, which `run --scheme-setting` can set; empty for schemes
    /// without any (and baselines).
    pub knobs: &'static [Knob],
}

/// The order in which a backend hands values back. (Not an atomic memory ordering: the
/// structures import `std::sync::atomic::Ordering` too, hence the name.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemOrder {
    /// Last in, first out (a stack).
    Lifo,
    /// First in, first out across all producers (a linearizable queue).
    Fifo,
    /// First in, first out for the values of any one producer; values of different
    /// producers may interleave (most channels).
    PerProducerFifo,
}

impl ItemOrder {
    /// The short name used in listings and result files.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemOrder::Lifo => "lifo",
            ItemOrder::Fifo => "fifo",
            ItemOrder::PerProducerFifo => "per-producer-fifo",
        }
    }

    /// Whether the values of one producer come out in the order it pushed them.
    pub fn keeps_producer_order(self) -> bool {
        matches!(self, ItemOrder::Fifo | ItemOrder::PerProducerFifo)
    }
}

impl fmt::Display for ItemOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many threads may pop at the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Consumers {
    /// Exactly one consumer (an MPSC channel).
    One,
    /// Any number of consumers.
    Many,
}

impl Consumers {
    /// The largest number of concurrent consumers allowed, `None` for no limit.
    pub fn limit(self) -> Option<usize> {
        match self {
            Consumers::One => Some(1),
            Consumers::Many => None,
        }
    }

    /// Whether `n` concurrent consumers are allowed.
    pub fn allows(self, n: usize) -> bool {
        self.limit().is_none_or(|limit| n <= limit)
    }
}

impl fmt::Display for Consumers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Consumers::One => "one",
            Consumers::Many => "many",
        })
    }
}

/// A tuning knob a reclamation scheme exposes, which `run --scheme-setting KEY=V1,V2,…`
/// sweeps: the same rows at each value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Knob {
    /// The name users set it by: `batch-size`, `interval-us`.
    pub key: &'static str,
    /// What it changes, in one line.
    pub summary: &'static str,
    /// The value the scheme runs with when it is not set.
    pub default: u64,
    /// The smallest value accepted.
    pub min: u64,
    /// The largest value accepted.
    pub max: u64,
}

impl Knob {
    /// Whether `value` is in range, or why not.
    pub fn check(&self, value: u64) -> Result<(), String> {
        if (self.min..=self.max).contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "{}={value} is out of range: {} to {}",
                self.key, self.min, self.max
            ))
        }
    }
}

/// One knob set to one value for a container's scheme
/// ([`Config::scheme_setting`](crate::Config::scheme_setting)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SchemeSetting {
    /// The knob's [`key`](Knob::key).
    pub key: String,
    /// Its value.
    pub value: u64,
}

impl SchemeSetting {
    /// The knob among `knobs`, those of the scheme named `scheme`, that this setting sets,
    /// once its value is in the knob's range; otherwise why not, in words that name the
    /// key (and the scheme's knobs, or that it has none).
    pub fn knob<'k>(&self, scheme: &str, knobs: &'k [Knob]) -> Result<&'k Knob, String> {
        let knob = knobs
            .iter()
            .find(|knob| knob.key == self.key)
            .ok_or_else(|| no_such_knob(scheme, knobs, &self.key))?;
        knob.check(self.value)?;
        Ok(knob)
    }
}

/// Why a scheme refuses a setting of `key`, which is none of its `knobs`.
pub(crate) fn no_such_knob(scheme: &str, knobs: &[Knob], key: &str) -> String {
    if knobs.is_empty() {
        format!("the {scheme} scheme has no knob {key} (it has none)")
    } else {
        let keys: Vec<&str> = knobs.iter().map(|knob| knob.key).collect();
        format!(
            "the {scheme} scheme has no knob {key} (its knobs: {})",
            keys.join(", ")
        )
    }
}

impl fmt::Display for SchemeSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOBS: &[Knob] = &[
        Knob {
            key: "batch-size",
            summary: "objects per batch",
            default: 32,
            min: 1,
            max: 64,
        },
        Knob {
            key: "depth",
            summary: "levels",
            default: 2,
            min: 2,
            max: 3,
        },
    ];

    fn setting(key: &str, value: u64) -> SchemeSetting {
        SchemeSetting {
            key: key.to_string(),
            value,
        }
    }

    #[test]
    fn a_setting_finds_its_knob_in_range_or_says_why_not() {
        assert_eq!(setting("depth", 3).knob("x", KNOBS), Ok(&KNOBS[1]));
        assert_eq!(
            setting("batch-size", 0).knob("x", KNOBS),
            Err("batch-size=0 is out of range: 1 to 64".to_string())
        );
        assert_eq!(
            setting("interval-us", 10).knob("x", KNOBS),
            Err("the x scheme has no knob interval-us (its knobs: batch-size, depth)".into())
        );
        assert_eq!(
            setting("batch-size", 4).knob("ebr", &[]),
            Err("the ebr scheme has no knob batch-size (it has none)".into())
        );
    }
}
