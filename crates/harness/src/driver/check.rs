//! The run's self-check: every value a worker pushes is distinct, and every value pushed
//! must come out exactly once — counted and summed on the way in and on the way out.
//!
//! # The digest
//!
//! A multiset of values is summarized by its size and its first two power sums, `Σv` and
//! `Σv²`, in 128-bit arithmetic. Two multisets of the same size with the same digest
//! differ by no value, one value, or two: the same size and sum leave a lost `a` for a
//! duplicated `b` only if `a = b`, and two lost for two duplicated only if the squares
//! also match, which with equal sums means the same two values (values are below 2⁵⁰, so
//! no sum or difference of the arithmetic wraps in a way that could fake it). So any loss,
//! duplication or corruption of up to two values fails the check for certain, and more
//! only pass if their power sums happen to agree.
//!
//! It is cheap where it runs: a pop adds its value and its square (an add, a multiply
//! and two 128-bit adds), and the values a worker pushed, a run of consecutive numbers,
//! are summed in closed form after its loop ([`Digest::add_run`]), so a push costs
//! nothing at all.

use reclaim_core::{Container, Handle};

/// The size and first two power sums of a multiset of values: equal for equal multisets,
/// and different for any two that differ in one or two values (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Digest {
    pub(super) count: u64,
    sum: u128,
    squares: u128,
}

impl Digest {
    #[inline]
    pub(super) fn add(&mut self, value: u64) {
        let v = u128::from(value);
        self.count += 1;
        self.sum = self.sum.wrapping_add(v);
        self.squares = self.squares.wrapping_add(v * v);
    }

    /// Adds the `n` values `first`, `first + 1`, …, `first + n − 1`, in closed form.
    pub(super) fn add_run(&mut self, first: u64, n: u64) {
        let (f, n) = (u128::from(first), u128::from(n));
        if n == 0 {
            return;
        }
        // Σi and Σi² for i in 0..n, each division exact before any product can wrap:
        // one of n, n − 1 is even, and 3 divides n(n − 1)/2 or 2n − 1.
        let pairs = if n % 2 == 0 {
            (n / 2).wrapping_mul(n - 1)
        } else {
            n.wrapping_mul((n - 1) / 2)
        };
        let odd = 2 * n - 1;
        let squares_of_i = if pairs % 3 == 0 {
            (pairs / 3).wrapping_mul(odd)
        } else {
            pairs.wrapping_mul(odd / 3)
        };
        self.count += n as u64;
        self.sum = self.sum.wrapping_add(n.wrapping_mul(f).wrapping_add(pairs));
        // Σ(f + i)² = n f² + 2 f Σi + Σi².
        let squares = n
            .wrapping_mul(f.wrapping_mul(f))
            .wrapping_add(2u128.wrapping_mul(f).wrapping_mul(pairs))
            .wrapping_add(squares_of_i);
        self.squares = self.squares.wrapping_add(squares);
    }

    pub(super) fn merge(&mut self, other: Digest) {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
        self.squares = self.squares.wrapping_add(other.squares);
    }
}

/// The values thread `index` pushes: its index in the high bits, a sequence number below,
/// so every value of a run is distinct (and below 2⁵⁰ with at most 1,024 threads).
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

    /// The value [`next`](Self::next) returns next.
    pub(super) fn peek(&self) -> u64 {
        self.next
    }
}

/// Drains what is left and checks that values pushed = values popped + values left, from
/// each worker's (pushed, popped) digests.
pub(super) fn check<C: Container<u64>>(
    container: &C,
    workers: impl Iterator<Item = (Digest, Digest)>,
) -> Result<(), String> {
    let (mut pushed, mut taken) = (Digest::default(), Digest::default());
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
    if pushed != taken {
        return Err(format!(
            "checksum mismatch: as many values came out as went in ({}), but not the same \
             ones (corrupted or duplicated values)",
            pushed.count
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(values: impl IntoIterator<Item = u64>) -> Digest {
        let mut d = Digest::default();
        for v in values {
            d.add(v);
        }
        d
    }

    /// The closed form sums what adding each value sums, over runs short and long, at the
    /// bottom and at the top of the value range (a thread index of 1023 in the top bits).
    #[test]
    fn a_run_in_closed_form_equals_its_values_added_one_by_one() {
        let top = 1023 << 40;
        for first in [0, 1, 7, 1 << 40, top, top + (1 << 39)] {
            for n in [0, 1, 2, 3, 5, 6, 64, 1000, 65_537] {
                let mut run = Digest::default();
                run.add_run(first, n);
                assert_eq!(run, digest(first..first + n), "first {first}, n {n}");
            }
        }
        // Runs merge like the values they stand for.
        let mut two = Digest::default();
        two.add_run(10, 5);
        two.merge(digest([100, 3]));
        assert_eq!(two, digest([3, 10, 11, 12, 13, 14, 100]));
    }

    /// Any one or two values lost, duplicated or changed are caught, even where plain
    /// sums would balance.
    #[test]
    fn one_or_two_values_differing_change_the_digest() {
        let base: Vec<u64> = (0..50).map(|i| (i % 4) << 40 | i).collect();
        let whole = digest(base.iter().copied());
        for (i, &a) in base.iter().enumerate() {
            // a lost, b duplicated: the same count.
            for &b in base.iter().skip(i + 1) {
                let swapped = base.iter().map(|&v| if v == a { b } else { v });
                assert_ne!(digest(swapped), whole, "{a} lost for a second {b}");
            }
        }
        // Two lost for two others duplicated, with equal sums: 10 + 13 = 11 + 12.
        let values = [10, 11, 12, 13];
        assert_ne!(digest([10, 10, 13, 13]), digest(values));
        assert_ne!(digest([11, 11, 12, 12]), digest(values));
        // A value changed by a thread-index bit.
        assert_ne!(digest([1 << 40 | 5, 6]), digest([5, 1 << 40 | 6]));
    }
}
