//! `rc-leak`: the [`rc-weak`](crate::rc_weak) graph with strong back-edges.
//!
//! What happens when a program lets reference counting own a cyclic structure: every
//! unlinked subtree in which some node holds a back-edge to an ancestor inside the subtree
//! is a cycle of strong counts and is never freed (nor are the nodes it owns). The leak is
//! the point of the row: live memory grows with the operations, and the counts show the
//! nodes neither dropped nor reachable. Back-edges to ancestors *above* the unlinked
//! subtree keep those ancestors alive too, after they are unlinked in turn.
//!
//! A driver must bound the run: measured once (release, 10 000 nodes, 0.7 s), the leak
//! was 3.4 million nodes; at the 100 to 200 bytes a node and its edge vectors take (from
//! their layout, not measured) that is several hundred megabytes, so a run of minutes
//! would exhaust the machine.

use std::rc::Rc;

use crate::GraphInfo;
use crate::rc_weak::{BackKind, RcGraph};

/// `Rc` + `RefCell` nodes with strong back-edges: unlinked cycles leak.
pub type RcLeak = RcGraph<StrongBacks>;

/// Back-edges are `Rc`: `rc-leak`.
#[derive(Debug)]
pub enum StrongBacks {}

impl BackKind for StrongBacks {
    type Edge<N> = Rc<N>;
    const INFO: GraphInfo = GraphInfo {
        name: "rc-leak",
        summary: "Rc + RefCell, strong back-edges: unlinked cycles are never freed",
        thread_safe: false,
        forced_collection: false,
        leaks_cycles: true,
    };
    fn to<N>(target: &Rc<N>) -> Rc<N> {
        Rc::clone(target)
    }
    fn target<N>(edge: &Rc<N>) -> Option<Rc<N>> {
        Some(Rc::clone(edge))
    }
}
