//! One thread, random push/pop sequences, checked against `Vec` (LIFO) or `VecDeque`
//! (FIFO; with one producer a per-producer FIFO is a FIFO).

use std::collections::VecDeque;

use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use reclaim_core::{Backend, Container, Handle, ItemOrder};

use crate::{CheckResult, Sizes, build, config_for};

/// Capacity bounded backends are built with here: small, so sequences fill them.
const CAPACITY: usize = 8;

/// One step of a sequence.
#[derive(Clone, Copy, Debug)]
enum Op {
    Push(u32),
    Pop,
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        // Slightly more pushes than pops, so sequences build up and drain again.
        if u8::arbitrary(g) % 5 < 3 {
            Op::Push(u32::arbitrary(g))
        } else {
            Op::Pop
        }
    }
}

/// The reference behaviour.
struct Model {
    values: VecDeque<u32>,
    lifo: bool,
    capacity: Option<usize>,
}

impl Model {
    fn push(&mut self, value: u32) -> bool {
        if self.capacity.is_some_and(|c| self.values.len() >= c) {
            return false;
        }
        self.values.push_back(value);
        true
    }

    fn pop(&mut self) -> Option<u32> {
        if self.lifo {
            self.values.pop_back()
        } else {
            self.values.pop_front()
        }
    }
}

/// Runs `ops` on a fresh container and on the model; describes the first divergence.
fn replay<B: Backend>(ops: &[Op]) -> CheckResult {
    let container = build::<B, u32>(&config_for::<B>(CAPACITY))?;
    let mut handle = container.handle();
    let mut model = Model {
        values: VecDeque::new(),
        lifo: B::INFO.ordering == ItemOrder::Lifo,
        capacity: B::INFO.bounded.then_some(CAPACITY),
    };
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Push(value) => {
                let accepted = match handle.push(value) {
                    Ok(()) => true,
                    Err(back) if back == value => false,
                    Err(back) => {
                        return Err(format!(
                            "step {step}: push({value}) refused and handed back {back}"
                        ));
                    }
                };
                let expected = model.push(value);
                if accepted != expected {
                    return Err(format!(
                        "step {step}: push({value}) was {} with {} values inside, expected {}",
                        verdict(accepted),
                        model.values.len() - usize::from(expected),
                        verdict(expected),
                    ));
                }
            }
            Op::Pop => {
                let (got, expected) = (handle.pop(), model.pop());
                if got != expected {
                    return Err(format!(
                        "step {step}: pop() = {got:?}, model says {expected:?}"
                    ));
                }
            }
        }
    }
    // Whatever is left comes out in model order too.
    while let Some(expected) = model.pop() {
        let got = handle.pop();
        if got != Some(expected) {
            return Err(format!("draining: pop() = {got:?}, model says {expected}"));
        }
    }
    match handle.pop() {
        None => Ok(()),
        Some(extra) => Err(format!("drained, yet pop() returned {extra}")),
    }
}

fn verdict(accepted: bool) -> &'static str {
    if accepted { "accepted" } else { "refused" }
}

/// Random push/pop sequences on one thread behave exactly like the model. A failing
/// sequence is shrunk by quickcheck and reported with the first divergence.
pub fn sequential_model<B: Backend>() -> CheckResult {
    let sizes = Sizes::from_env();
    QuickCheck::new()
        .tests(sizes.sequential_cases)
        .max_tests(sizes.sequential_cases * 10)
        .rng(Gen::new(sizes.sequential_ops))
        .quicktest(property::<B> as fn(Vec<Op>) -> TestResult)
        .map(drop)
        .map_err(|failure| format!("{failure:?}"))
}

fn property<B: Backend>(ops: Vec<Op>) -> TestResult {
    match replay::<B>(&ops) {
        Ok(()) => TestResult::passed(),
        Err(message) => TestResult::error(message),
    }
}
