//! The on-disk format: segment files of checksummed blocks of length-prefixed records.
//!
//! A segment file is named after the index of its first record (`00000000000000000042.spill`,
//! twenty digits so names sort like numbers) and starts with [`SEGMENT_MAGIC`]. Blocks
//! follow back to back; each holds one or more records:
//!
//! ```text
//! block:  +-------------+------------------+---------------------+---------------------+
//!         | len: u32 LE | crc32c(len): u32 | crc32c(records):u32 | records: len bytes  |
//!         +-------------+------------------+---------------------+---------------------+
//! record: +-----------------------------+------------------------+
//!         | n: LEB128 varint, ≤ 5 bytes | payload: n bytes       |
//!         +-----------------------------+------------------------+
//! ```
//!
//! A block is what the writer puts in the file with one write: the contents of its write
//! buffer ([`WRITE_BUFFER`](crate::WRITE_BUFFER), about 128 KiB), or a single record when
//! every send is written through ([`Durability::Recover`](crate::Durability::Recover)).
//! The payload is the item encoded with postcard.
//!
//! One checksum per block, not two per record: the checksum library costs about 12 ns a
//! call whatever the length below a few dozen bytes, so for small items the per-record
//! checksums of format 1 cost more than everything else the disk path did per item. The
//! price is the damage radius: a bad block loses all its records (the reader gives up
//! the rest of the file anyway, as before, so this only widens the loss to the records
//! of the damaged block that come before the damaged byte).
//!
//! The length has a checksum of its own, so a damaged length is recognised as damage at
//! once — not mistaken for a block cut short by a crash, which is the one thing recovery
//! may silently drop (a crash can only cut the last write, and a cut block has a valid
//! length whose bytes are missing). Records inside a block need no checksum of their
//! own: the block's covers them, so a record length that does not fit its block can only
//! come from a writer that is not this one, and is reported as damage.
//!
//! Naming a segment after its first record index lets the reader check that no record
//! went missing between two files, and count exactly how many were lost when a file is
//! damaged.
//!
//! Format 1 (`RBHOPR01`) had a length and two checksums in front of every record; its
//! files are refused by name, not misread ([`OLD_MAGICS`]).

use serde::Serialize;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The first bytes of every segment file: format name and version.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"RBHOPR02";

/// Magics of earlier formats, so that their files are refused with a clear reason
/// instead of as damage.
const OLD_MAGICS: [[u8; 8]; 1] = [*b"RBHOPR01"];

/// Bytes in front of every block's records: its length and two checksums.
pub(crate) const BLOCK_HEADER: usize = 12;

/// The longest record length prefix: a LEB128 varint of a `u32` takes at most 5 bytes.
const MAX_VARINT: usize = 5;

/// Most bytes of records one block holds: its length field is a `u32`.
const MAX_BLOCK_RECORDS: usize = u32::MAX as usize;

/// File name suffix of segment files.
const SEGMENT_SUFFIX: &str = ".spill";

/// The path of the segment whose first record has index `first`.
pub(crate) fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}{SEGMENT_SUFFIX}"))
}

