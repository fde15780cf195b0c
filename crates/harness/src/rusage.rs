//! Context switches of one thread, from `getrusage(RUSAGE_THREAD)`.
//!
//! perf-event 0.4.7 counts user space only, and context switches happen in the kernel, so
//! the `context-switches` counter comes from here instead: each worker reads its own
//! voluntary and involuntary switches when the run starts and when it ends, and the run
//! reports the sum. Unlike a process-wide count, that leaves out the sampler's wake-ups
//! and the coordinating thread's waits, and it needs no privileges.

/// Voluntary plus involuntary context switches of the calling thread so far, or `None`
/// where the kernel cannot say (not Linux, or the call failed).
pub(crate) fn thread_context_switches() -> Option<u64> {
    imp::thread_context_switches()
}

#[cfg(target_os = "linux")]
mod imp {
    pub(super) fn thread_context_switches() -> Option<u64> {
        // SAFETY: an all-zero `rusage` is a valid value of the plain C struct (integers
        // and `timeval`s only).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable `rusage` for the duration of the call, and
        // RUSAGE_THREAD (Linux ≥ 2.6.26) describes only the calling thread.
        let status = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
        if status != 0 {
            return None;
        }
        let count = |c: libc::c_long| u64::try_from(c).ok();
        Some(count(usage.ru_nvcsw)? + count(usage.ru_nivcsw)?)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn thread_context_switches() -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sleeping_switches_context_and_the_count_is_per_thread() {
        let before = thread_context_switches().unwrap();
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let after = thread_context_switches().unwrap();
        assert!(after >= before + 5, "{before} → {after}");
        // Another thread's sleeps do not show up in this thread's count.
        let mine = thread_context_switches().unwrap();
        std::thread::spawn(|| {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .join()
        .unwrap();
        let mine_after = thread_context_switches().unwrap();
        assert!(mine_after < mine + 20, "{mine} → {mine_after}");
    }
}
