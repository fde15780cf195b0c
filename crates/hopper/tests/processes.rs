//! Process-level tests: what survives a process being killed, what a damaged or torn
//! segment file does to a recovering channel, and what a real "disk full" (a file size
//! limit) does to `send` and to the items already accepted.
//!
//! The test binary re-runs itself as the child: `main` first looks at [`ROLE_VAR`]; when
//! it is set, it plays that role (in [`DIR_VAR`]) and exits with a status code instead of
//! running the trials. A child reports to its parent through stdout lines. The parent
//! never waits on a child without a deadline ([`DEADLINE`], hang protection only, never a
//! timing assertion): on overrun the child is killed and the trial fails with its stderr.

use libtest_mimic::{Arguments, Failed, Trial};
use reclaim_emulation::Runner;
use reclaim_hopper::{Builder, Durability, Error, Receiver, RecvError, Sender, TryRecvError};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Set in a child's environment to the role it plays.
const ROLE_VAR: &str = "RECLAIM_HOPPER_CHILD";
/// Set in a child's environment to the data directory it works in.
const DIR_VAR: &str = "RECLAIM_HOPPER_CHILD_DIR";
/// Longest the parent waits for anything a child or a drain must do. Generous: it only
/// turns a hang into a failure.
const DEADLINE: Duration = Duration::from_secs(60);

/// Name of the channel in every data directory.
const CHANNEL: &str = "chan";
/// Segment size of the recover-mode channels: small, so a few thousand items rotate
/// through several files.
const SEGMENT_BYTES: usize = 4096;
/// From record.rs's format description: segment files start with 8 magic bytes, then
/// blocks, each with `len: u32 LE`, `crc32c(len): u32 LE` and `crc32c(records): u32 LE` in
/// front of `len` bytes of records, each record a LEB128 length and a payload. A
/// recover-mode channel writes every record through as a block of its own.
const MAGIC_LEN: usize = 8;
const BLOCK_HEADER: usize = 12;

/// The file size limit the disk-full child sets on itself: room for several blocks.
const FSIZE_LIMIT: u64 = 1024 * 1024;
/// Bytes in each item the disk-full child sends.
const ITEM_BYTES: usize = 1024;

fn main() {
    if let Ok(role) = std::env::var(ROLE_VAR) {
        std::process::exit(run_child(&role));
    }
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test("recover_after_kill", || {
            recover_after_kill().map_err(Failed::from)
        }),
        Trial::test("recover_truncates_a_torn_tail", || {
            recover_truncates_a_torn_tail().map_err(Failed::from)
        }),
        Trial::test("recover_refuses_a_damaged_record", || {
            recover_refuses_a_damaged_record().map_err(Failed::from)
        }),
        Trial::test("disk_full_returns_the_item", || {
            disk_full_returns_the_item().map_err(Failed::from)
        }),
        Trial::test(
            "recover_resumes_after_a_last_segment_without_records",
            || recover_resumes_after_a_last_segment_without_records().map_err(Failed::from),
        ),
        Trial::test("recover_resumes_after_a_rotation_on_a_full_disk", || {
            recover_resumes_after_a_rotation_on_a_full_disk().map_err(Failed::from)
        }),
        Trial::test(
            "damage_spares_the_records_handed_over_on_a_full_disk",
            || damage_spares_the_records_handed_over_on_a_full_disk().map_err(Failed::from),
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}

// ---------------------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------------------

/// Plays `role` and returns the process's exit status: 0 only if every check passed.
fn run_child(role: &str) -> i32 {
    let Some(dir) = std::env::var_os(DIR_VAR).map(PathBuf::from) else {
        eprintln!("child {role}: {DIR_VAR} is not set");
        return 2;
    };
    let result = match role {
        "send-forever" => child_send_forever(&dir),
        "disk-full" => child_disk_full(&dir),
        "full-after-rotation" => child_full_after_rotation(&dir),
        "full-then-damaged" => child_full_then_damaged(&dir),
        other => Err(format!("unknown role {other:?}")),
    };
    match result {
        Ok(()) => 0,
        Err(why) => {
            eprintln!("child {role}: {why}");
            1
        }
    }
}

/// Every item through the disk, written before `send` returns, files rotating.
fn recover_builder() -> Builder<u64> {
    Builder::<u64>::new()
        .memory_bytes(0)
        .disk_file_bytes(SEGMENT_BYTES)
        .durability(Durability::Recover)
}

/// Items the sending child stops at if nobody kills it, so a parent that fails to kill
/// it does not fill the disk.
const SEND_CAP: u64 = 5_000_000;

/// Sends 0, 1, 2, … into a recover-mode channel and prints each number once `send` has
/// accepted it, until killed.
fn child_send_forever(dir: &Path) -> Result<(), String> {
    // The receiver stays alive (a send to a channel without one fails) and never reads,
    // so nothing is deleted from the directory.
    let (mut tx, _rx) = recover_builder()
        .build(CHANNEL, dir)
        .map_err(|e| format!("could not open the channel: {e}"))?;
    let mut out = io::stdout().lock();
    for i in 0..SEND_CAP {
        tx.send(i)
            .map_err(|(_, e)| format!("send of {i} failed: {e}"))?;
        // One write per line, so a line is either in the pipe whole or not at all.
        let line = format!("{i}\n");
        if out
            .write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            // The parent is gone: nobody left to report to.
            return Ok(());
        }
    }
    Err(format!("sent {SEND_CAP} items and was never killed"))
}

