//! Safe memory reclamation (SMR) for lock-free structures, behind one trait.
//!
//! # The problem
//!
//! A lock-free structure unlinks a node with a compare-and-swap, but another thread may
//! hold a pointer to that node it loaded a moment earlier and is about to dereference.
//! Freeing the node at once is a use-after-free; reusing its address is the ABA problem.
//! A reclamation scheme answers one question: *when is an unlinked node no longer
//! reachable by any thread, so that it can be freed?*
//!
//! # The protocol structures are written against
//!
//! A structure is written once, generic over [`Scheme`], and follows four rules:
//!
//! 1. Each thread [registers](Scheme::register) with the structure's
//!    [domain](Scheme::Domain) once and keeps its [`Local`] for the whole run.
//! 2. Every operation [pins](Local::pin) a [`Guard`] first and keeps it until it has
//!    stopped touching shared nodes.
//! 3. Every shared pointer the operation will dereference is obtained through
//!    [`Guard::protect`] (a load that stays valid) or, when it was read out of another
//!    node, published with [`Guard::protect_from`] and re-validated against the pointer
//!    that made that node reachable.
//! 4. A node is handed to [`Guard::retire`] by the one thread that unlinked it, after it
//!    became unreachable from the structure's roots; the scheme frees it once no
//!    protection can name it.
//!
//! # A structure written once, for every scheme
//!
//! A Treiber stack of `u64` in the four rules above, generic over the scheme, run on
//! three threads with each pointer-based scheme. (The project's own stack,
//! `reclaim_structures::TreiberStack`, is this with values of any type.)
//!
//! ```
//! use reclaim_smr::{Ebr, Guard, Hp, Leak, Local, Scheme, Seize};
//! use std::ptr;
//! use std::sync::atomic::{AtomicPtr, Ordering};
//!
//! struct Node {
//!     value: u64,
//!     next: AtomicPtr<Node>,
//! }
//!
//! struct Stack<S: Scheme> {
//!     head: AtomicPtr<Node>,
//!     // Owned by the structure: dropping the stack frees all its garbage.
//!     domain: S::Domain,
//! }
//!
//! impl<S: Scheme> Stack<S> {
//!     fn new() -> Self {
//!         Stack { head: AtomicPtr::new(ptr::null_mut()), domain: S::new_domain() }
//!     }
//!
//!     // A push dereferences no shared node, so it needs no guard.
//!     fn push(&self, value: u64) {
//!         let next = AtomicPtr::new(ptr::null_mut());
//!         let node = Box::into_raw(Box::new(Node { value, next }));
//!         let mut head = self.head.load(Ordering::Relaxed);
//!         loop {
//!             // SAFETY: `node` is ours until the compare-and-swap publishes it.
//!             unsafe { (*node).next.store(head, Ordering::Relaxed) };
//!             match self.head.compare_exchange_weak(
//!                 head, node, Ordering::Release, Ordering::Relaxed,
//!             ) {
//!                 Ok(_) => return,
//!                 Err(now) => head = now,
//!             }
//!         }
//!     }
//!
//!     fn pop(&self, local: &mut S::Local<'_>) -> Option<u64> {
//!         let mut guard = local.pin(); // rule 2: pin for the whole operation
//!         loop {
//!             let head = guard.protect(0, &self.head); // rule 3: protected loads only
//!             if head.is_null() {
//!                 return None;
//!             }
//!             // SAFETY: `head` is protected, so it is not freed while the guard lives.
//!             let (value, next) =
//!                 unsafe { ((*head).value, (*head).next.load(Ordering::Relaxed)) };
//!             if self
//!                 .head
//!                 .compare_exchange_weak(head, next, Ordering::Release, Ordering::Relaxed)
//!                 .is_ok()
//!             {
//!                 // Rule 4. SAFETY: `head` came from `Box::into_raw`, this thread's
//!                 // compare-and-swap unlinked it (so it alone retires it), and it belongs
//!                 // to this stack's domain, which outlives the guard.
//!                 unsafe { guard.retire(head) };
//!                 return Some(value);
//!             }
//!         }
//!     }
//! }
//!
//! impl<S: Scheme> Drop for Stack<S> {
//!     fn drop(&mut self) {
//!         let mut node = self.head.load(Ordering::Relaxed);
//!         while !node.is_null() {
//!             // SAFETY: no thread is left; nodes still linked were never retired.
//!             let owned = unsafe { Box::from_raw(node) };
//!             node = owned.next.load(Ordering::Relaxed);
//!         }
//!     }
//! }
//!
//! fn exercise<S: Scheme>() {
//!     let stack = Stack::<S>::new();
//!     let popped: u64 = std::thread::scope(|s| {
//!         let workers: Vec<_> = (0..3u64)
//!             .map(|t| {
//!                 let stack = &stack;
//!                 s.spawn(move || {
//!                     // Rule 1: register once per thread, with one protection slot.
//!                     let mut local = S::register(&stack.domain, 1);
//!                     let mut sum = 0;
//!                     for i in 0..100 {
//!                         stack.push(t * 1000 + i);
//!                         sum += stack.pop(&mut local).expect("this thread pushed one");
//!                     }
//!                     sum
//!                 })
//!             })
//!             .collect();
//!         workers.into_iter().map(|w| w.join().unwrap()).sum()
//!     });
//!     // Every value came out once: the sum of everything pushed.
//!     assert_eq!(popped, (0..3u64).map(|t| (0..100).map(|i| t * 1000 + i).sum::<u64>()).sum());
//!     // Every pop retired its node; the scheme frees them in its own time.
//!     let stats = S::stats(&stack.domain);
//!     assert_eq!(stats.retired, 300);
//!     assert!(stats.freed <= stats.retired);
//! }
//!
//! exercise::<Leak>();
//! exercise::<Ebr>();
//! exercise::<Hp>();
//! exercise::<Seize>();
//! ```
//!
//! # The schemes
//!
//! | scheme | protect | retire | garbage bound |
//! |---|---|---|---|
//! | [`Leak`] | plain load | keeps the node until the domain is dropped | none: grows with every pop |
//! | [`Ebr`] | plain load, valid while pinned | deferred by epochs (crossbeam-epoch) | none if a thread stays pinned |
//! | [`Hp`] | publish + fence + re-validate | freed when no hazard names it (haphazard) | bounded by threads × slots |
//! | [`Seize`] | `SeqCst` load, valid while inside | in batches, freed by the last thread active at retirement (seize) | none if a thread stays inside |
//!
//! Counted-reference schemes ([`Rc`], [`Sweep`]) do not fit this protocol: their links own
//! a count, and reclamation is a side effect of dropping the last one, not a `retire` call.
//! They implement [`CountedScheme`] instead, back a structure family of their own, and
//! report the same [`ReclaimStats`] through [`counters`].
//!
//! Every scheme counts what it was handed and what it freed ([`Scheme::stats`]); see
//! [`counters`] for how that stays off the measured path.

