//! The mark a removed node's link carries: the low bit of the pointer, set once the node's
//! key is removed (at that level, for a skip list's tower), which freezes the link — every
//! compare-and-swap on a link expects it unmarked. The sets built of linked nodes share it.
//!
//! A node type marked this way is aligned to at least two bytes, so that the bit is free
//! in every pointer to it; each such type asserts so where it is defined.

/// The mark bit.
pub(crate) const MARK: usize = 1;

/// Whether `ptr` carries the mark.
pub(crate) fn is_marked<T>(ptr: *mut T) -> bool {
    ptr.addr() & MARK != 0
}

/// `ptr` with the mark set.
pub(crate) fn marked<T>(ptr: *mut T) -> *mut T {
    ptr.map_addr(|a| a | MARK)
}

/// `ptr` without the mark: the node it points to.
pub(crate) fn unmarked<T>(ptr: *mut T) -> *mut T {
    ptr.map_addr(|a| a & !MARK)
}
