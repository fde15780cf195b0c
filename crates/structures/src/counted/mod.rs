//! The structure family of the counted-reference schemes ([`Rc`](reclaim_smr::Rc),
//! [`Sweep`](reclaim_smr::Sweep)): the same algorithms as the pointer family (the two
//! containers, and the [Harris–Michael list](hmlist) and [hash set](hashmap) of the set
//! family), with nodes in `Arc`s and links in arc-swap cells. Holding a loaded node is
//! holding a count, so there is nothing to protect or retire; where the last drop lands
//! is the scheme's business ([`CountedScheme`](reclaim_smr::CountedScheme)).

mod handle;
pub mod hashmap;
pub mod hmlist;
mod msqueue;
mod node;
mod treiber;

pub use handle::{CountedHandle, CountedOps, CountedSetHandle, CountedSetOps};
pub use hashmap::{CountedHmHashMap, CountedMichaelHashMap};
pub use hmlist::{CountedHarrisMichael, CountedHmList};
pub use msqueue::{CountedMichaelScott, CountedMsQueue};
pub use treiber::{CountedTreiber, CountedTreiberStack};