pub mod counted;
pub mod counters;
#[cfg(not(loom))]
mod ebr;
#[cfg(not(loom))]
mod hp;
mod leak;
#[cfg(not(loom))]
mod rc;
#[cfg(not(loom))]
mod seize;
pub mod sweep;
pub mod sync;

pub use counted::CountedScheme;
#[cfg(not(loom))]
pub use ebr::{Ebr, EbrDomain, EbrGuard, EbrLocal};
#[cfg(not(loom))]
pub use hp::{Hp, HpDomain, HpGuard, HpLocal};
pub use leak::{Leak, LeakDomain, LeakGuard, LeakLocal};
#[cfg(not(loom))]
pub use rc::{Rc, RcDomain};
pub use reclaim_core::ReclaimStats;
#[cfg(not(loom))]
pub use seize::{Seize, SeizeDomain, SeizeGuard, SeizeLocal};
#[cfg(not(loom))]
pub use sweep::{Sweep, SweepDomain};

use reclaim_core::{Knob, SchemeSetting};
use sync::AtomicPtr;

/// Why the default `new_domain_with` refuses `setting`: the key is none of `knobs`, or
/// out of range, or (a scheme that lists knobs but does not override `new_domain_with`)
/// not applied.
pub(crate) fn unapplied(scheme: &str, knobs: &[Knob], setting: &SchemeSetting) -> String {
    match setting.knob(scheme, knobs) {
        Err(reason) => reason,
        Ok(knob) => format!("the {scheme} scheme does not apply its knob {}", knob.key),
    }
}

