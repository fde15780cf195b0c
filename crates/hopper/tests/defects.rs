//! One regression test per defect of hopper 0.4, plus the disk-hygiene promises. Each
//! test says which naive behaviour it catches.

use reclaim_hopper::{
    Accounting, Builder, DiskError, Durability, Error, Receiver, RecvError, Sender, TryRecvError,
    channel_with_explicit_capacity,
};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Receives with a deadline, so a stranded item fails the test instead of hanging it.
fn recv_within<T>(rx: &mut Receiver<T>, what: &str) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send,
{
    // A hang guard, generous for qemu on a loaded host.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.try_recv() {
            Ok(item) => return item,
            Err(TryRecvError::Empty) if Instant::now() < deadline => thread::yield_now(),
            Err(e) => panic!("{what}: {e:?}"),
        }
    }
}

/// Runs `f` on its own thread and fails the test if it has not finished within 60 s: a
/// hang guard, so that a receiver spinning for ever fails instead of stalling the run.
fn finishes<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: not finished within 60 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "spill"))
        .collect();
    files.sort();
    files
}

/// The `i`th string item the tests spill: `"item-NNNN"`, 10 bytes encoded (see `RECORD`).
fn item(i: usize) -> String {
    format!("item-{i:04}")
}

/// Receives the string items `items` from `rx`, in order.
fn recv_items(rx: &mut Receiver<String>, items: std::ops::Range<usize>) {
    for i in items {
        assert_eq!(rx.recv().unwrap(), item(i));
    }
}

/// The fields of a corruption error — file, offset, reason, items lost; panics, naming
/// `what`, on any other error.
fn corrupt(err: DiskError, what: &str) -> (PathBuf, u64, String, u64) {
    match err {
        DiskError::Corrupt {
            path,
            offset,
            reason,
            lost,
        } => (path, offset, reason, lost),
        other => panic!("{what}: expected a corruption error, got {other:?}"),
    }
}

/// The fields of the corruption error a receive must have returned (see `corrupt`).
fn recv_corrupt<T: std::fmt::Debug>(
    got: Result<T, RecvError>,
    what: &str,
) -> (PathBuf, u64, String, u64) {
    match got {
        Err(RecvError::Disk(err)) => corrupt(err, what),
        other => panic!("{what}: expected a corruption error, got {other:?}"),
    }
}

/// A builder of recover-mode channels that send every item through the disk.
fn recovering() -> Builder<String> {
    Builder::<String>::new()
        .memory_bytes(0)
        .durability(Durability::Recover)
}

/// hopper 0.4 left the last records of a spilled stream invisible until `flush` pushed
/// their marker: a receiver that waits for them without a flush hangs.
#[test]
fn the_tail_of_a_spilled_stream_arrives_without_flush() {
    let data = tempfile::tempdir().unwrap();
    // Room for two u64s in memory: the rest spills, and nothing ever drains the memory
    // queue while sending, so no marker can be pushed.
    let (mut tx, mut rx) = Builder::<u64>::new()
        .memory_bytes(2 * reclaim_hopper::slot_bytes::<u64>())
        .accounting(Accounting::Shallow)
        .build("tail", data.path())
        .unwrap();
    for i in 0..1000 {
        tx.send(i).unwrap();
    }
    assert!(
        !segment_files(&data.path().join("tail")).is_empty(),
        "the test must spill"
    );
    for i in 0..1000 {
        assert_eq!(recv_within(&mut rx, "item stranded on disk"), i);
    }
    // The sender is still alive and never flushed.
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    drop(tx);
}

/// The same with the receiver running alongside and a sender that goes quiet after its
/// last item: the last item, spilled, must still come.
#[test]
fn the_last_spilled_item_of_a_quiet_sender_arrives() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = Builder::<String>::new()
        .memory_bytes(0)
        .build("quiet", data.path())
        .unwrap();
    tx.send("only".to_string()).unwrap();
    assert_eq!(recv_within(&mut rx, "lone spilled item"), "only");
    drop(tx);
}

