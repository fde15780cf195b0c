//! The run's self-check: every value a worker pushes is distinct, and every value pushed
//! must come out exactly once — counted and checksummed on the way in and on the way out.

use reclaim_core::{Container, Handle};

use crate::splitmix::mix;

/// A count and an order-independent checksum of values: equal for equal multisets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sum {
    pub(super) count: u64,
    hash: u64,
}

impl Sum {
    #[inline]
    pub(super) fn add(&mut self, value: u64) {
        self.count += 1;
        self.hash = self.hash.wrapping_add(mix(value));
    }

    pub(super) fn merge(&mut self, other: Sum) {
        self.count += other.count;
        self.hash = self.hash.wrapping_add(other.hash);
    }
}

/// The values thread `index` pushes: its index in the high bits, a sequence number below,
/// so every value of a run is distinct.
#[derive(Debug)]
pub(super) struct Values {
    next: u64,
}

impl Values {
    pub(super) fn new(index: usize) -> Values {
        Values {
            next: (index as u64) << 40,
        }
    }

    #[inline]
    pub(super) fn next(&mut self) -> u64 {
        let value = self.next;
        self.next += 1;
        value
    }
}

/// Drains what is left and checks that values pushed = values popped + values left, from
/// each worker's (pushed, popped) digests.
pub(super) fn check<C: Container<u64>>(
    container: &C,
    workers: impl Iterator<Item = (Sum, Sum)>,
) -> Result<(), String> {
    let (mut pushed, mut taken) = (Sum::default(), Sum::default());
    for (w_pushed, w_popped) in workers {
        pushed.merge(w_pushed);
        taken.merge(w_popped);
    }
    let popped = taken.count;
    let mut handle = container.handle();
    while let Some(value) = handle.pop() {
        taken.add(value);
    }
    drop(handle);
    if let Some(failure) = container.failure() {
        return Err(format!("the backend reported a fault: {failure}"));
    }
    let left = taken.count - popped;
    if pushed.count != taken.count {
        let (what, n) = if pushed.count > taken.count {
            ("lost", pushed.count - taken.count)
        } else {
            ("duplicated", taken.count - pushed.count)
        };
        return Err(format!(
            "{n} values {what}: {} pushed, {popped} popped, {left} left inside",
            pushed.count
        ));
    }
    if pushed.hash != taken.hash {
        return Err(format!(
            "checksum mismatch: as many values came out as went in ({}), but not the same \
             ones (corrupted or duplicated values)",
            pushed.count
        ));
    }
    Ok(())
}
