//! Where the threads a backend starts itself run: with pinned workers and CPUs to spare,
//! on the spare ones.
//!
//! The `sweep` collector is a thread of the backend, not a worker. Left to the scheduler
//! beside one pinned worker on two CPUs, it sometimes lands on the worker's CPU and takes
//! turns with it, and how often differs from repeat to repeat: the one-thread sweep rows
//! were this project's least reproducible. So when the workers leave CPUs free, the
//! threads the container started while it was built are confined to those; with a CPU
//! for every worker or fewer, they are left to the scheduler as before (they then share
//! the workers' CPUs whatever is done).

use core_affinity::CoreId;
use std::collections::BTreeSet;

/// The CPUs no worker is pinned to, when `workers` are pinned round-robin over `cpus`.
pub(crate) fn spare(cpus: &[CoreId], workers: usize) -> &[CoreId] {
    cpus.get(workers..).unwrap_or_default()
}

/// The ids of this process's threads; `None` where they cannot be listed.
#[cfg(target_os = "linux")]
pub(crate) fn threads() -> Option<BTreeSet<i32>> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn threads() -> Option<BTreeSet<i32>> {
    None
}

/// Confines thread `tid` of this process to `cpus`; whether the kernel agreed. A thread
/// that has ended meanwhile counts as done.
#[cfg(target_os = "linux")]
pub(crate) fn confine(tid: i32, cpus: &[CoreId]) -> bool {
    // SAFETY: `cpu_set_t` is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for cpu in cpus {
        // SAFETY: `set` is a valid, initialised `cpu_set_t`; `CPU_SET` ignores an index
        // past `CPU_SETSIZE`.
        unsafe { libc::CPU_SET(cpu.id, &mut set) };
    }
    // SAFETY: `set` is initialised and the size passed is its own; the call only reads it.
    let rc = unsafe { libc::sched_setaffinity(tid, size_of::<libc::cpu_set_t>(), &set) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn confine(_tid: i32, _cpus: &[CoreId]) -> bool {
    true
}

/// The CPUs thread `tid` may run on, by id; `None` if they cannot be read.
#[cfg(all(test, target_os = "linux"))]
fn allowed(tid: i32) -> Option<Vec<usize>> {
    // SAFETY: as in `confine`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is writable and the size passed is its own.
    let rc = unsafe { libc::sched_getaffinity(tid, size_of::<libc::cpu_set_t>(), &mut set) };
    (rc == 0).then(|| {
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `set` is initialised and `cpu` below `CPU_SETSIZE`.
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect()
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn the_spare_cpus_are_those_past_the_workers() {
        let cpus: Vec<CoreId> = (0..4).map(|id| CoreId { id }).collect();
        let ids = |s: &[CoreId]| s.iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(spare(&cpus, 1)), [1, 2, 3]);
        assert_eq!(ids(spare(&cpus, 3)), [3]);
        assert!(spare(&cpus, 4).is_empty());
        assert!(spare(&cpus, 9).is_empty(), "oversubscribed: nothing spare");
    }

    /// A thread started between two listings is among the new ids (other tests may start
    /// threads meanwhile), and confining it to one CPU leaves it that CPU alone.
    #[test]
    fn a_thread_started_meanwhile_is_found_and_confined() {
        let cpus = core_affinity::get_core_ids().expect("this machine lists its CPUs");
        let before = threads().expect("/proc/self/task is readable");
        let (tid_tx, tid_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: `gettid` has no preconditions.
            tid_tx.send(unsafe { libc::gettid() }).unwrap();
            let _ = done_rx.recv();
        });
        let tid = tid_rx.recv().unwrap();
        let after = threads().unwrap();
        assert!(!before.contains(&tid) && after.contains(&tid));
        let last = *cpus.last().unwrap();
        assert!(confine(tid, &[last]));
        assert_eq!(allowed(tid), Some(vec![last.id]));
        drop(done_tx);
        thread.join().unwrap();
        assert!(
            confine(tid, &[last]),
            "a thread gone by now is not a refusal"
        );
    }
}