/// hopper 0.4's iterator never ended: with every sender gone it blocked forever (and
/// returned `None` on disk errors instead). Here it ends exactly at disconnection.
#[test]
fn the_iterator_ends_when_every_sender_is_gone_and_the_channel_is_drained() {
    let data = tempfile::tempdir().unwrap();
    let (tx, rx) =
        channel_with_explicit_capacity::<u64>("iter", data.path(), 64, 1 << 10, 1000).unwrap();
    let senders: Vec<_> = (0..3)
        .map(|s| {
            let mut tx = tx.clone();
            thread::spawn(move || {
                for i in 0..500 {
                    tx.send(s * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumer = thread::spawn(move || rx.into_iter().collect::<Vec<_>>());
    for s in senders {
        s.join().unwrap();
    }
    let mut got = consumer.join().unwrap();
    got.sort_unstable();
    let mut want: Vec<u64> = (0..3)
        .flat_map(|s| (0..500).map(move |i| s * 1000 + i))
        .collect();
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn recv_says_disconnected_only_after_the_last_item() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = Builder::<u32>::new()
        .memory_bytes(0)
        .build("disc", data.path())
        .unwrap();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    assert_eq!(rx.recv().unwrap(), 1);
    assert_eq!(rx.try_recv().unwrap(), 2);
    assert!(matches!(rx.recv(), Err(RecvError::Disconnected)));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
    assert_eq!(rx.iter().next(), None);
}

/// From record.rs's format description: a segment file starts with 8 magic bytes, then
/// blocks of a 12-byte header and records. `"item-NNNN"` encodes as 10 bytes (postcard's
/// 1-byte length, 9 characters), which the record prefixes with its own 1-byte length.
const MAGIC: usize = 8;
const BLOCK_HEADER: usize = 12;
const RECORD: usize = 11;

/// Spills `items` strings through the disk only and returns the channel's directory. They
/// are written as one block.
fn spill_strings(
    data: &Path,
    name: &str,
    items: usize,
) -> (Sender<String>, Receiver<String>, PathBuf) {
    let (tx, rx, _file) = spill_blocks(data, name, &[items]);
    (tx, rx, data.join(name))
}

/// Spills strings through the disk only, one block per group of `groups` (a flush after
/// each), and returns the channel's only file.
fn spill_blocks(
    data: &Path,
    name: &str,
    groups: &[usize],
) -> (Sender<String>, Receiver<String>, PathBuf) {
    let (mut tx, rx) = Builder::<String>::new()
        .memory_bytes(0)
        .build(name, data)
        .unwrap();
    let mut i = 0;
    for &group in groups {
        for _ in 0..group {
            tx.send(item(i)).unwrap();
            i += 1;
        }
        tx.flush().unwrap();
    }
    let files = segment_files(&data.join(name));
    assert_eq!(files.len(), 1);
    (tx, rx, files[0].clone())
}

/// In a file of `spill_blocks` whose first block holds items 0..3 — magic, that block,
/// then the block of items 3.. — flips a payload byte of item 3, the second block's first
/// record; returns the second block's offset.
fn damage_item_3(file: &Path) -> usize {
    let mut bytes = fs::read(file).unwrap();
    let second = MAGIC + BLOCK_HEADER + 3 * RECORD;
    bytes[second + BLOCK_HEADER + 2] ^= 0x40;
    fs::write(file, &bytes).unwrap();
    second
}

/// hopper 0.4 panicked on a corrupt record. Here the damage is an error that names the
/// file and the offset, the items after the damaged file still arrive, and nothing panics.
///
/// A block has one checksum for all its records, so a damaged byte costs the whole block
/// (format 1 checksummed each record, and items 0..3 came from the same write): they are
/// written as a block of their own here, so that the items before the damage still arrive.
#[test]
fn a_corrupt_record_is_an_error_naming_file_and_offset() {
    let data = tempfile::tempdir().unwrap();
    // Items 0..3, then the block of items 3..10, whose first record is damaged.
    let (_tx, mut rx, file) = spill_blocks(data.path(), "corrupt", &[3, 7]);
    let second = damage_item_3(&file);

    recv_items(&mut rx, 0..3);
    let (path, offset, reason, lost) = recv_corrupt(rx.recv(), "item 3");
    assert_eq!(path, file);
    assert_eq!(offset, second as u64, "the damaged block");
    assert!(reason.contains("checksum"), "{reason}");
    assert_eq!(lost, 7, "the fourth record and the six after it");
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}

/// Spills `items` strings of 10 encoded bytes, each in a block of its own (flushed), two
/// per segment file; returns the files.
fn spill_two_per_file(
    data: &Path,
    name: &str,
    items: usize,
) -> (Sender<String>, Receiver<String>, Vec<PathBuf>) {
    let (mut tx, rx) = Builder::<String>::new()
        .memory_bytes(0)
        .disk_file_bytes(MAGIC + 2 * (BLOCK_HEADER + RECORD))
        .build(name, data)
        .unwrap();
    for i in 0..items {
        tx.send(item(i)).unwrap();
        tx.flush().unwrap();
    }
    let files = segment_files(&data.join(name));
    assert_eq!(files.len(), items.div_ceil(2), "rotation at the size limit");
    (tx, rx, files)
}

fn cut(file: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(file)
        .and_then(|f| f.set_len(len))
        .unwrap();
}

/// Damage found in the segment still being written took the records waiting in the
/// write buffer with it: accepted, intact, never in the damaged file — yet counted lost
/// and never delivered.
#[test]
fn damage_in_the_segment_being_written_spares_its_buffered_records() {
    let data = tempfile::tempdir().unwrap();
    // Items 0..3 and 3..5 in blocks of their own (see the test above); item 3 damaged.
    let (mut tx, mut rx, file) = spill_blocks(data.path(), "buffered", &[3, 2]);
    let second = damage_item_3(&file);

    // The receiver reads the file, damage included, in one go; what is sent meanwhile
    // waits in the write buffer (nothing flushes it).
    assert_eq!(rx.recv().unwrap(), "item-0000");
    for i in 5..10 {
        tx.send(item(i)).unwrap();
    }
    recv_items(&mut rx, 1..3);
    let (path, offset, _, lost) = recv_corrupt(rx.recv(), "item 3");
    assert_eq!(path, file);
    assert_eq!(offset, second as u64, "the damaged block");
    assert_eq!(
        lost, 2,
        "the file's fourth and fifth records, not the buffered ones"
    );
    for i in 5..10 {
        assert_eq!(recv_within(&mut rx, "a buffered item"), item(i));
    }
    // The channel spills on, into a new file.
    tx.send("after".into()).unwrap();
    assert_eq!(
        recv_within(&mut rx, "an item sent after the damage"),
        "after"
    );
    drop(tx);
    assert!(matches!(rx.recv(), Err(RecvError::Disconnected)));
}

#[test]
fn a_truncated_file_is_an_error_not_a_panic() {
    let data = tempfile::tempdir().unwrap();
    let (_tx, mut rx, files) = spill_two_per_file(data.path(), "trunc", 6);
    // Cut the first file inside its second block.
    let second = MAGIC + BLOCK_HEADER + RECORD;
    cut(&files[0], (second + 5) as u64);

    assert_eq!(rx.recv().unwrap(), "item-0000");
    let err = rx.recv().unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&files[0].display().to_string()), "{text}");
    assert!(text.contains(&format!("at byte {second}")), "{text}");
    assert!(
        matches!(err, RecvError::Disk(DiskError::Corrupt { lost: 1, .. })),
        "{err:?}"
    );
    // The next file is intact and follows.
    recv_items(&mut rx, 2..6);
}

/// A file cut inside its 8-byte magic: the receiver read the bytes left, took the short
/// read for a full one and sliced past them — a panic.
#[test]
fn a_file_cut_inside_its_magic_is_an_error_not_a_panic() {
    for len in 0..8 {
        let data = tempfile::tempdir().unwrap();
        let (_tx, mut rx, files) = spill_two_per_file(data.path(), "magic", 4);
        cut(&files[0], len);
        let cut_to = format!("cut to {len} bytes");
        let (path, offset, reason, lost) = recv_corrupt(rx.recv(), &cut_to);
        assert_eq!(path, files[0], "{cut_to}");
        assert_eq!(offset, 0, "{cut_to}");
        assert!(reason.contains(&format!("ends at byte {len}")), "{reason}");
        assert_eq!(lost, 2, "{cut_to}: both records of the file");
        recv_items(&mut rx, 2..4);
    }
}

/// The iterator cannot return an error, and must not return `None` for one: it steps over
/// the damage and keeps the error.
#[test]
fn the_iterator_steps_over_damage_and_keeps_the_error() {
    let data = tempfile::tempdir().unwrap();
    let (tx, mut rx, dir) = spill_strings(data.path(), "iter-corrupt", 4);
    let files = segment_files(&dir);
    let mut bytes = fs::read(&files[0]).unwrap();
    bytes[MAGIC + 8] ^= 1; // the block's checksum of its records
    fs::write(&files[0], &bytes).unwrap();
    drop(tx);
    let got: Vec<String> = rx.iter().collect();
    assert!(
        got.is_empty(),
        "every record was in the damaged file: {got:?}"
    );
    let errors = rx.take_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(errors[0], DiskError::Corrupt { lost: 4, .. }));
}

/// A segment file holding more records than its index range — here the next file was
/// renamed to a lower index — was read to its last record; the reader then stood past the
/// next file's first index and returned the same error, no item lost, for ever: the
/// iterator never ended.
#[test]
fn a_segment_holding_more_than_its_range_is_cut_short_and_iteration_ends() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("overlong");
    // Written through: a block per record, four per file.
    let builder = || recovering().disk_file_bytes(MAGIC + 4 * (BLOCK_HEADER + RECORD));
    {
        let (mut tx, _rx) = builder().build("overlong", data.path()).unwrap();
        for i in 0..12 {
            tx.send(item(i)).unwrap();
        }
    }
    let files = segment_files(&dir);
    assert_eq!(files.len(), 3, "items 0..4, 4..8, 8..12");
    // The second file now ends where the third begins, after two of its four items.
    fs::rename(&files[2], dir.join(format!("{:020}.spill", 6))).unwrap();

    let (tx, rx) = builder().build("overlong", data.path()).unwrap();
    drop(tx);
    let (got, mut errors) = finishes("iterating over an over-long segment", move || {
        let mut rx = rx;
        let got: Vec<String> = rx.iter().collect();
        (got, rx.take_errors())
    });
    let want: Vec<String> = (0..6).chain(8..12).map(item).collect();
    assert_eq!(got, want);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (path, offset, reason, lost) = corrupt(errors.remove(0), "the over-long segment");
    assert_eq!(path, files[1]);
    let third = MAGIC + 2 * (BLOCK_HEADER + RECORD) + BLOCK_HEADER;
    assert_eq!(offset, third as u64, "the third record");
    assert!(reason.contains("4..6"), "{reason}");
    assert_eq!(lost, 2, "the two records after the range");
}

/// Spills three items through a recover-mode channel `name`, closes it, and renames its
/// one segment file as if its first record had index `first`; returns the new path.
fn three_items_renamed_to(data: &Path, name: &str, first: u64) -> PathBuf {
    {
        let (mut tx, _rx) = recovering().build(name, data).unwrap();
        for i in 0..3 {
            tx.send(item(i)).unwrap();
        }
    }
    let files = segment_files(&data.join(name));
    let renamed = data.join(name).join(format!("{first}.spill"));
    fs::rename(&files[0], &renamed).unwrap();
    renamed
}

/// A segment named after an index so high that its records would run past the last one
/// (`u64::MAX`): recovery added the count to the name's index and overflowed.
#[test]
fn a_segment_named_past_the_last_index_is_refused_not_a_panic() {
    let data = tempfile::tempdir().unwrap();
    let renamed = three_items_renamed_to(data.path(), "top", u64::MAX - 1);
    match recovering().build("top", data.path()) {
        Err(Error::IoError(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
            let text = e.to_string();
            assert!(text.contains(&renamed.display().to_string()), "{text}");
        }
        Err(other) => panic!("expected an I/O error, got {other:?}"),
        Ok(_) => panic!("a segment whose items run past the last index was recovered"),
    }
}

/// A segment named so that its records end exactly at the last index is recovered and
/// read; the next spill has no index left and is refused with the item handed back,
/// instead of overflowing the index.
#[test]
fn a_spill_past_the_last_index_is_refused_not_wrapped() {
    let data = tempfile::tempdir().unwrap();
    three_items_renamed_to(data.path(), "edge", u64::MAX - 3);
    let (mut tx, mut rx) = recovering().build("edge", data.path()).unwrap();
    match tx.send("one too many".to_string()) {
        Err((item, Error::IoError(e))) => {
            assert_eq!(item, "one too many");
            assert!(e.to_string().contains("no record index is left"), "{e}");
        }
        other => panic!("expected the item back with an I/O error, got {other:?}"),
    }
    for i in 0..3 {
        assert_eq!(rx.try_recv().unwrap(), item(i));
    }
}

/// A record that decodes as the wrong type (a channel reopened with another item type) is
/// an error for that record only.
#[test]
fn an_item_that_does_not_decode_is_an_error_for_that_item_only() {
    let data = tempfile::tempdir().unwrap();
    {
        let (mut tx, _rx) = recovering().build("types", data.path()).unwrap();
        tx.send("not a number".into()).unwrap();
        tx.send("\u{1}".into()).unwrap();
    }
    let (_tx, mut rx) = Builder::<bool>::new()
        .durability(reclaim_hopper::Durability::Recover)
        .build("types", data.path())
        .unwrap();
    match rx.try_recv() {
        Err(TryRecvError::Disk(DiskError::Corrupt { reason, lost, .. })) => {
            assert!(
                reason.contains("does not decode as bool") || reason.contains("left over"),
                "{reason}"
            );
            assert_eq!(lost, 1);
        }
        other => panic!("expected a decoding error, got {other:?}"),
    }
    // "\u{1}" encodes as [1, 1]: length 1, byte 1 — as bool: `true` with a byte left over.
    assert!(matches!(
        rx.try_recv(),
        Err(TryRecvError::Disk(DiskError::Corrupt { lost: 1, .. }))
    ));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}

/// hopper 0.4 counted `size_of::<T>()`: 24 bytes for a `Vec<u8>` of any length. Here the
/// default charges the encoded length, so a 64 KiB bound holds about 64 one-KiB items,
/// not 2,700.
#[test]
fn the_memory_bound_counts_the_bytes_items_occupy() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = Builder::<Vec<u8>>::new()
        .memory_bytes(64 * 1024)
        .build("bytes", data.path())
        .unwrap();
    let mut sent = 0;
    while segment_files(&data.path().join("bytes")).is_empty() {
        tx.send(vec![7; 1024]).unwrap();
        sent += 1;
        assert!(sent <= 64, "{sent} KiB held in a 64 KiB memory bound");
    }
    assert!(sent >= 60, "only {sent} one-KiB items fit in 64 KiB");
    for _ in 0..sent {
        assert_eq!(rx.recv().unwrap().len(), 1024);
    }
}

/// When memory and disk are both at their bound, `send` hands the item back with `Full`
/// and everything accepted before still arrives, in order.
#[test]
fn when_memory_and_disk_are_full_send_returns_the_item() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = Builder::<u64>::new()
        .memory_bytes(4 * reclaim_hopper::slot_bytes::<u64>())
        .accounting(Accounting::Shallow)
        .disk_file_bytes(64)
        .disk_files(3)
        .build("full", data.path())
        .unwrap();
    let mut accepted = 0;
    let refused = loop {
        match tx.send(accepted) {
            Ok(()) => accepted += 1,
            Err((item, Error::Full)) => break item,
            Err((_, e)) => panic!("unexpected error {e}"),
        }
        assert!(accepted < 10_000, "never full");
    };
    assert_eq!(refused, accepted, "the refused item comes back");
    assert_eq!(segment_files(&data.path().join("full")).len(), 3);
    for i in 0..accepted {
        assert_eq!(rx.recv().unwrap(), i);
    }
    // Reading freed the space: sending works again.
    tx.send(refused).unwrap();
    assert_eq!(rx.recv().unwrap(), refused);
}

/// Files rotate at their size limit and are deleted once read: disk use stays within
/// `files × file_bytes` however many items pass through.
#[test]
fn segment_files_rotate_and_are_deleted_once_read() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("rotate");
    let (mut tx, mut rx) = Builder::<[u64; 4]>::new()
        .memory_bytes(0)
        .disk_file_bytes(1024)
        .disk_files(4)
        .build("rotate", data.path())
        .unwrap();
    let mut most_files = 0;
    // 200 items of a dozen bytes or so a round: more than a file holds, so blocks reach
    // the files before the receiver can take them from memory.
    for round in 0..50u64 {
        for i in 0..200 {
            tx.send([round, i, 0, 0]).unwrap();
        }
        let files = segment_files(&dir);
        most_files = most_files.max(files.len());
        for file in &files {
            let len = fs::metadata(file).unwrap().len();
            assert!(len <= 1024, "{} is {len} bytes", file.display());
        }
        for i in 0..200 {
            assert_eq!(rx.recv().unwrap(), [round, i, 0, 0]);
        }
    }
    assert!(most_files >= 2, "the test must rotate");
    assert!(segment_files(&dir).len() <= 1, "read files are deleted");
}

