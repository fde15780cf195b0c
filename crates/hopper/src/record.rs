//! The on-disk format: segment files of checksummed, length-prefixed records.
//!
//! A segment file is named after the index of its first record (`00000000000000000042.spill`,
//! twenty digits so names sort like numbers) and starts with [`SEGMENT_MAGIC`]. Records
//! follow back to back:
//!
//! ```text
//! +-------------+-------------------+--------------------+---------------------+
//! | len: u32 LE | crc32c(len): u32  | crc32c(payload):u32| payload: len bytes  |
//! +-------------+-------------------+--------------------+---------------------+
//! ```
//!
//! The payload is the item encoded with postcard. The length has a checksum of its own,
//! so a damaged length is recognised as damage at once — not mistaken for a record cut
//! short by a crash, which is the one thing recovery may silently drop (a crash can only
//! cut the last write, and a cut record has a valid length whose bytes are missing). Naming a segment after its first record index lets the reader check that no
//! record went missing between two files, and count exactly how many were lost when a
//! file is damaged.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// The first bytes of every segment file: format name and version.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"RBHOPR01";

/// Bytes in front of every record's payload: its length and two checksums.
pub(crate) const RECORD_HEADER: usize = 12;

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

/// Encodes `item` as one complete record (header and payload) into `out`, replacing what
/// `out` held.
pub(crate) fn encode<T: Serialize + ?Sized>(item: &T, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    out.extend_from_slice(&[0; RECORD_HEADER]);
    postcard::serialize_with_flavor::<T, _, _>(item, Append(out))
        .map_err(|e| format!("could not encode the item: {e}"))?;
    let payload = out.len() - RECORD_HEADER;
    let len = u32::try_from(payload)
        .map_err(|_| format!("an item encodes to {payload} bytes; records hold at most 4 GiB"))?;
    out[..4].copy_from_slice(&len.to_le_bytes());
    let len_crc = crc32c::crc32c(&len.to_le_bytes());
    out[4..8].copy_from_slice(&len_crc.to_le_bytes());
    let crc = crc32c::crc32c(&out[RECORD_HEADER..]);
    out[8..RECORD_HEADER].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The number of bytes `item` encodes to, without encoding it.
pub(crate) fn encoded_len<T: Serialize + ?Sized>(item: &T) -> usize {
    // A type whose `Serialize` fails cannot be spilled either; charge it nothing extra here
    // and let the spill path report the error.
    postcard::serialize_with_flavor::<T, _, _>(item, postcard::ser_flavors::Size::default())
        .unwrap_or(0)
}

/// What the front of a byte buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    /// A whole record whose checksum matches; `size` counts header and payload.
    Record { payload: &'a [u8], size: usize },
    /// The buffer ends inside a record that needs `size` bytes in all.
    Incomplete { size: usize },
    /// The bytes cannot be a record.
    Corrupt(String),
}

/// Parses the record at the front of `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Parsed<'_> {
    if bytes.len() < RECORD_HEADER {
        return Parsed::Incomplete {
            size: RECORD_HEADER,
        };
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let (len, len_crc, stored) = (word(0), word(4), word(8));
    let computed_len_crc = crc32c::crc32c(&bytes[..4]);
    if computed_len_crc != len_crc {
        return Parsed::Corrupt(format!(
            "damaged length field: {len} bytes with checksum {len_crc:#010x}, computed {computed_len_crc:#010x}"
        ));
    }
    let Some(size) = record_size(len) else {
        return Parsed::Corrupt(format!(
            "a record of {len} bytes, more than this platform can address"
        ));
    };
    if bytes.len() < size {
        return Parsed::Incomplete { size };
    }
    let payload = &bytes[RECORD_HEADER..size];
    let computed = crc32c::crc32c(payload);
    if computed != stored {
        return Parsed::Corrupt(format!(
            "checksum mismatch in a record of {len} bytes: stored {stored:#010x}, computed {computed:#010x}"
        ));
    }
    Parsed::Record { payload, size }
}

/// Bytes a record with a payload of `len` bytes takes, header included; `None` if that
/// is more than a `usize` counts (on 32-bit targets, lengths close to 4 GiB).
fn record_size(len: u32) -> Option<usize> {
    usize::try_from(len).ok()?.checked_add(RECORD_HEADER)
}

/// Where each whole record at the front of `bytes` ends, in order.
///
/// `bytes` must hold records only (the writer's buffer): the walk trusts the length fields.
pub(crate) fn record_ends(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    std::iter::successors(Some(0), |&at: &usize| {
        let header = bytes.get(at..at.checked_add(RECORD_HEADER)?)?;
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        let end = at.checked_add(record_size(len)?)?;
        (end <= bytes.len()).then_some(end)
    })
    .skip(1)
}

/// The length of the longest prefix of `bytes[..limit]` made of whole records; see
/// [`record_ends`].
pub(crate) fn whole_records_len(bytes: &[u8], limit: usize) -> usize {
    record_ends(&bytes[..limit]).last().unwrap_or(0)
}

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
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(item: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode(item, &mut out).unwrap();
        out
    }

    #[test]
    fn a_record_round_trips_and_reports_its_size() {
        let bytes = record("hello");
        assert_eq!(bytes.len(), RECORD_HEADER + 6, "varint length + 5 bytes");
        match parse(&bytes) {
            Parsed::Record { payload, size } => {
                assert_eq!(size, bytes.len());
                assert_eq!(postcard::from_bytes::<String>(payload).unwrap(), "hello");
            }
            other => panic!("expected a record, got {other:?}"),
        }
        assert_eq!(encoded_len("hello"), 6);
    }

    #[test]
    fn every_prefix_is_incomplete_and_every_flipped_bit_is_caught() {
        let bytes = record("checksummed");
        for cut in 0..bytes.len() {
            assert!(
                matches!(parse(&bytes[..cut]), Parsed::Incomplete { .. }),
                "a {cut}-byte prefix must be incomplete"
            );
        }
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[byte] ^= 1 << bit;
                // Damage is reported as damage: never parsed, and never mistaken for
                // a record cut short (which recovery would drop without a word).
                assert!(
                    matches!(parse(&damaged), Parsed::Corrupt(_)),
                    "flipping bit {bit} of byte {byte} was not reported as damage"
                );
            }
        }
    }

    /// A header whose length checks out but claims close to 4 GiB: `RECORD_HEADER + len`
    /// wrapped around on 32-bit targets, and the payload slice panicked. Such a record is
    /// incomplete where its size fits in a `usize` and corrupt where it does not.
    #[test]
    fn a_huge_length_is_incomplete_or_corrupt_never_a_panic() {
        let header = RECORD_HEADER as u32;
        for len in [u32::MAX, u32::MAX - 3, u32::MAX - header + 1, 1 << 31] {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&crc32c::crc32c(&len.to_le_bytes()).to_le_bytes());
            bytes.extend_from_slice(&[0; 4 + 20]);
            let size = RECORD_HEADER as u64 + u64::from(len);
            match parse(&bytes) {
                Parsed::Incomplete { size: needed } => assert_eq!(needed as u64, size),
                Parsed::Corrupt(reason) => {
                    assert!(usize::try_from(size).is_err(), "{len}: {reason}");
                    assert!(reason.contains(&len.to_string()), "{reason}");
                }
                other => panic!("a length of {len}: {other:?}"),
            }
            assert_eq!(whole_records_len(&bytes, bytes.len()), 0, "{len}");
        }
    }

    #[test]
    fn whole_records_stop_before_a_torn_one() {
        let mut bytes = record("one");
        let first = bytes.len();
        bytes.extend(record("two"));
        assert_eq!(whole_records_len(&bytes, bytes.len()), bytes.len());
        assert_eq!(whole_records_len(&bytes, bytes.len() - 1), first);
        assert_eq!(whole_records_len(&bytes, first + 3), first);
        assert_eq!(whole_records_len(&bytes, 2), 0);
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
