//! The channel's directory: its name, its permissions, its lock, its segment files.

use crate::error::Error;
use crate::record;
use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Owner-only: spilled items are the application's data.
const DIR_MODE: u32 = 0o700;
pub(crate) const FILE_MODE: u32 = 0o600;

/// Name of the lock file inside a channel directory. Never deleted: unlinking a lock file
/// another process is about to lock would let two channels share the directory.
const LOCK_FILE: &str = "lock";

/// How long `open` keeps trying a held lock before it calls the directory busy. The lock
/// (flock) belongs to the open file, and a process that any thread of this one forks
/// shares that file, and with it the lock, until its exec closes it: without retrying, a
/// channel dropped and reopened while another thread spawns a process could be refused.
const LOCK_PATIENCE: Duration = Duration::from_millis(250);
const LOCK_RETRY: Duration = Duration::from_millis(2);

/// A channel directory, held exclusively for as long as this value lives.
#[derive(Debug)]
pub(crate) struct ChannelDir {
    path: PathBuf,
    /// Holds the advisory lock; closing it releases the lock.
    _lock: File,
}

impl ChannelDir {
    /// Creates (or reuses) `data_dir/name`, owner-only, and takes its lock.
    pub(crate) fn open(data_dir: &Path, name: &str) -> Result<Self, Error> {
        validate_name(name).map_err(Error::IoError)?;
        if !data_dir.is_dir() {
            return Err(Error::NoSuchDirectory);
        }
        let path = data_dir.join(name);
        match DirBuilder::new().mode(DIR_MODE).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let meta = fs::symlink_metadata(&path).map_err(Error::IoError)?;
                if !meta.is_dir() {
                    return Err(Error::IoError(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "{} exists and is not a directory; a channel needs a directory of its own",
                            path.display()
                        ),
                    )));
                }
                // A directory left by an earlier run may have looser permissions.
                fs::set_permissions(&path, fs::Permissions::from_mode(DIR_MODE))
                    .map_err(Error::IoError)?;
            }
            Err(e) => return Err(Error::IoError(e)),
        }
        let lock_path = path.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .open(&lock_path)
            .map_err(Error::IoError)?;
        let deadline = Instant::now() + LOCK_PATIENCE;
        let held = loop {
            match lock.try_lock() {
                Ok(()) => break false,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(LOCK_RETRY);
                }
                Err(TryLockError::WouldBlock) => break true,
                Err(TryLockError::Error(e)) => return Err(Error::IoError(e)),
            }
        };
        if held {
            return Err(Error::IoError(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!(
                    "channel directory {} is in use by another channel (its lock file {} is held); \
                     give each channel its own name",
                    path.display(),
                    lock_path.display()
                ),
            )));
        }
        Ok(ChannelDir { path, _lock: lock })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The segment files present, oldest first, as (first record index, path).
    pub(crate) fn segments(&self) -> io::Result<Vec<(u64, PathBuf)>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.path)? {
            let entry = entry?;
            // Files that are not segments (the lock, anything a user put here) are left
            // alone rather than misread.
            if let Some(first) = entry.file_name().to_str().and_then(record::segment_first) {
                found.push((first, entry.path()));
            }
        }
        found.sort_unstable_by_key(|(first, _)| *first);
        Ok(found)
    }

    /// Deletes every segment file: a fresh channel starts empty, as hopper's did.
    pub(crate) fn clear(&self) -> io::Result<()> {
        for (_, path) in self.segments()? {
            fs::remove_file(path)?;
        }
        Ok(())
    }
}

/// A channel name names one directory inside the data directory, and nothing else.
fn validate_name(name: &str) -> io::Result<()> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("`.` and `..` name existing directories")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(why) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid channel name {name:?}: {why}; use a plain file name such as \"events\""
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_escape_the_data_directory_are_refused() {
        for bad in ["", ".", "..", "a/b", "../x", "a\\b", "/abs", "nul\0"] {
            let err = validate_name(bad).expect_err(bad);
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            assert!(err.to_string().contains("invalid channel name"), "{err}");
        }
        for good in ["events", "a.b", "..hidden", "tst", "x..y"] {
            validate_name(good).expect(good);
        }
    }

    #[test]
    fn the_directory_is_owner_only_and_locked() {
        let data = tempfile::tempdir().unwrap();
        let dir = ChannelDir::open(data.path(), "ch").unwrap();
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, DIR_MODE);
        let err = ChannelDir::open(data.path(), "ch").unwrap_err();
        match err {
            Error::IoError(e) => {
                assert_eq!(e.kind(), io::ErrorKind::ResourceBusy);
                assert!(e.to_string().contains("in use by another channel"), "{e}");
            }
            other => panic!("expected a busy error, got {other:?}"),
        }
        drop(dir);
        ChannelDir::open(data.path(), "ch").expect("the lock is released on drop");
    }

    #[test]
    fn a_missing_data_directory_is_no_such_directory() {
        let data = tempfile::tempdir().unwrap();
        let missing = data.path().join("absent");
        assert!(matches!(
            ChannelDir::open(&missing, "ch"),
            Err(Error::NoSuchDirectory)
        ));
    }
}
