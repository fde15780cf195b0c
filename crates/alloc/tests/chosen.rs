//! The allocator chosen at start-up serves the process's allocations: each test below
//! starts this test binary again with `RECLAIM_ALLOCATOR` set, and the child asks the
//! allocators themselves who served its blocks (mimalloc: whether a block is in its
//! heap; jemalloc: whether its count of the thread's allocated bytes moved).

use std::ffi::c_void;
use std::hint::black_box;
use std::process::Command;

use reclaim_alloc::{ALLOCATOR_ENV, Allocator, Chosen, CountingAlloc, chosen, thread_tally};
use reclaim_emulation::Runner;

#[global_allocator]
static A: CountingAlloc<Chosen> = CountingAlloc::wrapping(Chosen::new());

/// Set in the child: the allocator it must find itself on.
const EXPECT: &str = "RECLAIM_ALLOC_TEST_EXPECT";

/// Whether mimalloc's heap holds `ptr`.
fn in_mimalloc(ptr: *const u8) -> bool {
    // SAFETY: the function only compares the address with mimalloc's heap regions.
    unsafe { libmimalloc_sys::mi_is_in_heap_region(ptr.cast::<c_void>()) }
}

/// jemalloc's count of bytes this thread allocated through it.
fn jemalloc_thread_allocated() -> u64 {
    let mut value: u64 = 0;
    let mut len = size_of::<u64>();
    // SAFETY: `thread.allocated` is a u64 statistic; `value` and `len` are valid for
    // writes of that size, and no new value is given.
    let status = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"thread.allocated".as_ptr(),
            (&raw mut value).cast::<c_void>(),
            &raw mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    assert_eq!(status, 0, "mallctl(thread.allocated) failed");
    value
}

/// Run in a child with `RECLAIM_ALLOCATOR` set (ignored otherwise): the process is on
/// the allocator it was asked for, that allocator serves a `Box`, the other does not,
/// and the counting layer above it still counts.
#[test]
#[ignore = "run by the tests below in a child process"]
fn child_is_served_by_the_allocator_it_asked_for() {
    let expected: Allocator = std::env::var(EXPECT)
        .expect("run by the tests below")
        .parse()
        .expect("an allocator's name");
    assert_eq!(chosen(), expected);
    let tally = thread_tally();
    let jemalloc_before = jemalloc_thread_allocated();
    let block = black_box(Box::new([7_u8; 256]));
    let jemalloc_after = jemalloc_thread_allocated();
    let served_by_mimalloc = in_mimalloc(&raw const *block as *const u8);
    drop(block);
    assert_eq!(served_by_mimalloc, expected == Allocator::Mimalloc);
    assert_eq!(
        jemalloc_after > jemalloc_before,
        expected == Allocator::Jemalloc
    );
    let counted = thread_tally().since(tally);
    assert!(counted.allocations >= 1 && counted.frees >= 1);
}

/// Runs the child test with `RECLAIM_ALLOCATOR=value`; whether it passed, and its output.
fn child(value: &str, expect: Allocator) -> (bool, String) {
    let runner = Runner::from_env("RECLAIM_TEST_RUNNER");
    let exe = std::env::current_exe().expect("this test binary");
    let mut command: Command = runner.command(&exe);
    command
        .args([
            "child_is_served_by_the_allocator_it_asked_for",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(ALLOCATOR_ENV, value)
        .env(EXPECT, expect.name());
    let output = runner.output(&mut command).expect("the child starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success() && text.contains("1 passed"), text)
}

#[test]
fn each_allocator_serves_the_process_that_chose_it() {
    for allocator in Allocator::ALL {
        let (passed, output) = child(allocator.name(), allocator);
        assert!(passed, "{allocator}: {output}");
    }
}

#[test]
fn an_unset_or_unknown_choice_stays_on_the_system_allocator() {
    for value in ["", "tcmalloc"] {
        let (passed, output) = child(value, Allocator::System);
        assert!(passed, "RECLAIM_ALLOCATOR={value:?}: {output}");
    }
}

/// The check the child makes can fail: a child told to expect mimalloc while it runs on
/// the system allocator fails.
#[test]
fn the_child_fails_when_the_allocator_is_not_the_one_expected() {
    let (passed, _) = child("system", Allocator::Mimalloc);
    assert!(!passed);
}