/// The disk-full child's items: `seq` in the first 8 bytes, the rest a pattern derived
/// from it, so a mix-up, a truncation or a swap is visible.
fn item(seq: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(ITEM_BYTES);
    bytes.extend_from_slice(&seq.to_le_bytes());
    let seed = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    bytes.extend((8..ITEM_BYTES as u64).map(|i| (seed.wrapping_add(i * 31) >> 7) as u8));
    bytes
}

fn describe(bytes: &[u8]) -> String {
    match bytes.get(..8) {
        Some(head) => format!(
            "{} bytes, sequence field {}",
            bytes.len(),
            u64::from_le_bytes(head.try_into().expect("8 bytes"))
        ),
        None => format!("{} bytes", bytes.len()),
    }
}

/// Puts a file size limit on this process and makes exceeding it an `EFBIG` error
/// instead of a fatal `SIGXFSZ`.
fn limit_file_size(bytes: u64) -> Result<(), String> {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: `limit` is a fully initialised `rlimit` that lives across the call, which
    // only reads it; RLIMIT_FSIZE is a valid resource. The call has no other
    // preconditions, and it only affects this (child) process.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &limit) };
    if rc != 0 {
        return Err(format!(
            "setrlimit(RLIMIT_FSIZE, {bytes}) failed: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: SIGXFSZ is a valid signal number and SIG_IGN a valid disposition: no handler
    // is installed, so no code of ours ever runs in signal context. This runs first thing
    // in the child's `main`, before it starts any thread, so nothing else is changing or
    // relying on signal dispositions concurrently.
    let previous = unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    if previous == libc::SIG_ERR {
        return Err(format!(
            "signal(SIGXFSZ, SIG_IGN) failed: {}",
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Both ends of a channel of byte vectors.
type Channel = (Sender<Vec<u8>>, Receiver<Vec<u8>>);

/// Limits this process's file size to [`FSIZE_LIMIT`], then opens a channel that sends
/// everything to disk in one segment file far larger than the limit: the limit is hit.
fn under_a_file_size_limit(dir: &Path) -> Result<Channel, String> {
    // Before anything else — in particular before any thread exists.
    limit_file_size(FSIZE_LIMIT)?;
    Builder::<Vec<u8>>::new()
        .memory_bytes(0)
        .disk_file_bytes(64 << 20)
        .build(CHANNEL, dir)
        .map_err(|e| format!("could not open the channel: {e}"))
}

/// Fills a segment file up to the file size limit, checks `send` hands back the exact
/// item with `Error::Full`, that everything accepted arrives intact and in order (some of
/// it can only come from the writer's buffer, handed over), and that the channel works
/// again once drained. Prints `accepted <n> refused <n> after <n>` on success.
fn child_disk_full(dir: &Path) -> Result<(), String> {
    let (mut tx, mut rx) = under_a_file_size_limit(dir)?;

    // Send until refused, then go on like a caller that retries the refused item, until
    // three refusals in a row: items accepted between refusals (room left in the write
    // buffer) must be delivered too.
    let max_items = 16 * FSIZE_LIMIT / ITEM_BYTES as u64;
    let mut accepted = 0_u64;
    let mut refused = 0_u64;
    let mut refused_in_a_row = 0;
    while refused_in_a_row < 3 {
        if accepted > max_items {
            return Err(format!(
                "accepted {accepted} items of {ITEM_BYTES} bytes under a file size limit of \
                 {FSIZE_LIMIT} bytes without ever returning Full"
            ));
        }
        match tx.send(item(accepted)) {
            Ok(()) => {
                accepted += 1;
                refused_in_a_row = 0;
            }
            Err((back, e)) => {
                if back != item(accepted) {
                    return Err(format!(
                        "send of item {accepted} failed with {e:?} and handed back a different \
                         item ({})",
                        describe(&back)
                    ));
                }
                if !matches!(e, Error::Full) {
                    return Err(format!(
                        "send of item {accepted} failed with {e:?} ({e}), expected Error::Full"
                    ));
                }
                refused += 1;
                refused_in_a_row += 1;
            }
        }
    }

    // Everything accepted, nothing else: the refused item must not show up.
    receive_exactly(&mut rx, 0..accepted, "after the disk filled up")?;

    // Drained: the next spill starts a fresh segment file, under the limit again. More
    // than one write buffer's worth, so it is written to the file and not only handed over.
    let again = 100_u64;
    for seq in accepted..accepted + again {
        if let Err((_, e)) = tx.send(item(seq)) {
            return Err(format!(
                "send of item {seq} after draining a full channel failed: {e:?} ({e})"
            ));
        }
    }
    receive_exactly(&mut rx, accepted..accepted + again, "after draining")?;
    drop(tx);
    match rx.recv() {
        Err(RecvError::Disconnected) => {}
        Ok(bytes) => {
            return Err(format!(
                "an extra item arrived at the end: {}",
                describe(&bytes)
            ));
        }
        Err(RecvError::Disk(e)) => return Err(format!("disk error at the end: {e}")),
    }
    println!("accepted {accepted} refused {refused} after {again}");
    Ok(())
}

/// Spills one item, then one larger than the file size limit: the rotation it causes
/// succeeds — the new segment file gets its magic — and the record does not fit, so the
/// channel closes with a last segment that holds no record. Reopens the directory, checks
/// that items spill again and that every accepted one arrives. Prints `recovered <n>`.
fn child_full_after_rotation(dir: &Path) -> Result<(), String> {
    // Before anything else — in particular before any thread exists.
    limit_file_size(FSIZE_LIMIT)?;
    let open = || {
        Builder::<Vec<u8>>::new()
            .memory_bytes(0)
            .disk_file_bytes(SEGMENT_BYTES)
            .durability(Durability::Recover)
            .build(CHANNEL, dir)
            .map_err(|e| format!("could not open the channel: {e:?} ({e})"))
    };
    {
        let (mut tx, _rx) = open()?;
        tx.send(item(0))
            .map_err(|(_, e)| format!("send of item 0 failed: {e}"))?;
        match tx.send(vec![0xa5; FSIZE_LIMIT as usize]) {
            Err((_, Error::Full)) => {}
            Err((_, e)) => return Err(format!("an item over the file size limit: {e:?} ({e})")),
            Ok(()) => return Err("an item over the file size limit was accepted".into()),
        }
    }
    let files = segment_files(&dir.join(CHANNEL));
    let last_len = files
        .last()
        .and_then(|f| fs::metadata(f).ok())
        .map(|m| m.len());
    if files.len() != 2 || last_len.is_none_or(|len| len > MAGIC_LEN as u64) {
        return Err(format!(
            "expected two segment files, the last holding no record; found {files:?}, the \
             last of {last_len:?} bytes"
        ));
    }

    let (mut tx, mut rx) = open()?;
    let sent = 3;
    for seq in 1..sent {
        tx.send(item(seq))
            .map_err(|(_, e)| format!("send of item {seq} after reopening failed: {e:?} ({e})"))?;
    }
    receive_exactly(&mut rx, 0..sent, "after reopening")?;
    println!("recovered {sent}");
    Ok(())
}

/// Fills a segment file up to the file size limit, so that the last accepted items can
/// only be handed over from the write buffer, and damages a block of the file before
/// anything is received. Checks that the error counts as lost only the file's records from
/// the damaged block on, and that the handed-over items still arrive. Prints `lost <n>
/// handed over <n>`.
fn child_full_then_damaged(dir: &Path) -> Result<(), String> {
    let (mut tx, mut rx) = under_a_file_size_limit(dir)?;
    let mut accepted = 0_u64;
    loop {
        match tx.send(item(accepted)) {
            Ok(()) => accepted += 1,
            Err((_, Error::Full)) => break,
            Err((_, e)) => return Err(format!("send of item {accepted}: {e:?} ({e})")),
        }
        if accepted > 16 * FSIZE_LIMIT / ITEM_BYTES as u64 {
            return Err(format!("{accepted} items accepted without Error::Full"));
        }
    }
    let files = segment_files(&dir.join(CHANNEL));
    let [file] = files.as_slice() else {
        return Err(format!("expected one segment file, found {files:?}"));
    };
    let mut bytes = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let in_file = blocks(&bytes);
    // A damaged byte costs its whole block: damage the second, so that the first block's
    // items arrive before the error and the third block's are lost with it.
    let damaged_block = 1;
    let damaged: u64 = in_file[..damaged_block.min(in_file.len())]
        .iter()
        .map(|b| b.records)
        .sum();
    let in_file_items: u64 = in_file.iter().map(|b| b.records).sum();
    if in_file.len() <= damaged_block + 1 || in_file_items >= accepted {
        return Err(format!(
            "{accepted} items accepted, {in_file_items} in {} block(s) of the file: the test \
             needs blocks in the file after the damaged one and items in the write buffer",
            in_file.len()
        ));
    }
    bytes[in_file[damaged_block].bytes.start + BLOCK_HEADER + 100] ^= 0x5a;
    fs::write(file, &bytes).map_err(|e| format!("{}: {e}", file.display()))?;

    for seq in 0..damaged {
        match rx.try_recv() {
            Ok(bytes) if bytes == item(seq) => {}
            other => return Err(format!("item {seq} before the damage: {other:?}")),
        }
    }
    let lost = match rx.try_recv() {
        Err(TryRecvError::Disk(reclaim_hopper::DiskError::Corrupt { lost, .. })) => lost,
        Ok(bytes) => return Err(format!("the damaged item arrived: {}", describe(&bytes))),
        Err(e) => return Err(format!("expected a corruption error, got {e:?} ({e})")),
    };
    let in_file = in_file_items;
    let expected = in_file - damaged;
    if lost != expected {
        return Err(format!(
            "{lost} item(s) counted lost, expected {expected}: the file's items \
             {damaged}..{in_file}, not the {} handed over",
            accepted - in_file
        ));
    }
    receive_exactly(&mut rx, in_file..accepted, "after the damage")?;
    println!("lost {lost} handed over {}", accepted - in_file);
    Ok(())
}

/// Receives `expected` items, each of which must be ready at once (everything was sent
/// before), then checks nothing more is there.
fn receive_exactly(
    rx: &mut Receiver<Vec<u8>>,
    expected: Range<u64>,
    when: &str,
) -> Result<(), String> {
    for seq in expected.clone() {
        match rx.try_recv() {
            Ok(bytes) if bytes == item(seq) => {}
            Ok(bytes) => {
                return Err(format!(
                    "{when}: expected item {seq} intact, received {}",
                    describe(&bytes)
                ));
            }
            Err(e) => {
                return Err(format!(
                    "{when}: item {seq} of {expected:?} could not be received: {e:?} ({e})"
                ));
            }
        }
    }
    match rx.try_recv() {
        Err(TryRecvError::Empty) => Ok(()),
        Ok(bytes) => Err(format!(
            "{when}: after items {expected:?} another one arrived: {}",
            describe(&bytes)
        )),
        Err(e) => Err(format!("{when}: after items {expected:?}: {e:?} ({e})")),
    }
}

// ---------------------------------------------------------------------------------------
// The parent's side of a child
// ---------------------------------------------------------------------------------------

/// A running child: its stdout as lines, its stderr collected, never waited on without
/// a deadline, killed if dropped while still running.
struct Spawned {
    role: &'static str,
    child: Child,
    /// Lines of stdout as read, each with its `\n` (a last line without one is cut).
    lines: mpsc::Receiver<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Spawned {
    fn start(role: &'static str, dir: &Path) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        // Under qemu user mode (an ARM test binary on an x86_64 machine) the child starts
        // through the runner cargo started this process with, or RECLAIM_TEST_RUNNER's.
        let runner = Runner::from_env("RECLAIM_TEST_RUNNER");
        let mut command = runner.command(exe);
        command
            .env(ROLE_VAR, role)
            .env(DIR_VAR, dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = runner
            .spawn(&mut command)
            .map_err(|e| format!("child {role}: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = BufReader::new(stderr).read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        });
        Ok(Spawned {
            role,
            child,
            lines,
            stderr: Some(stderr),
        })
    }

    /// The next line of stdout, or `None` once stdout is closed.
    fn line(&mut self, deadline: Instant) -> Result<Option<String>, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Ok(Some(line)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Ok(None),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(self.overrun("waiting for a line")),
        }
    }

    /// Waits for the child to exit by itself.
    fn wait(&mut self, deadline: Instant) -> Result<ExitStatus, String> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) => {}
                Err(e) => return Err(format!("waiting for child {}: {e}", self.role)),
            }
            if Instant::now() >= deadline {
                return Err(self.overrun("waiting for it to exit"));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILLs the child and reaps it.
    fn kill(&mut self) -> Result<ExitStatus, String> {
        self.child
            .kill()
            .and_then(|()| self.child.wait())
            .map_err(|e| format!("could not kill child {}: {e}", self.role))
    }

    fn overrun(&mut self, doing: &str) -> String {
        let killed = self.kill();
        let stderr = self.stderr();
        format!(
            "child {} overran the {DEADLINE:?} deadline {doing}; killed ({killed:?}). Its stderr:\n{}",
            self.role, stderr
        )
    }

    /// Everything the child wrote to stderr. Call once it has exited.
    fn stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| "(stderr reader panicked)".into())
            })
            .unwrap_or_default()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers for the parent
// ---------------------------------------------------------------------------------------

/// Runs `f` on its own thread and gives up after [`DEADLINE`], so a drain that hangs
/// fails the trial instead of stalling the run.
fn within<R: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> Result<R, String> + Send + 'static,
) -> Result<R, String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(format!("{what}: no result within {DEADLINE:?}"))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!("{what}: panicked")),
    }
}

/// Opens `data/CHANNEL` in recover mode, drops the sender and receives until
/// `Disconnected`; any disk error fails.
fn recover_and_drain(data: &Path) -> Result<Vec<u64>, String> {
    let data = data.to_path_buf();
    within("recovering and draining", move || {
        let (tx, mut rx) = recover_builder()
            .build(CHANNEL, &data)
            .map_err(|e| format!("reopening in recover mode failed: {e:?} ({e})"))?;
        drop(tx);
        drain(&mut rx)
    })
}

fn drain(rx: &mut Receiver<u64>) -> Result<Vec<u64>, String> {
    let mut got = Vec::new();
    loop {
        match rx.recv() {
            Ok(v) => got.push(v),
            Err(RecvError::Disconnected) => return Ok(got),
            Err(RecvError::Disk(e)) => {
                return Err(format!(
                    "disk error after {} item(s) (last {:?}): {e}",
                    got.len(),
                    got.last()
                ));
            }
        }
    }
}

/// Checks `got` is exactly 0, 1, …, n-1.
fn check_sequence(got: &[u64], n: u64) -> Result<(), String> {
    if let Some((at, &v)) = got.iter().enumerate().find(|&(at, &v)| v != at as u64) {
        return Err(format!(
            "item {at} received was {v}, expected {at} (received {} in all)",
            got.len()
        ));
    }
    if got.len() as u64 != n {
        return Err(format!("received 0..{}, expected 0..{n}", got.len()));
    }
    Ok(())
}

fn segment_files(channel_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(channel_dir)
        .expect("the channel directory exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "spill"))
        .collect();
    files.sort();
    files
}

/// The first record index a segment file is named after.
fn segment_first(path: &Path) -> u64 {
    path.file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{} is not named after an index", path.display()))
}

/// A whole block of a segment file.
struct BlockSpan {
    /// Its bytes, header included.
    bytes: Range<usize>,
    /// How many records it holds.
    records: u64,
}

/// The whole blocks in a segment file's bytes, read by the format description alone
/// (checksums are not checked: the tests damage them on purpose).
fn blocks(bytes: &[u8]) -> Vec<BlockSpan> {
    let mut out = Vec::new();
    let mut at = MAGIC_LEN;
    while at + BLOCK_HEADER <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let end = at + BLOCK_HEADER + len;
        if end > bytes.len() {
            break;
        }
        let mut records = 0;
        let mut record = at + BLOCK_HEADER;
        while record < end {
            // LEB128: seven bits a byte, least significant first, high bit set on all
            // but the last.
            let (mut payload, mut shift) = (0_usize, 0);
            loop {
                let byte = bytes[record];
                record += 1;
                payload |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            record += payload;
            records += 1;
        }
        out.push(BlockSpan {
            bytes: at..end,
            records,
        });
        at = end;
    }
    out
}

/// Sends 0..n into a fresh recover-mode channel and closes it without receiving, so
/// every item stays on disk.
fn fill(data: &Path, n: u64) -> Result<(), String> {
    let (mut tx, rx) = recover_builder()
        .build(CHANNEL, data)
        .map_err(|e| format!("opening a fresh channel: {e}"))?;
    for i in 0..n {
        tx.send(i).map_err(|(_, e)| format!("send of {i}: {e}"))?;
    }
    drop(tx);
    drop(rx);
    Ok(())
}

/// Every file of a directory and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fs::read_dir(dir)
        .expect("the directory exists")
        .map(|e| {
            let path = e.expect("directory entry").path();
            let bytes = fs::read(&path).expect("readable");
            (path, bytes)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Trials
// ---------------------------------------------------------------------------------------

/// A child sends into a recover-mode channel and is SIGKILLed mid-stream; reopening the
/// directory delivers every acknowledged item, in order, with no gap and no error.
fn recover_after_kill() -> Result<(), String> {
    // Different thresholds move the cut to different places in the segment files.
    for threshold in [3_000, 4_567, 7_919] {
        kill_and_recover(threshold)
            .map_err(|e| format!("round killing at {threshold} acks: {e}"))?;
    }
    Ok(())
}

fn kill_and_recover(threshold: u64) -> Result<(), String> {
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + DEADLINE;
    let mut child = Spawned::start("send-forever", data.path())?;
    // Highest number the child has printed, as a complete line: accepted by `send`.
    let mut acked: Option<u64> = None;
    let take = |acked: &mut Option<u64>, line: &str| -> Result<(), String> {
        let expected = acked.map_or(0, |a| a + 1);
        match line.strip_suffix('\n').map(str::parse::<u64>) {
            Some(Ok(v)) if v == expected => {
                *acked = Some(v);
                Ok(())
            }
            _ => Err(format!("expected the line {expected:?}, got {line:?}")),
        }
    };
    while acked.is_none_or(|a| a + 1 < threshold) {
        match child.line(deadline)? {
            Some(line) => take(&mut acked, &line)?,
            None => {
                let status = child.wait(deadline)?;
                return Err(format!(
                    "the child stopped after acknowledging {acked:?} ({status}); its stderr:\n{}",
                    child.stderr()
                ));
            }
        }
    }
    let files = segment_files(&data.path().join(CHANNEL)).len();
    if files < 3 {
        return Err(format!(
            "only {files} segment file(s) after {threshold} items: the files did not rotate"
        ));
    }
    let status = child.kill()?;
    if status.success() {
        return Err(format!(
            "the child exited by itself ({status}) instead of being killed"
        ));
    }
    // Lines already in the pipe were printed before the kill: acknowledged too. A last
    // line cut short by the kill proves nothing and is left out.
    while let Some(line) = child.line(deadline)? {
        if line.ends_with('\n') {
            take(&mut acked, &line)?;
        }
    }
    let last = acked.expect("at least `threshold` lines were read");

    let got = recover_and_drain(data.path())?;
    let m = got.len() as u64;
    check_sequence(&got, m)?;
    // `m` items arrived: 0..m. The child had sent up to `last`, and at most one more
    // (accepted but killed before printing it); nothing beyond was ever sent.
    if m < last + 1 {
        return Err(format!(
            "recovered 0..{m}, but items up to {last} had been acknowledged"
        ));
    }
    if m > last + 2 {
        return Err(format!(
            "recovered 0..{m}, but the child had acknowledged only up to {last} and sent at \
             most one more"
        ));
    }
    Ok(())
}

/// Debris of a write cut short at the end of the last segment is dropped on recovery:
/// every item arrives, in order and without error, the file is cut back, and items sent
/// after the reopen follow the recovered ones.
fn recover_truncates_a_torn_tail() -> Result<(), String> {
    let claims_100 = torn_record();
    let variants: [(&str, &[u8]); 2] = [
        ("a header claiming 100 bytes, then 10 bytes", &claims_100),
        ("3 bytes of a length field", &[7, 0, 0]),
    ];
    for (what, garbage) in variants {
        torn_tail(garbage).map_err(|e| format!("torn tail of {what}: {e}"))?;
    }
    Ok(())
}

/// What a crash mid-write leaves: a whole, valid block header claiming 100 bytes, then 10 of
/// them.
fn torn_record() -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&100_u32.to_le_bytes());
    bytes.extend_from_slice(&crc32c::crc32c(&100_u32.to_le_bytes()).to_le_bytes());
    bytes.extend_from_slice(&0xdead_beef_u32.to_le_bytes());
    bytes.extend_from_slice(&[0xa5; 10]);
    bytes
}

/// Reopens `data/CHANNEL` in recover mode, runs `inspect` before anything is sent or
/// received (reading deletes files), sends `more`, drops the sender and drains.
fn resume<R: Send + 'static>(
    data: &Path,
    more: Range<u64>,
    inspect: impl FnOnce() -> Result<R, String> + Send + 'static,
) -> Result<(R, Vec<u64>), String> {
    let data = data.to_path_buf();
    within("reopening, sending and draining", move || {
        let (mut tx, mut rx) = recover_builder()
            .build(CHANNEL, &data)
            .map_err(|e| format!("reopening in recover mode failed: {e:?} ({e})"))?;
        let inspected = inspect()?;
        for i in more {
            tx.send(i)
                .map_err(|(_, e)| format!("send of {i} after recovery: {e:?} ({e})"))?;
        }
        drop(tx);
        Ok((inspected, drain(&mut rx)?))
    })
}

fn torn_tail(garbage: &[u8]) -> Result<(), String> {
    const SENT: u64 = 1000;
    const AFTER: u64 = 25;
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = data.path().join(CHANNEL);
    fill(data.path(), SENT)?;
    let files = segment_files(&dir);
    if files.len() < 2 {
        return Err(format!(
            "{} segment file(s): the test needs rotation",
            files.len()
        ));
    }
    let last = files.last().expect("files").clone();
    let clean_len = fs::metadata(&last).map_err(|e| e.to_string())?.len();
    OpenOptions::new()
        .append(true)
        .open(&last)
        .and_then(|mut f| f.write_all(garbage))
        .map_err(|e| format!("appending to {}: {e}", last.display()))?;

    let (cut_len, got) = resume(data.path(), SENT..SENT + AFTER, move || {
        fs::metadata(&last)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", last.display()))
    })?;
    if cut_len != clean_len {
        return Err(format!(
            "the last segment is {cut_len} bytes after recovery; it was {clean_len} before \
             the {} garbage bytes were appended",
            garbage.len()
        ));
    }
    check_sequence(&got, SENT + AFTER)
}

/// A record damaged in the middle of the last segment stops recovery with an error
/// naming the file and the offset, and nothing on disk is touched; following the
/// message's advice (cut the file there) then recovers the items before the damage.
fn recover_refuses_a_damaged_record() -> Result<(), String> {
    // The record's first byte: the block's length stays plausible, only the block's
    // checksum of its records can tell.
    refuses_damage_at(BLOCK_HEADER).map_err(|e| format!("damaged payload: {e}"))?;
    // The length's high byte: the block now claims more than the file holds, which
    // without the length's own checksum would pass for a block cut short by a crash.
    refuses_damage_at(3).map_err(|e| format!("damaged length: {e}"))
}

/// Damages the byte `at` bytes into a record's block in the middle of the last segment
/// (written through: a block per record).
fn refuses_damage_at(at: usize) -> Result<(), String> {
    const SENT: u64 = 1000;
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = data.path().join(CHANNEL);
    fill(data.path(), SENT)?;
    let files = segment_files(&dir);
    let last = files.last().ok_or("no segment file")?.clone();
    let mut bytes = fs::read(&last).map_err(|e| e.to_string())?;
    let whole = blocks(&bytes);
    if whole.len() < 3
        || whole.last().expect("blocks").bytes.end != bytes.len()
        || whole.iter().any(|b| b.records != 1)
    {
        return Err(format!(
            "{} holds {} whole block(s) and {} bytes: the test needs at least 3, a record \
             each, and no debris",
            last.display(),
            whole.len(),
            bytes.len()
        ));
    }
    let recs: Vec<Range<usize>> = whole.into_iter().map(|b| b.bytes).collect();
    let intact = recs.len() / 2;
    let damaged = recs[intact].clone();
    bytes[damaged.start + at] ^= 0x5a;
    fs::write(&last, &bytes).map_err(|e| e.to_string())?;
    let before = snapshot(&dir);

    let open = recover_builder().build(CHANNEL, data.path());
    let e = match open {
        Ok(_) => return Err("a damaged record in the last segment was recovered over".into()),
        Err(Error::IoError(e)) => e,
        Err(other) => return Err(format!("expected Error::IoError, got {other:?}")),
    };
    let message = e.to_string();
    let wanted = [
        last.display().to_string(),
        format!("at byte {}", damaged.start),
        format!("after {intact} intact item(s)"),
    ];
    for part in &wanted {
        if !message.contains(part.as_str()) {
            return Err(format!("the error {message:?} does not say {part:?}"));
        }
    }
    if e.kind() != io::ErrorKind::InvalidData {
        return Err(format!(
            "the error's kind is {:?}, expected InvalidData",
            e.kind()
        ));
    }
    if snapshot(&dir) != before {
        return Err("the failed open changed the channel directory".into());
    }

    // The message says: cut the file at the offset to keep the items before it.
    OpenOptions::new()
        .write(true)
        .open(&last)
        .and_then(|f| f.set_len(damaged.start as u64))
        .map_err(|e| format!("cutting {}: {e}", last.display()))?;
    let got = recover_and_drain(data.path())?;
    check_sequence(&got, segment_first(&last) + intact as u64)
}

/// The last segment file holds no whole record when the process died after creating it
/// and before its first record was written whole. Reopening delivers every item of the
/// files before it and spills again: the next item gets the index that file is named
/// after, so a file of that name must not stand in the way.
fn recover_resumes_after_a_last_segment_without_records() -> Result<(), String> {
    // How many bytes of a real segment's magic the file holds, and whether a torn first
    // record follows them.
    let variants = [
        ("no byte", 0, false),
        ("5 bytes of the magic", 5, false),
        ("only the magic", MAGIC_LEN, false),
        ("the magic and a torn first record", MAGIC_LEN, true),
    ];
    for (what, magic_bytes, torn) in variants {
        resume_after_last_segment(magic_bytes, torn)
            .map_err(|e| format!("a last segment of {what}: {e}"))?;
    }
    Ok(())
}

fn resume_after_last_segment(magic_bytes: usize, torn: bool) -> Result<(), String> {
    const SENT: u64 = 1000;
    const AFTER: u64 = 25;
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = data.path().join(CHANNEL);
    fill(data.path(), SENT)?;
    let first = segment_files(&dir)
        .first()
        .ok_or("no segment file")?
        .clone();
    let mut contents = fs::read(&first).map_err(|e| e.to_string())?;
    contents.truncate(magic_bytes);
    if torn {
        contents.extend(torn_record());
    }
    // Named after the index its first record would have had (twenty digits, record.rs).
    let last = dir.join(format!("{SENT:020}.spill"));
    fs::write(&last, contents).map_err(|e| format!("{}: {e}", last.display()))?;
    let ((), got) = resume(data.path(), SENT..SENT + AFTER, || Ok(()))?;
    check_sequence(&got, SENT + AFTER)
}

/// See [`child_full_after_rotation`]: a real "disk full" (a file size limit) right after
/// a rotation, then a reopen.
fn recover_resumes_after_a_rotation_on_a_full_disk() -> Result<(), String> {
    let out = run_to_end("full-after-rotation")?;
    if !out.iter().any(|l| l.starts_with("recovered ")) {
        return Err(format!(
            "no `recovered` line in the child's stdout: {out:?}"
        ));
    }
    Ok(())
}

/// See [`child_full_then_damaged`]: items handed over from the write buffer when the
/// disk filled up are delivered though the file before them is damaged.
fn damage_spares_the_records_handed_over_on_a_full_disk() -> Result<(), String> {
    let out = run_to_end("full-then-damaged")?;
    if !out.iter().any(|l| l.starts_with("lost ")) {
        return Err(format!("no `lost` line in the child's stdout: {out:?}"));
    }
    Ok(())
}

/// Runs a child in a fresh data directory until it exits; its stdout lines if it passed.
fn run_to_end(role: &'static str) -> Result<Vec<String>, String> {
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + DEADLINE;
    let mut child = Spawned::start(role, data.path())?;
    let status = child.wait(deadline)?;
    let mut out = Vec::new();
    while let Some(line) = child.line(deadline)? {
        out.push(line);
    }
    let stderr = child.stderr();
    if !status.success() {
        return Err(format!(
            "the child failed ({status}); stdout: {out:?}; stderr:\n{stderr}"
        ));
    }
    Ok(out)
}

/// A child under a 256 KiB file size limit fills its segment file; see
/// [`child_disk_full`] for what it checks. Here: it passed, and the number of items it
/// got in is what the limit allows.
fn disk_full_returns_the_item() -> Result<(), String> {
    let out = run_to_end("disk-full")?;
    let accepted = out
        .iter()
        .find_map(|l| {
            l.strip_prefix("accepted ")?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .ok_or_else(|| format!("no `accepted` line in the child's stdout: {out:?}"))?;
    let bytes = accepted * ITEM_BYTES as u64;
    // Whole blocks fill the file up to the limit; at most one write buffer more waits in
    // memory.
    let plausible = FSIZE_LIMIT / 2..=FSIZE_LIMIT + reclaim_hopper::WRITE_BUFFER as u64;
    if !plausible.contains(&bytes) {
        return Err(format!(
            "{accepted} items of {ITEM_BYTES} bytes accepted under a {FSIZE_LIMIT}-byte file \
             size limit: expected {plausible:?} bytes"
        ));
    }
    Ok(())
}
