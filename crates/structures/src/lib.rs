//! Lock-free structures, each written once per family and registered for every scheme of
//! the family: a [Treiber stack](treiber) and a [Michael–Scott queue](msqueue) over the
//! pointer schemes ([`reclaim_smr::Scheme`]: leak, ebr, hp), and the same two over the
//! counted-reference schemes in [`counted`] ([`reclaim_smr::CountedScheme`]: rc, sweep).
//! The first set, the [Harris–Michael list](hmlist), is written against the same
//! [`reclaim_smr::Scheme`], and registered as a set backend
//! ([`reclaim_core::SetBackend`]).
//!
//! Each file holds one structure and its [`Backend`](reclaim_core::Backend) marker; the
//! per-thread [`SchemeHandle`] the pointer family shares lives here.

#[cfg(not(loom))]
pub mod counted;
mod handle;
pub mod hmlist;
pub mod msqueue;
mod node;
pub mod treiber;

pub use handle::{LockFree, SchemeHandle};
pub use hmlist::{HarrisMichael, HmList, HmListHandle};
pub use msqueue::{MichaelScott, MsQueue};
pub use treiber::{Treiber, TreiberStack};