#[test]
fn files_and_directories_are_owner_only() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, _rx) = Builder::<u8>::new()
        .memory_bytes(0)
        .build("perm", data.path())
        .unwrap();
    tx.send(1).unwrap();
    let dir = data.path().join("perm");
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for file in fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn a_second_channel_on_the_same_directory_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = reclaim_hopper::channel::<u8>("shared", data.path()).unwrap();
    match reclaim_hopper::channel::<u8>("shared", data.path()) {
        Err(Error::IoError(e)) => assert!(e.to_string().contains("in use"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The first channel is untouched.
    tx.send(5).unwrap();
    assert_eq!(rx.recv().unwrap(), 5);
}

#[test]
fn bad_names_and_missing_directories_are_clear_errors() {
    let data = tempfile::tempdir().unwrap();
    for bad in ["", "..", "a/b"] {
        match reclaim_hopper::channel::<u8>(bad, data.path()) {
            Err(Error::IoError(e)) => assert!(e.to_string().contains("invalid channel name")),
            other => panic!("{bad:?}: expected an error, got {other:?}"),
        }
    }
    let missing = data.path().join("nope");
    assert!(matches!(
        reclaim_hopper::channel::<u8>("x", &missing),
        Err(Error::NoSuchDirectory)
    ));
}

/// Default mode is hopper's: a new channel starts empty even if files were left behind.
#[test]
fn a_new_channel_starts_empty_by_default() {
    let data = tempfile::tempdir().unwrap();
    let (_tx, rx, dir) = spill_strings(data.path(), "fresh", 5);
    drop(rx);
    drop(_tx);
    assert!(
        segment_files(&dir).is_empty(),
        "closing deletes segment files"
    );
    let (mut tx, rx) = recovering().build("fresh", data.path()).unwrap();
    tx.send("a".into()).unwrap();
    drop(tx);
    drop(rx);
    assert_eq!(segment_files(&dir).len(), 1, "recover mode keeps its files");
    let (tx, mut rx) = reclaim_hopper::channel::<String>("fresh", data.path()).unwrap();
    drop(tx);
    assert!(matches!(rx.recv(), Err(RecvError::Disconnected)));
}

#[test]
fn sending_after_the_receiver_is_gone_hands_the_item_back() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, rx) = reclaim_hopper::channel::<u8>("gone", data.path()).unwrap();
    drop(rx);
    match tx.send(3) {
        Err((3, Error::IoError(e))) => assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe),
        other => panic!("expected the item back, got {other:?}"),
    }
}