/// The first record index of a segment file name, or `None` for any other file.
pub(crate) fn segment_first(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Why a file that starts with `magic` is not a segment of this format, if it is one of
/// an earlier format.
pub(crate) fn old_format(magic: &[u8]) -> Option<String> {
    OLD_MAGICS.iter().find(|old| old[..] == *magic).map(|old| {
        format!(
            "written by an earlier reclaim-hopper in segment format {} (this version reads {} \
             only): drain it with the version that wrote it, or move it away",
            String::from_utf8_lossy(old),
            String::from_utf8_lossy(&SEGMENT_MAGIC)
        )
    })
}

/// The length of `item`'s payload, measured without encoding it.
pub(crate) fn payload_len<T: Serialize + ?Sized>(item: &T) -> Result<usize, String> {
    postcard::serialize_with_flavor::<T, _, _>(item, postcard::ser_flavors::Size::default())
        .map_err(|e| format!("could not encode the item: {e}"))
}

/// The number of bytes `item` encodes to, without encoding it.
pub(crate) fn encoded_len<T: Serialize + ?Sized>(item: &T) -> usize {
    // A type whose `Serialize` fails cannot be spilled either; charge it nothing extra here
    // and let the spill path report the error.
    payload_len(item).unwrap_or(0)
}

/// Bytes a record with a payload of `payload` bytes takes, length prefix included
/// (saturating: a record that large is refused anyway).
#[inline]
pub(crate) fn record_len(payload: usize) -> usize {
    payload.saturating_add(varint_len(payload))
}

/// Appends `item` as one record to the records of a block being filled: `block` holds the
/// block's header space and its records so far. `payload` is [`payload_len`]`(item)`, and
/// `block` must have room for [`record_len`]`(payload)` more bytes if it is not to grow
/// (the caller reserves exactly, to keep the memory bound). On error `block` is unchanged.
pub(crate) fn append<T: Serialize + ?Sized>(
    item: &T,
    payload: usize,
    block: &mut Vec<u8>,
) -> Result<(), String> {
    let start = block.len();
    let records = start.saturating_sub(BLOCK_HEADER);
    if record_len(payload) > MAX_BLOCK_RECORDS - records.min(MAX_BLOCK_RECORDS) {
        return Err(format!(
            "an item encodes to {payload} bytes; a block holds at most 4 GiB of records"
        ));
    }
    push_varint(block, payload);
    let payload_start = block.len();
    let encoded = postcard::serialize_with_flavor::<T, _, _>(item, Append(block));
    let wrote = block.len() - payload_start;
    match encoded {
        Ok(()) if wrote == payload => Ok(()),
        Ok(()) => {
            block.truncate(start);
            Err(format!(
                "the item encoded to {wrote} bytes after measuring {payload}: its Serialize \
                 is not deterministic"
            ))
        }
        Err(e) => {
            block.truncate(start);
            Err(format!("could not encode the item: {e}"))
        }
    }
}

/// Fills in the header of a block: `block` is [`BLOCK_HEADER`] bytes of space followed by
/// its records, as [`append`] builds it.
pub(crate) fn seal(block: &mut [u8]) {
    let (header, records) = block.split_at_mut(BLOCK_HEADER);
    let len = u32::try_from(records.len())
        .expect("append keeps a block's records within a u32")
        .to_le_bytes();
    header[..4].copy_from_slice(&len);
    header[4..8].copy_from_slice(&crc32c::crc32c(&len).to_le_bytes());
    header[8..].copy_from_slice(&crc32c::crc32c(records).to_le_bytes());
}

/// What the front of a byte buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// A whole block whose checksums match: its records are `bytes[records]`, and the
    /// block takes `size` bytes, header included.
    Whole { records: Range<usize>, size: usize },
    /// The buffer ends inside a block that needs `size` bytes in all.
    Incomplete { size: usize },
    /// The bytes cannot be a block.
    Corrupt(String),
}

