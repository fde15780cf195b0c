//! A model of reclaim-hopper's channel, driven by arbitrary operation sequences.
//!
//! [`run`] builds a channel from an [`Input`]'s settings in a fresh temporary directory,
//! applies its operations on one thread, and checks every result against a model: a
//! `VecDeque` of the items the channel accepted, in the order it accepted them. With
//! everything on one thread the channel has no freedom: `try_recv` must return exactly the
//! model's front item, and says `Empty` only when the model is empty. Any departure
//! panics, which is what the fuzzer (`fuzz_targets/ops.rs`) and this crate's tests catch.
//!
//! The crate has no `libfuzzer-sys` in its code, so `cargo test` runs the same model on
//! stable over pseudo-random inputs.

#![forbid(unsafe_code)]

use arbitrary::{Arbitrary, Unstructured};
use reclaim_hopper::{Accounting, Builder, Durability, Error, Receiver, Sender, TryRecvError};
use std::collections::VecDeque;
use std::path::Path;

/// What the channel carries: a serial number, unique per send attempt, and a payload
/// whose length and bytes come from the operation's `value`.
pub type Item = (u64, Vec<u8>);

/// Name of the channel inside the temporary data directory.
const NAME: &str = "fuzz";

/// Largest payload: about 2 KiB, so one item can exceed a whole segment file.
pub const MAX_PAYLOAD: usize = 2048;

/// One fuzz case: how the channel is built and what is done with it.
///
/// Built from fuzzer bytes by [`Arbitrary::arbitrary_take_rest`]: the settings, then
/// operations until the bytes run out — no "one more?" byte between operations, as the
/// derived `Vec` decoding has, so every byte of the input is part of an operation.
#[derive(Debug)]
pub struct Input {
    pub settings: Settings,
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input {
            settings: u.arbitrary()?,
            ops: u.arbitrary()?,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        let settings = u.arbitrary()?;
        let mut ops = Vec::new();
        // Each operation takes at least one byte while any are left.
        while !u.is_empty() {
            ops.push(u.arbitrary()?);
        }
        Ok(Input { settings, ops })
    }
}

/// The channel's bounds, small so that memory fills after a few items and segment files
/// rotate and run out.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// 0..512.
    pub memory_bytes: usize,
    /// 16..=4096.
    pub disk_file_bytes: usize,
    /// 0..8 segment files, or `None` for no limit.
    pub disk_files: Option<usize>,
    pub accounting: Charge,
    /// `Durability::Recover` writes each spilled record through instead of buffering.
    pub recover: bool,
}

impl<'a> Arbitrary<'a> for Settings {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Settings {
            memory_bytes: u.int_in_range(0..=511)?,
            disk_file_bytes: u.int_in_range(16..=4096)?,
            disk_files: if u.ratio(1, 5)? {
                None
            } else {
                Some(u.int_in_range(0..=7)?)
            },
            accounting: u.arbitrary()?,
            recover: u.ratio(1, 4)?,
        })
    }
}

/// Which [`Accounting`] the channel charges items with.
#[derive(Clone, Copy, Debug, Arbitrary)]
pub enum Charge {
    Encoded,
    Shallow,
    /// `Accounting::Custom` charging the payload length.
    PayloadLen,
}

impl Charge {
    fn accounting(self) -> Accounting<Item> {
        match self {
            Charge::Encoded => Accounting::Encoded,
            Charge::Shallow => Accounting::Shallow,
            Charge::PayloadLen => Accounting::Custom(payload_len),
        }
    }

    /// What the channel charges `item` against its memory bound.
    fn charge(self, item: &Item) -> usize {
        reclaim_hopper::slot_bytes::<Item>()
            + match self {
                Charge::Encoded => postcard_len(item),
                Charge::Shallow => 0,
                Charge::PayloadLen => payload_len(item),
            }
    }
}

fn payload_len(item: &Item) -> usize {
    item.1.len()
}

/// Length of `item` encoded with postcard: varint serial, varint length, bytes.
fn postcard_len(item: &Item) -> usize {
    fn varint(n: u64) -> usize {
        (64 - n.leading_zeros() as usize).div_ceil(7).max(1)
    }
    varint(item.0) + varint(item.1.len() as u64) + item.1.len()
}

/// One step. Sender indexes are taken modulo the number of live senders; sender
/// operations with no sender left do nothing.
#[derive(Clone, Copy, Debug, Arbitrary)]
pub enum Op {
    Send { sender: u8, value: u32 },
    Recv,
    CloneSender,
    DropSender { sender: u8 },
    Flush { sender: u8 },
}