/// Found by the fuzzer: with one disk file allowed, a file read to its end was deleted only
/// when the receiver needed the next record — which never came, so an empty channel
/// refused every spill as `Full`, for good.
#[test]
fn a_single_disk_file_is_reused_once_read() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = Builder::<u64>::new()
        .memory_bytes(0)
        .disk_file_bytes(16)
        .disk_files(1)
        .build("one-file", data.path())
        .unwrap();
    for i in 0..20 {
        tx.send(i)
            .unwrap_or_else(|(_, e)| panic!("send {i} refused: {e}"));
        assert_eq!(rx.recv().unwrap(), i);
    }
}

/// hopper held at least one item in memory whatever its bound; a channel that can neither
/// spill nor fit one item would refuse everything, and hopper's retry-until-accepted
/// tests would spin for ever.
#[test]
fn an_empty_channel_takes_one_item_when_nothing_fits() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) =
        channel_with_explicit_capacity::<u64>("tiny", data.path(), 8, 8, 0).unwrap();
    tx.send(1).unwrap();
    match tx.send(2) {
        Err((2, Error::Full)) => {}
        other => panic!("a second item must be refused while the first is queued: {other:?}"),
    }
    assert_eq!(rx.recv().unwrap(), 1);
    tx.send(2).unwrap();
    assert_eq!(rx.recv().unwrap(), 2);
}