/// Parses the block at the front of `bytes`, checking both checksums.
pub(crate) fn parse_block(bytes: &[u8]) -> Block {
    if bytes.len() < BLOCK_HEADER {
        return Block::Incomplete { size: BLOCK_HEADER };
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let (len, len_crc, stored) = (word(0), word(4), word(8));
    let computed_len_crc = crc32c::crc32c(&bytes[..4]);
    if computed_len_crc != len_crc {
        return Block::Corrupt(format!(
            "damaged block length: {len} bytes with checksum {len_crc:#010x}, computed \
             {computed_len_crc:#010x}"
        ));
    }
    // On 32-bit targets a length close to 4 GiB plus the header is more than a `usize`.
    let Some(size) = usize::try_from(len)
        .ok()
        .and_then(|len| len.checked_add(BLOCK_HEADER))
    else {
        return Block::Corrupt(format!(
            "a block of {len} bytes, more than this platform can address"
        ));
    };
    if bytes.len() < size {
        return Block::Incomplete { size };
    }
    let records = BLOCK_HEADER..size;
    let computed = crc32c::crc32c(&bytes[records.clone()]);
    if computed != stored {
        return Block::Corrupt(format!(
            "checksum mismatch in a block of {len} bytes: stored {stored:#010x}, computed \
             {computed:#010x}"
        ));
    }
    Block::Whole { records, size }
}

/// Splits the record at the front of `records` (bytes of a checked block): the range of
/// its payload within `records`, and the record's size.
#[inline]
pub(crate) fn parse_record(records: &[u8]) -> Result<(Range<usize>, usize), String> {
    // Most records are short: a one-byte prefix needs no loop.
    if let Some(&len) = records.first()
        && len < 0x80
        && usize::from(len) < records.len()
    {
        let size = 1 + usize::from(len);
        return Ok((1..size, size));
    }
    let (payload, prefix) = read_varint(records).ok_or_else(|| {
        "a record's length prefix is malformed or runs past its block".to_string()
    })?;
    let size = usize::try_from(payload)
        .ok()
        .and_then(|n| n.checked_add(prefix))
        .filter(|&size| size <= records.len())
        .ok_or_else(|| {
            format!(
                "a record of {payload} bytes runs past its block, which has {} bytes left",
                records.len() - prefix
            )
        })?;
    Ok((prefix..size, size))
}

/// How many whole records `records` (bytes of a checked block, or of one being filled)
/// holds.
pub(crate) fn count_records(mut records: &[u8]) -> u64 {
    let mut count = 0;
    while let Ok((_, size)) = parse_record(records) {
        records = &records[size..];
        count += 1;
    }
    count
}

/// Bytes of the LEB128 varint of `n`: one per started group of 7 significant bits, and
/// one for 0.
#[inline]
fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    (bits as usize).div_ceil(7)
}

#[inline]
fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The LEB128 `u32` at the front of `bytes` and its length; `None` if it is longer than
/// [`MAX_VARINT`] bytes, does not fit a `u32`, or is cut off.
fn read_varint(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().take(MAX_VARINT).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((u32::try_from(value).ok()?, i + 1));
        }
    }
    None
}

/// Slices up to this length are appended byte by byte (see [`Append`]): a varint `u128`,
/// the longest integer encoding, takes 19 bytes.
const SHORT_EXTEND: usize = 19;