/// The payload for `value`: its low two bits pick a size class (empty, < 16, < 256,
/// ≤ [`MAX_PAYLOAD`] bytes), the rest the length within it and the bytes.
pub fn payload(value: u32) -> Vec<u8> {
    let n = (value >> 2) as usize;
    let len = match value & 3 {
        0 => 0,
        1 => n % 16,
        2 => n % 256,
        _ => n % (MAX_PAYLOAD + 1),
    };
    let seed = value.wrapping_mul(0x9E37_79B9);
    (0..len)
        .map(|i| (seed >> 24) as u8 ^ (i as u8).wrapping_mul(29))
        .collect()
}

/// An accepted item and who sent it.
struct Accepted {
    sender: u32,
    item: Item,
}

struct Harness {
    settings: Settings,
    dir: tempfile::TempDir,
    /// Live senders with their ids (ids are never reused).
    senders: Vec<(u32, Sender<Item>)>,
    next_sender_id: u32,
    rx: Receiver<Item>,
    /// Every accepted item not yet received, in acceptance order: the channel's contents.
    model: VecDeque<Accepted>,
    /// Per sender id, the serials of its accepted items not yet received.
    per_sender: Vec<VecDeque<u64>>,
    next_serial: u64,
    step: usize,
}

/// Builds the channel `input.settings` describe and runs `input.ops` on it, then drops
/// every sender and drains it; panics on the first result the model does not allow.
pub fn run(input: &Input) {
    let mut h = Harness::new(input.settings);
    for (step, op) in input.ops.iter().enumerate() {
        h.step = step;
        h.apply(*op);
    }
    h.finish();
}

