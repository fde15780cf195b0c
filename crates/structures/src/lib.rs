//! Lock-free structures written once against [`reclaim_smr::Scheme`] and registered for
//! every scheme: a [Treiber stack](treiber) and a [Michael–Scott queue](msqueue).
//!
//! Each file holds one structure and its [`Backend`](reclaim_core::Backend) marker; the
//! per-thread [`SchemeHandle`] they share lives here.

mod handle;
pub mod msqueue;
mod node;
pub mod treiber;

pub use handle::{LockFree, SchemeHandle};
pub use msqueue::{MichaelScott, MsQueue};
pub use treiber::{Treiber, TreiberStack};
