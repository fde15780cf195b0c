//! Counting frees must never leave this thread naming a counter shard that is gone,
//! whatever safe code does with guards: drop two out of order, or leak one. Once the
//! guards and their domains are dropped, a free on this thread is a stray one (counted in
//! `stray_frees`), never a write into a freed domain's shard — which Miri reports as a
//! use-after-free, and which natively shows as the stray count not moving.
#![cfg(not(loom))] // hp is not a loom model.

use std::mem;
use std::sync::{Mutex, PoisonError};

use reclaim_smr::counters::{note_freed, stray_frees};
use reclaim_smr::{Hp, Local, Scheme};

/// The stray count is process-wide: the tests here take turns changing it.
static STRAY: Mutex<()> = Mutex::new(());

/// Runs `misuse` on two fresh `hp` domains, drops them, then frees "outside" on this
/// thread and checks the free is counted as stray.
fn outside_free_is_stray_after(
    misuse: impl FnOnce(&<Hp as Scheme>::Domain, &<Hp as Scheme>::Domain),
) {
    let _turn = STRAY.lock().unwrap_or_else(PoisonError::into_inner);
    let a = Hp::new_domain();
    let b = Hp::new_domain();
    misuse(&a, &b);
    drop(a);
    drop(b);
    let before = stray_frees();
    note_freed();
    assert_eq!(
        stray_frees(),
        before + 1,
        "a free outside every operation was counted in a shard: this thread still names one"
    );
}

#[test]
fn guards_dropped_out_of_order() {
    outside_free_is_stray_after(|a, b| {
        let mut la = Hp::register(a, 1);
        let mut lb = Hp::register(b, 1);
        let ga = la.pin();
        let gb = lb.pin();
        drop(ga);
        drop(gb);
    });
}

#[test]
fn a_leaked_guard() {
    outside_free_is_stray_after(|a, _| {
        let mut local = Hp::register(a, 1);
        mem::forget(local.pin());
    });
}