impl Harness {
    fn new(settings: Settings) -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let durability = if settings.recover {
            Durability::Recover
        } else {
            Durability::None
        };
        let (tx, rx) = Builder::<Item>::new()
            .memory_bytes(settings.memory_bytes)
            .disk_file_bytes(settings.disk_file_bytes)
            .disk_files(settings.disk_files.unwrap_or(usize::MAX))
            .accounting(settings.accounting.accounting())
            .durability(durability)
            .build(NAME, dir.path())
            .unwrap_or_else(|e| panic!("building the channel with {settings:?}: {e}"));
        Harness {
            settings,
            dir,
            senders: vec![(0, tx)],
            next_sender_id: 1,
            rx,
            model: VecDeque::new(),
            per_sender: vec![VecDeque::new()],
            next_serial: 0,
            step: 0,
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Send { sender, value } => self.send(sender, value),
            Op::Recv => self.recv(),
            Op::CloneSender => {
                if let Some((_, tx)) = self.senders.first() {
                    let tx = tx.clone();
                    let id = self.next_sender_id;
                    self.next_sender_id += 1;
                    self.per_sender.push(VecDeque::new());
                    self.senders.push((id, tx));
                }
            }
            Op::DropSender { sender } => {
                if let Some(i) = self.pick(sender) {
                    drop(self.senders.remove(i));
                }
            }
            Op::Flush { sender } => {
                if let Some(i) = self.pick(sender)
                    && let Err(e) = self.senders[i].1.flush()
                {
                    self.fail(format_args!("flush failed: {e:?}"));
                }
            }
        }
        self.check_disk_files();
    }

    fn pick(&self, sender: u8) -> Option<usize> {
        (!self.senders.is_empty()).then(|| usize::from(sender) % self.senders.len())
    }

    fn send(&mut self, sender: u8, value: u32) {
        let Some(i) = self.pick(sender) else { return };
        let serial = self.next_serial;
        self.next_serial += 1;
        let item: Item = (serial, payload(value));
        let charge = self.settings.accounting.charge(&item);
        // With no disk files nothing spills, so memory holds exactly the model's items —
        // give or take the charges the receiver has taken but not yet returned, at most
        // 1/16 of the bound (it returns them in batches). So: a send must succeed with
        // room to spare beyond that slack, and must fail with no room when memory holds
        // something; an empty channel may take one item of any size (hopper's rule).
        let memory_only_room = (self.settings.disk_files == Some(0)).then(|| {
            let used: usize = self
                .model
                .iter()
                .map(|a| self.settings.accounting.charge(&a.item))
                .sum();
            let bound = self.settings.memory_bytes;
            if used + charge + bound / 16 <= bound {
                Some(true)
            } else if used + charge > bound && !self.model.is_empty() {
                Some(false)
            } else {
                None
            }
        });
        let (id, tx) = &mut self.senders[i];
        let id = *id;
        match tx.send(item.clone()) {
            Ok(()) => {
                if memory_only_room == Some(Some(false)) {
                    self.fail(format_args!(
                        "send of item {serial} (charge {charge}) succeeded with no disk files \
                         and no room in memory"
                    ));
                }
                self.per_sender[id as usize].push_back(serial);
                self.model.push_back(Accepted { sender: id, item });
            }
            Err((back, e)) => {
                if back != item {
                    self.fail(format_args!(
                        "send of item {serial} failed with {e:?} and handed back a different \
                         item: serial {}, {} bytes",
                        back.0,
                        back.1.len()
                    ));
                }
                if !matches!(e, Error::Full) {
                    self.fail(format_args!("send of item {serial} failed with {e:?}"));
                }
                match self.settings.disk_files {
                    None => self.fail(format_args!(
                        "send of item {serial} ({} payload bytes) was refused as Full with no \
                         limit on disk files",
                        item.1.len()
                    )),
                    Some(0) if memory_only_room == Some(Some(true)) => self.fail(format_args!(
                        "send of item {serial} (charge {charge}) was refused as Full with room \
                         for it in memory"
                    )),
                    // Everything accepted has been received: the channel is empty, and a
                    // segment file takes any record, so a channel allowed one must accept.
                    Some(files) if files >= 1 && self.model.is_empty() => self.fail(format_args!(
                        "send of item {serial} ({} payload bytes) was refused as Full with \
                             every accepted item received",
                        item.1.len()
                    )),
                    _ => {}
                }
            }
        }
    }

    fn recv(&mut self) {
        match self.rx.try_recv() {
            Ok(item) => self.received(item),
            Err(TryRecvError::Empty) => {
                if !self.model.is_empty() {
                    self.fail(format_args!(
                        "try_recv said Empty with {} accepted item(s) not received",
                        self.model.len()
                    ));
                }
                if self.senders.is_empty() {
                    self.fail(format_args!(
                        "try_recv said Empty, not Disconnected, with every sender dropped"
                    ));
                }
            }
            Err(TryRecvError::Disconnected) => {
                if !self.model.is_empty() || !self.senders.is_empty() {
                    self.fail(format_args!(
                        "try_recv said Disconnected with {} item(s) not received and {} \
                         sender(s) alive",
                        self.model.len(),
                        self.senders.len()
                    ));
                }
            }
            Err(TryRecvError::Disk(e)) => self.fail(format_args!("try_recv failed: {e:?}")),
        }
    }

    fn received(&mut self, item: Item) {
        let Some(expected) = self.model.pop_front() else {
            self.fail(format_args!(
                "try_recv returned item {} ({} bytes) with nothing accepted and not received",
                item.0,
                item.1.len()
            ));
        };
        // The sender's own order first, for the sharper message when it is broken.
        let owner = self.model_owner(&item).unwrap_or(expected.sender);
        let first_of_owner = self.per_sender[owner as usize].front().copied();
        if first_of_owner != Some(item.0) {
            self.fail(format_args!(
                "try_recv returned item {} of sender {owner}, whose oldest item not received \
                 is {first_of_owner:?}",
                item.0
            ));
        }
        if item != expected.item {
            self.fail(format_args!(
                "try_recv returned item {} ({} bytes); the oldest item not received is {} \
                 ({} bytes) of sender {}",
                item.0,
                item.1.len(),
                expected.item.0,
                expected.item.1.len(),
                expected.sender
            ));
        }
        self.per_sender[owner as usize].pop_front();
    }

    /// The sender of the not-yet-received item with `item`'s serial, if there is one.
    fn model_owner(&self, item: &Item) -> Option<u32> {
        self.model
            .iter()
            .find(|a| a.item.0 == item.0)
            .map(|a| a.sender)
    }

    /// The channel keeps at most its limit of segment files on disk.
    fn check_disk_files(&self) {
        let Some(limit) = self.settings.disk_files else {
            return;
        };
        let files = spill_files(&self.dir.path().join(NAME));
        if files > limit {
            self.fail(format_args!(
                "{files} segment files on disk, over the limit of {limit}"
            ));
        }
    }

    /// Drops every sender, drains the channel in model order, sees it disconnected, and
    /// (without recovery) that closing it leaves no segment file.
    fn finish(mut self) {
        self.step = usize::MAX;
        self.senders.clear();
        while !self.model.is_empty() {
            match self.rx.try_recv() {
                Ok(item) => self.received(item),
                Err(e) => self.fail(format_args!(
                    "draining after every sender was dropped: {e:?} with {} item(s) not received",
                    self.model.len()
                )),
            }
        }
        for _ in 0..2 {
            match self.rx.try_recv() {
                Err(TryRecvError::Disconnected) => {}
                Ok(item) => self.fail(format_args!(
                    "drained, every sender dropped, and try_recv still returned item {} \
                     ({} bytes)",
                    item.0,
                    item.1.len()
                )),
                Err(e) => self.fail(format_args!(
                    "drained, every sender dropped: expected Disconnected, got {e:?}"
                )),
            }
        }
        let Harness {
            settings, dir, rx, ..
        } = self;
        drop(rx);
        let left = spill_files(&dir.path().join(NAME));
        if !settings.recover && left != 0 {
            panic!("{left} segment file(s) left after the channel closed ({settings:?})");
        }
    }

    fn fail(&self, what: std::fmt::Arguments<'_>) -> ! {
        let when = if self.step == usize::MAX {
            "while draining".to_string()
        } else {
            format!("at op {}", self.step)
        };
        panic!(
            "{what} — {when}; {} item(s) in the model, {} sender(s) alive; {:?}",
            self.model.len(),
            self.senders.len(),
            self.settings
        );
    }
}