/// A receiver keeping pace takes the block being filled from memory, before it is
/// written; the next block is filled from the same offset, and when it reaches the file,
/// what the receiver took must not come again and what was added after must not be missed.
#[test]
fn records_taken_before_their_block_is_written_arrive_once() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = spill_only("tail", data.path());
    let item = kilo_item;
    let mut sent = 0;
    let mut received = 0;
    // The receiver takes a few records at a time, and every fifth round falls a block
    // (`WRITE_BUFFER`, 128 KiB) behind, which is then written and read back from the file.
    for round in 0..40 {
        let burst = if round % 5 == 4 { 150 } else { (round % 7) + 1 };
        for _ in 0..burst {
            tx.send(item(sent)).unwrap();
            sent += 1;
        }
        while received < sent - (round % 3) {
            assert_eq!(
                recv_within(&mut rx, "a spilled item"),
                item(received),
                "item {received}"
            );
            received += 1;
        }
    }
    assert!(
        spilled_bytes(&data.path().join("tail")) > 1000,
        "the test must write blocks"
    );
    while received < sent {
        assert_eq!(recv_within(&mut rx, "a spilled item"), item(received));
        received += 1;
    }
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}

/// Bytes in a channel's segment files.
fn spilled_bytes(dir: &Path) -> u64 {
    segment_files(dir)
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .sum()
}

