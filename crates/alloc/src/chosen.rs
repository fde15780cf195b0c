//! The allocator underneath, chosen when the process starts: the system allocator,
//! mimalloc or jemalloc.
//!
//! # Why
//!
//! `malloc` and `free` are a large part of every operation of a lock-free structure
//! (each push allocates a node, each pop retires one), so the same scheme and structure
//! can rank differently on another allocator. To measure that, one binary must be able
//! to run a row on each.
//!
//! # How
//!
//! A global allocator cannot change once anything was allocated: a block must go back to
//! the allocator it came from. [`Chosen`] therefore picks one allocator, once, on the
//! process's first allocation, from the environment variable [`ALLOCATOR_ENV`]
//! (`RECLAIM_ALLOCATOR=jemalloc`; unset or empty: the system allocator), and forwards
//! every later call to it. The environment is read with `getenv`, which does not
//! allocate, and the choice is stored in one atomic: the first call to resolve it wins,
//! and every caller, racing or later, uses the stored choice, so an allocation and its
//! free always reach the same allocator. What it costs every call: a load of the choice
//! (through the GOT in a position-independent binary) and two or three compares — about
//! ten instructions with the register saves around them, the same for each allocator, so
//! rows under different allocators pay alike. Against the build that called `malloc`
//! directly it added 3.5 instructions a pair operation on `treiber-leak` (153 → 157) and
//! 8.6 on `treiber-ebr` (305 → 314), 1–4% of the fastest rows (`scripts/instructions.sh`);
//! built without the two other allocators, the match folds away and 1–3 remain.
//!
//! A process that wants another allocator for a row starts a fresh process of its own
//! binary with the variable set (`reclaim-bench run --allocator`); an unknown name, or
//! one this binary was built without, leaves the system allocator in place, and
//! [`Allocator::requested`] tells the binary so that it can refuse to run instead of
//! measuring the wrong allocator.
//!
//! mimalloc and jemalloc are linked with their own symbol names (jemalloc's prefixed,
//! mimalloc's `mi_`), so neither replaces `malloc` for C code or for the other: only
//! what Rust allocates through the global allocator goes to the chosen one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CStr;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable [`Chosen`] reads: `system`, `mimalloc` or `jemalloc`.
pub const ALLOCATOR_ENV: &str = "RECLAIM_ALLOCATOR";

/// [`ALLOCATOR_ENV`] for `getenv`.
const ALLOCATOR_ENV_C: &CStr = c"RECLAIM_ALLOCATOR";

/// An allocator a process can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Allocator {
    /// The C library's `malloc` (glibc's ptmalloc on Linux).
    System,
    /// Microsoft's mimalloc (the `mimalloc` crate).
    Mimalloc,
    /// jemalloc (the `tikv-jemallocator` crate).
    Jemalloc,
}

impl Allocator {
    /// Every allocator, in the order listings show them.
    pub const ALL: [Allocator; 3] = [Allocator::System, Allocator::Mimalloc, Allocator::Jemalloc];

    /// The name users select it by, and rows carry.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::System => "system",
            Allocator::Mimalloc => "mimalloc",
            Allocator::Jemalloc => "jemalloc",
        }
    }

    /// Whether this binary can run on it, or why not (it was built without it).
    pub fn available(self) -> Result<(), &'static str> {
        match self {
            Allocator::System => Ok(()),
            Allocator::Mimalloc if cfg!(feature = "mimalloc") => Ok(()),
            Allocator::Mimalloc => Err("this binary was built without the `mimalloc` feature"),
            Allocator::Jemalloc if cfg!(feature = "jemalloc") => Ok(()),
            Allocator::Jemalloc => Err("this binary was built without the `jemalloc` feature"),
        }
    }

    /// What [`ALLOCATOR_ENV`] asks for: `Ok(None)` when it is unset or empty, an error
    /// naming the valid choices when it names none of them. Reads the environment the
    /// usual way (it allocates): for a binary's `main` to check that [`chosen`] is what
    /// was asked for.
    pub fn requested() -> Result<Option<Allocator>, UnknownAllocator> {
        match std::env::var(ALLOCATOR_ENV) {
            Ok(name) if name.is_empty() => Ok(None),
            Ok(name) => name.parse().map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(name)) => {
                Err(UnknownAllocator(name.to_string_lossy().into_owned()))
            }
        }
    }

    fn code(self) -> u8 {
        match self {
            Allocator::System => 1,
            Allocator::Mimalloc => 2,
            Allocator::Jemalloc => 3,
        }
    }

    fn from_code(code: u8) -> Allocator {
        match code {
            2 => Allocator::Mimalloc,
            3 => Allocator::Jemalloc,
            _ => Allocator::System,
        }
    }
}