/// Segment files (`*.spill`) in the channel directory.
fn spill_files(channel_dir: &Path) -> usize {
    std::fs::read_dir(channel_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".spill"))
                .count()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic bytes for the inputs.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| (self.next() >> 32) as u8).collect()
        }
    }

    /// The input the fuzz target would build from `bytes`.
    fn input(bytes: &[u8]) -> Input {
        Input::arbitrary_take_rest(Unstructured::new(bytes)).expect("any bytes make an input")
    }

    #[test]
    fn pseudo_random_inputs() {
        let mut rng = XorShift(0x5EED_F022_1A5E);
        let cases = 400;
        let mut ops = 0;
        for case in 0..cases {
            let len = 16 + (rng.next() % 4096) as usize;
            let bytes = rng.bytes(len);
            let input = input(&bytes);
            ops += input.ops.len();
            let result = std::panic::catch_unwind(|| run(&input));
            if let Err(panic) = result {
                eprintln!("case {case} failed; its input: {input:?}");
                std::panic::resume_unwind(panic);
            }
        }
        assert!(
            ops > cases * 100,
            "the inputs hold too few operations: {ops}"
        );
    }

    #[test]
    fn empty_input() {
        run(&input(&[]));
    }

    /// One segment file, one record per file (16 bytes hold the 8-byte file header and
    /// less than one record), nothing in memory: every send spills, and after each
    /// receive the channel is empty again.
    #[test]
    fn one_disk_file_is_reused_once_read() {
        let dir = tempfile::tempdir().unwrap();
        let (mut tx, mut rx) = Builder::<u64>::new()
            .memory_bytes(0)
            .disk_file_bytes(16)
            .disk_files(1)
            .build(NAME, dir.path())
            .unwrap();
        for i in 0..4_u64 {
            if let Err((_, e)) = tx.send(i) {
                panic!("send {i} into an empty channel failed: {e:?}");
            }
            assert_eq!(rx.try_recv().unwrap(), i);
        }
    }

    #[test]
    fn postcard_len_is_what_the_channel_charges() {
        // With no disk files the channel takes what fits the memory bound, which `run`
        // checks against `postcard_len`: here across the varint edges of payload
        // length (127/128) and serial (past 128 sends).
        let cycle = |value| {
            [
                Op::Send { sender: 0, value },
                Op::Send { sender: 0, value },
                Op::Send { sender: 0, value },
                Op::Recv,
            ]
        };
        for value in [0, 1, 2, 3, 127 << 2 | 2, 128 << 2 | 2, 2048 << 2 | 3] {
            for memory_bytes in [0, 100, 200, 399, 511] {
                run(&Input {
                    settings: Settings {
                        memory_bytes,
                        disk_file_bytes: 16,
                        disk_files: Some(0),
                        accounting: Charge::Encoded,
                        recover: false,
                    },
                    ops: (0..60).flat_map(|_| cycle(value)).collect(),
                });
            }
        }
    }
}