/// A postcard output that appends to a `Vec` with `extend_from_slice` (postcard's own
/// `Extend` flavor pushes byte by byte).
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        // postcard hands over integers as slices of at most 10 bytes: a byte loop beats
        // a call to `memcpy` for those.
        if data.len() <= SHORT_EXTEND {
            self.0.extend(data.iter().copied());
        } else {
            self.0.extend_from_slice(data);
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sealed block of `items`.
    pub(crate) fn block(items: &[&str]) -> Vec<u8> {
        let mut out = vec![0; BLOCK_HEADER];
        for item in items {
            append(item, payload_len(item).unwrap(), &mut out).unwrap();
        }
        seal(&mut out);
        out
    }

    fn items(bytes: &[u8]) -> Vec<String> {
        let Block::Whole { records, size } = parse_block(bytes) else {
            panic!("not a whole block: {:?}", parse_block(bytes));
        };
        assert_eq!(size, bytes.len());
        let mut rest = &bytes[records];
        let mut out = Vec::new();
        while !rest.is_empty() {
            let (payload, size) = parse_record(rest).unwrap();
            out.push(postcard::from_bytes(&rest[payload]).unwrap());
            rest = &rest[size..];
        }
        out
    }

    #[test]
    fn a_block_round_trips_its_records() {
        let bytes = block(&["hello", "", "world"]);
        // Each record: a 1-byte prefix, then postcard's 1-byte string length and the text.
        assert_eq!(bytes.len(), BLOCK_HEADER + (1 + 6) + (1 + 1) + (1 + 6));
        assert_eq!(items(&bytes), ["hello", "", "world"]);
        assert_eq!(count_records(&bytes[BLOCK_HEADER..]), 3);
        assert_eq!(encoded_len("hello"), 6);
    }

    #[test]
    fn record_lengths_past_one_byte_round_trip() {
        for len in [127, 128, 300, 16_384, 70_000] {
            let item = vec![7_u8; len];
            let payload = payload_len(&item).unwrap();
            let mut out = vec![0; BLOCK_HEADER];
            append(&item, payload, &mut out).unwrap();
            assert_eq!(out.len(), BLOCK_HEADER + record_len(payload), "{len}");
            let (range, size) = parse_record(&out[BLOCK_HEADER..]).unwrap();
            assert_eq!(size, record_len(payload));
            assert_eq!(
                postcard::from_bytes::<Vec<u8>>(&out[BLOCK_HEADER..][range]).unwrap(),
                item
            );
        }
    }

    #[test]
    fn every_prefix_is_incomplete_and_every_flipped_bit_is_caught() {
        let bytes = block(&["checksummed", "twice"]);
        for cut in 0..bytes.len() {
            assert!(
                matches!(parse_block(&bytes[..cut]), Block::Incomplete { .. }),
                "a {cut}-byte prefix must be incomplete"
            );
        }
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[byte] ^= 1 << bit;
                // Damage is reported as damage: never parsed, and never mistaken for
                // a block cut short (which recovery would drop without a word).
                assert!(
                    matches!(parse_block(&damaged), Block::Corrupt(_)),
                    "flipping bit {bit} of byte {byte} was not reported as damage"
                );
            }
        }
    }

    /// A header whose length checks out but claims close to 4 GiB: `BLOCK_HEADER + len`
    /// must not wrap around on 32-bit targets. Such a block is incomplete where its size
    /// fits in a `usize` and corrupt where it does not.
    #[test]
    fn a_huge_length_is_incomplete_or_corrupt_never_a_panic() {
        let header = BLOCK_HEADER as u32;
        for len in [u32::MAX, u32::MAX - 3, u32::MAX - header + 1, 1 << 31] {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&crc32c::crc32c(&len.to_le_bytes()).to_le_bytes());
            bytes.extend_from_slice(&[0; 4 + 20]);
            let size = BLOCK_HEADER as u64 + u64::from(len);
            match parse_block(&bytes) {
                Block::Incomplete { size: needed } => assert_eq!(needed as u64, size),
                Block::Corrupt(reason) => {
                    assert!(usize::try_from(size).is_err(), "{len}: {reason}");
                    assert!(reason.contains(&len.to_string()), "{reason}");
                }
                other => panic!("a length of {len}: {other:?}"),
            }
        }
    }

    /// Inside a checked block only a foreign writer can put a bad length prefix; it is
    /// damage, never a slice past the block.
    #[test]
    fn a_record_running_past_its_block_is_an_error() {
        assert!(
            parse_record(&[3, 1, 2]).is_err(),
            "3 bytes claimed, 2 there"
        );
        assert!(parse_record(&[0x80, 0x80]).is_err(), "cut-off prefix");
        assert!(parse_record(&[0xff; 6]).is_err(), "over-long prefix");
        assert!(
            parse_record(&[0xff, 0xff, 0xff, 0xff, 0x7f]).is_err(),
            "past u32"
        );
        assert_eq!(parse_record(&[2, 1, 2, 9]), Ok((1..3, 3)));
        assert_eq!(count_records(&[1, 5, 3, 0]), 1, "a torn second record");
    }

    #[test]
    fn varints_have_the_length_they_are_written_with() {
        for n in [0, 1, 127, 128, 16_383, 16_384, u32::MAX as usize] {
            let mut out = Vec::new();
            push_varint(&mut out, n);
            assert_eq!(out.len(), varint_len(n), "{n}");
            assert_eq!(read_varint(&out), Some((n as u32, out.len())), "{n}");
        }
    }

    #[test]
    fn old_formats_are_named() {
        assert!(old_format(b"RBHOPR01").unwrap().contains("RBHOPR01"));
        assert_eq!(old_format(&SEGMENT_MAGIC), None);
        assert_eq!(old_format(b"garbage!"), None);
    }

    #[test]
    fn segment_names_sort_like_their_indexes() {
        let dir = Path::new("/q");
        let name = |i| {
            segment_path(dir, i)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert!(name(9) < name(10));
        assert_eq!(segment_first(&name(u64::MAX)), Some(u64::MAX));
        assert_eq!(segment_first("lock"), None);
        assert_eq!(segment_first("12.spill"), None);
        assert_eq!(segment_first("0000000000000000000x.spill"), None);
    }
}