/// A reclamation scheme: a per-structure domain, per-thread locals, per-operation guards.
pub trait Scheme: 'static {
    /// The name users select the scheme by: `"leak"`, `"ebr"`, `"hp"`, `"seize"`.
    const NAME: &'static str;

    /// One line on how the scheme reclaims, for listings.
    const SUMMARY: &'static str;

    /// The scheme's tuning in words, for result files (thresholds it reclaims at).
    const SETTINGS: &'static str;

    /// State shared by every thread of one structure (a collector, a hazard-pointer domain).
    /// Each structure owns its domain, so dropping the structure frees all its garbage.
    type Domain: Send + Sync;

    /// One thread's registration with a domain.
    type Local<'d>: Local;

    /// The tuning knobs a domain can be built with ([`new_domain_with`](Scheme::new_domain_with)),
    /// for the structures' `Info::knobs`; none by default.
    const KNOBS: &'static [Knob] = &[];

    /// A fresh domain.
    fn new_domain() -> Self::Domain;

    /// A fresh domain with one of [`KNOBS`](Scheme::KNOBS) set, or at its defaults for
    /// `None` (the same domain as [`new_domain`](Scheme::new_domain)).
    ///
    /// # Errors
    /// The key is none of the scheme's knobs, or the value is out of the knob's range: the
    /// message names the key (and the scheme's knobs, or that it has none). The default
    /// refuses every setting; a scheme with knobs overrides it.
    fn new_domain_with(setting: Option<&SchemeSetting>) -> Result<Self::Domain, String> {
        match setting {
            None => Ok(Self::new_domain()),
            Some(setting) => Err(unapplied(Self::NAME, Self::KNOBS, setting)),
        }
    }

    /// Registers the calling thread with `domain`, with `slots` protection slots (the most
    /// pointers one operation of the structure protects at once).
    fn register(domain: &Self::Domain, slots: usize) -> Self::Local<'_>;

    /// What the domain has retired and freed so far; safe to call while threads run.
    fn stats(domain: &Self::Domain) -> ReclaimStats;
}

/// A scheme whose pin alone protects: every node reachable from a structure at any moment
/// while a guard is pinned stays allocated until that guard is dropped, whether or not
/// it was passed to [`Guard::protect`]. Epochs give this (a node retired during the pin
/// is freed only after it), and so does the leak scheme; hazard pointers do not (only
/// the pointers published in slots are safe), nor do counted references, nor does seize
/// (it promises validity for pointers loaded through its `protect` only: see [`Seize`]).
///
/// Structures that traverse through removed nodes — Harris's original list, which skips
/// over a chain of marked nodes and unlinks it in one step — are sound only over such a
/// scheme, and say so with this bound.
///
/// # Safety
///
/// Implementors guarantee the property above for every guard their locals pin.
pub unsafe trait PinProtects: Scheme {}

/// A thread's registration with a domain.
pub trait Local {
    /// The critical section of one operation.
    type Guard<'l>: Guard
    where
        Self: 'l;

    /// Enters an operation. Pointers protected through the guard stay valid until it is
    /// dropped (or their slot is reused).
    fn pin(&mut self) -> Self::Guard<'_>;
}

/// The critical section of one operation on a structure.
///
/// # Safety
///
/// Implementors guarantee to the structure code: a non-null pointer returned by
/// [`protect`](Guard::protect), or accepted by [`protect_from`](Guard::protect_from)
/// (it returned `true`), is not freed before this guard is dropped or the same slot is
/// protected again — provided the structure keeps its side of the protocol (the rules in
/// the [crate documentation](crate)).
pub unsafe trait Guard {
    /// Loads `src` and protects the loaded pointer in `slot`. Null is returned as is.
    fn protect<T>(&mut self, slot: usize, src: &AtomicPtr<T>) -> *mut T;

    /// Protects `ptr` in `slot`, where `ptr` was read out of a node that is reachable only
    /// while `anchor` still holds `expected`. Returns `false` if `anchor` moved on, in which
    /// case `ptr` may already be retired: the caller must not dereference it and retries.
    ///
    /// This is the re-validation a Michael–Scott queue needs for `head.next`: the field
    /// itself never changes once set, so checking it again proves nothing; only `head`
    /// still holding the old node proves that `next` was not dequeued and retired.
    fn protect_from<T, A>(
        &mut self,
        slot: usize,
        ptr: *mut T,
        anchor: &AtomicPtr<A>,
        expected: *mut A,
    ) -> bool;

    /// Hands an unlinked node to the scheme, which drops the `Box<T>` once no thread can
    /// reach it.
    ///
    /// # Safety
    ///
    /// - `ptr` came from `Box::<T>::into_raw` and was retired by no one else;
    /// - it is unreachable from the structure's roots: a thread that starts an operation
    ///   now cannot find it;
    /// - it belongs to a structure whose domain is the one this guard was pinned in, and
    ///   that domain outlives every use of the pointer.
    unsafe fn retire<T: Send>(&mut self, ptr: *mut T);
}
