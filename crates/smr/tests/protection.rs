//! What each scheme promises about a protected pointer, observed with canaries: objects
//! that record their own drop.
#![cfg(not(loom))] // ebr and hp are not loom models; tests/loom.rs covers the structures.

use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use reclaim_smr::{Ebr, Guard, Hp, Leak, Local, Scheme, Seize};

/// Enough retires to trigger a haphazard scan (it scans every 1,000), several
/// crossbeam-epoch collections (every 128 pins) and many seize batches (of 32).
const RETIRES: usize = 1_500;

struct Canary(Arc<AtomicBool>);

impl Drop for Canary {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn canary() -> (*mut Canary, Arc<AtomicBool>) {
    let dead = Arc::new(AtomicBool::new(false));
    (Box::into_raw(Box::new(Canary(Arc::clone(&dead)))), dead)
}

/// Retires `n` fresh objects through `local`, one operation each.
fn retire_fresh<L: Local>(local: &mut L, n: usize) {
    for _ in 0..n {
        let mut guard = local.pin();
        // SAFETY: a fresh box, never shared, retired once.
        unsafe { guard.retire(Box::into_raw(Box::new(0u64))) };
    }
}

/// Publishes a canary in `src`, has `reader` protect it, then unlinks and retires it
/// through `writer` and churns. Returns whether the canary was freed while protected, and
/// whether it was freed once the protection was dropped and the churn went on.
fn protected_canary<S: Scheme>() -> (bool, bool) {
    let domain = S::new_domain();
    let mut reader = S::register(&domain, 1);
    let mut writer = S::register(&domain, 1);
    let (object, dead) = canary();
    let src = AtomicPtr::new(object);

    let mut guard = reader.pin();
    assert_eq!(guard.protect(0, &src), object);
    src.store(ptr::null_mut(), Ordering::Release);
    {
        let mut writer_guard = writer.pin();
        // SAFETY: unlinked above, retired once, from `Box::into_raw`.
        unsafe { writer_guard.retire(object) };
    }
    retire_fresh(&mut writer, RETIRES);
    let freed_while_protected = dead.load(Ordering::Relaxed);
    drop(guard);
    retire_fresh(&mut writer, RETIRES);
    let freed_after = dead.load(Ordering::Relaxed);
    let stats = S::stats(&domain);
    assert_eq!(stats.retired, 2 * RETIRES as u64 + 1);
    (freed_while_protected, freed_after)
}

#[test]
fn hazard_pointers_keep_a_protected_object_and_free_it_after() {
    assert_eq!(protected_canary::<Hp>(), (false, true));
}

#[test]
fn epochs_keep_a_protected_object_and_free_it_after() {
    assert_eq!(protected_canary::<Ebr>(), (false, true));
}

#[test]
fn seize_keeps_a_protected_object_and_frees_it_after() {
    assert_eq!(protected_canary::<Seize>(), (false, true));
}

#[test]
fn leak_frees_nothing_until_the_domain_goes() {
    assert_eq!(protected_canary::<Leak>(), (false, false));
}

#[test]
fn every_scheme_frees_its_garbage_with_the_domain() {
    fn check<S: Scheme>() {
        let domain = S::new_domain();
        let (object, dead) = canary();
        {
            let mut local = S::register(&domain, 1);
            let mut guard = local.pin();
            // SAFETY: never shared, retired once.
            unsafe { guard.retire(object) };
        }
        assert!(!dead.load(Ordering::Relaxed) || S::NAME != "leak");
        drop(domain);
        assert!(
            dead.load(Ordering::Relaxed),
            "{} left garbage behind",
            S::NAME
        );
    }
    check::<Leak>();
    check::<Ebr>();
    check::<Hp>();
    check::<Seize>();
}

/// The re-validation a Michael–Scott queue relies on for `head.next` (haphazard issue 55):
/// protecting a pointer read out of a node is accepted only while the anchor that made the
/// node reachable is unchanged.
#[test]
fn hazard_pointers_validate_against_the_anchor() {
    let domain = Hp::new_domain();
    let mut local = Hp::register(&domain, 2);
    let (first, second) = (Box::into_raw(Box::new(1u64)), Box::into_raw(Box::new(2u64)));
    let anchor = AtomicPtr::new(first);
    let inner = Box::into_raw(Box::new(3u64));
    {
        let mut guard = local.pin();
        assert!(guard.protect_from(1, inner, &anchor, first));
        anchor.store(second, Ordering::Release);
        assert!(!guard.protect_from(1, inner, &anchor, first));
    }
    for object in [first, second, inner] {
        // SAFETY: never shared with another thread; freed once here.
        drop(unsafe { Box::from_raw(object) });
    }
}