/// A channel of byte items with no room in memory: every item is spilled.
fn spill_only(name: &str, dir: &Path) -> (Sender<Vec<u8>>, Receiver<Vec<u8>>) {
    Builder::new().memory_bytes(0).build(name, dir).unwrap()
}

/// An item of 1,000 bytes that starts with its number.
fn kilo_item(i: u32) -> Vec<u8> {
    let mut bytes = vec![i as u8; 1000];
    bytes[..4].copy_from_slice(&i.to_le_bytes());
    bytes
}

/// A receiver that keeps pace takes spilled records from memory, and the file gets none
/// of them: a block is written only when it fills up before the receiver takes it.
#[test]
fn a_receiver_keeping_pace_keeps_the_records_it_took_out_of_the_file() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = spill_only("pace", data.path());
    let items = 1000;
    for i in 0..items {
        tx.send(kilo_item(i)).unwrap();
        assert_eq!(recv_within(&mut rx, "a spilled item"), kilo_item(i));
    }
    let written = spilled_bytes(&data.path().join("pace"));
    // About 8 blocks of 128 KiB went through; not one record reached the file.
    assert!(
        written < 1000,
        "{written} bytes written for {items} items of 1,000 bytes taken as they came"
    );
}

/// A block the receiver took whole is not written: the next block is written at the
/// same offset, and the receiver must read it from its start — not skip what it took of
/// the block that never reached the file.
#[test]
fn a_block_written_where_a_dropped_one_would_have_been_is_read_whole() {
    let data = tempfile::tempdir().unwrap();
    let (mut tx, mut rx) = spill_only("dropped", data.path());
    let dir = data.path().join("dropped");
    for i in 0..10 {
        tx.send(kilo_item(i)).unwrap();
        assert_eq!(recv_within(&mut rx, "a spilled item"), kilo_item(i));
    }
    let before = spilled_bytes(&dir);
    tx.flush().unwrap();
    assert_eq!(
        spilled_bytes(&dir),
        before,
        "a block taken whole was written"
    );
    // Two blocks' worth, none taken before they are written.
    for i in 10..300 {
        tx.send(kilo_item(i)).unwrap();
    }
    assert!(
        spilled_bytes(&dir) > before + 128 * 1000,
        "the test must write blocks"
    );
    for i in 10..300 {
        assert_eq!(
            recv_within(&mut rx, "a spilled item"),
            kilo_item(i),
            "item {i}"
        );
    }
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}

/// A segment file of the previous format (per-record checksums, magic `RBHOPR01`) is not
/// damaged: recovering it as damage would throw its items away. Opening refuses it,
/// naming the file, and leaves it alone.
#[test]
fn a_segment_of_the_previous_format_is_refused_when_recovering() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("old");
    drop(recovering().build("old", data.path()).unwrap());
    let old = dir.join(format!("{:020}.spill", 0));
    // Format 1: magic, then `len`, `crc32c(len)`, `crc32c(payload)`, payload.
    let mut bytes = b"RBHOPR01".to_vec();
    bytes.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'x']);
    fs::write(&old, &bytes).unwrap();
    match recovering().build("old", data.path()) {
        Err(Error::IoError(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
            let text = e.to_string();
            assert!(text.contains(&old.display().to_string()), "{text}");
            assert!(text.contains("RBHOPR01"), "{text}");
        }
        Err(other) => panic!("expected an I/O error, got {other:?}"),
        Ok(_) => panic!("a segment of format 1 was opened"),
    }
    assert_eq!(fs::read(&old).unwrap(), bytes, "the file is left as it was");
}