impl fmt::Display for Allocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no allocator's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown allocator `{0}` (the allocators: system, mimalloc, jemalloc)")]
pub struct UnknownAllocator(pub String);

impl FromStr for Allocator {
    type Err = UnknownAllocator;

    fn from_str(name: &str) -> Result<Allocator, UnknownAllocator> {
        Allocator::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| UnknownAllocator(name.to_owned()))
    }
}

/// The process's choice: 0 until the first allocation resolves it, then
/// [`Allocator::code`] of the allocator every call goes to.
static CHOICE: AtomicU8 = AtomicU8::new(0);

/// The allocator this process's allocations go to, when its global allocator is
/// [`Chosen`] (directly or under [`CountingAlloc`](crate::CountingAlloc)); in any other
/// process, what it would choose.
pub fn chosen() -> Allocator {
    choice()
}

#[inline]
fn choice() -> Allocator {
    match CHOICE.load(Ordering::Relaxed) {
        0 => resolve(),
        code => Allocator::from_code(code),
    }
}

/// Reads the environment and stores the choice, unless another thread stored one first.
#[cold]
#[inline(never)]
fn resolve() -> Allocator {
    let wanted = from_environment().unwrap_or(Allocator::System);
    match CHOICE.compare_exchange(0, wanted.code(), Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => wanted,
        Err(stored) => Allocator::from_code(stored),
    }
}

/// [`ALLOCATOR_ENV`] as an allocator this binary has, read without allocating.
fn from_environment() -> Option<Allocator> {
    // SAFETY: the name is a NUL-terminated C string. `getenv` returns null or a pointer
    // into the environment, valid until the environment is modified; we read it at once,
    // and Rust code modifies the environment only through `set_var`, which is `unsafe`
    // and whose callers must ensure no other thread reads it meanwhile.
    let value = unsafe { libc::getenv(ALLOCATOR_ENV_C.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: a non-null `getenv` result is a NUL-terminated string, still valid (above).
    let value = unsafe { CStr::from_ptr(value) }.to_bytes();
    Allocator::ALL
        .into_iter()
        .find(|a| a.name().as_bytes() == value && a.available().is_ok())
}

/// The global allocator chosen at start-up: see the module docs. Wrap it in
/// [`CountingAlloc`](crate::CountingAlloc) to count.
#[derive(Debug, Default, Clone, Copy)]
pub struct Chosen {
    _private: (),
}

impl Chosen {
    /// The allocator, for a `#[global_allocator]` static (or to wrap).
    pub const fn new() -> Chosen {
        Chosen { _private: () }
    }
}

/// Calls `$method` of the chosen allocator with the given arguments. An allocator this
/// binary lacks is never chosen (`from_environment` only picks available ones), so its
/// arm forwards to the system allocator only to keep the match whole.
macro_rules! forward {
    ($method:ident($($arg:expr),*)) => {
        match choice() {
            #[cfg(feature = "mimalloc")]
            Allocator::Mimalloc => mimalloc::MiMalloc.$method($($arg),*),
            #[cfg(feature = "jemalloc")]
            Allocator::Jemalloc => tikv_jemallocator::Jemalloc.$method($($arg),*),
            _ => System.$method($($arg),*),
        }
    };
}

// SAFETY: every method forwards to one allocator with the caller's arguments unchanged
// and returns its result unchanged, and it is the same allocator for every call of the
// process (`CHOICE` is written once, from 0, and never changes after), so a block is
// always freed or resized by the allocator that returned it, and that allocator's
// guarantees are ours. Resolving the choice never allocates (`getenv`, an atomic).
unsafe impl GlobalAlloc for Chosen {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { forward!(alloc(layout)) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { forward!(alloc_zeroed(layout)) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`, so
        // from the chosen one, which has not changed since.
        unsafe { forward!(dealloc(ptr, layout)) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller guarantees `new_size` is valid for
        // `layout.align()`.
        unsafe { forward!(realloc(ptr, layout, new_size)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_ones_list_the_choices() {
        for allocator in Allocator::ALL {
            assert_eq!(allocator.name().parse::<Allocator>(), Ok(allocator));
        }
        let error = "tcmalloc".parse::<Allocator>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown allocator `tcmalloc` (the allocators: system, mimalloc, jemalloc)"
        );
    }

    #[test]
    fn the_variable_is_read_under_its_documented_name() {
        assert_eq!(ALLOCATOR_ENV_C.to_str(), Ok(ALLOCATOR_ENV));
    }

    #[test]
    fn codes_round_trip_and_zero_is_never_one() {
        for allocator in Allocator::ALL {
            assert_ne!(allocator.code(), 0);
            assert_eq!(Allocator::from_code(allocator.code()), allocator);
        }
    }
}
