//! Lock-free structures, each written once per family and registered for every scheme of
//! the family: a [Treiber stack](treiber) and a [Michael–Scott queue](msqueue) over the
//! pointer schemes ([`reclaim_smr::Scheme`]: leak, ebr, hp), and the same two over the
//! counted-reference schemes in [`counted`] ([`reclaim_smr::CountedScheme`]: rc, sweep),
//! and once more over the circ crate's reference counting in [`circ`].
//! The sets, the [Harris–Michael list](hmlist) and [Michael's hash set](hashmap) built
//! of such lists, are written against the same [`reclaim_smr::Scheme`], and once more
//! in [`counted`], and registered as set backends ([`reclaim_core::SetBackend`]), and so
//! is the ordered set that scales, the [skip list](skiplist), whose levels are such lists;
//! [Harris's list](harris) needs a scheme whose pin protects
//! ([`reclaim_smr::PinProtects`]) and is registered over those.
//!
//! Each file holds one structure and its [`Backend`](reclaim_core::Backend) marker; the
//! per-thread [`SchemeHandle`] the pointer family shares lives here.

#[cfg(not(loom))]
pub mod circ;
#[cfg(not(loom))]
pub mod counted;
mod handle;
pub mod harris;
pub mod hashmap;
pub mod hmlist;
mod mark;
pub mod msqueue;
mod node;
#[cfg(all(test, not(loom)))]
mod set_tests;
pub mod skiplist;
pub mod treiber;

pub use handle::{LockFree, SchemeHandle};
pub use harris::{Harris, HarrisList, HarrisListHandle};
pub use hashmap::{HmHashMap, HmHashMapHandle, MichaelHashMap};
pub use hmlist::{HarrisMichael, HmList, HmListHandle};
pub use msqueue::{MichaelScott, MsQueue};
pub use skiplist::{LockFreeSkipList, SkipList, SkipListHandle};
pub use treiber::{Treiber, TreiberStack};
