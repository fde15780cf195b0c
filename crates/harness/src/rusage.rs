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
    let (voluntary, involuntary) = imp::thread_switches()?;
    Some(voluntary + involuntary)
}

/// Involuntary context switches of the calling thread so far: the scheduler took its CPU.
pub(crate) fn thread_involuntary_switches() -> Option<u64> {
    Some(imp::thread_switches()?.1)
}

/// Voluntary context switches of the calling thread so far: it blocked or slept.
pub(crate) fn thread_voluntary_switches() -> Option<u64> {
    Some(imp::thread_switches()?.0)
}

#[cfg(target_os = "linux")]
mod imp {
    /// (voluntary, involuntary) context switches of the calling thread.
    pub(super) fn thread_switches() -> Option<(u64, u64)> {
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
        Some((count(usage.ru_nvcsw)?, count(usage.ru_nivcsw)?))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn thread_switches() -> Option<(u64, u64)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The whole process's context switches so far, every thread's (exited ones included).
    fn process_context_switches() -> u64 {
        // SAFETY: as in `imp`: a zeroed plain C struct, valid and writable for the call.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above; RUSAGE_SELF describes the whole process.
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
        u64::try_from(usage.ru_nvcsw + usage.ru_nivcsw).unwrap()
    }

    fn sleeps(n: u64) {
        for _ in 0..n {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Sleeping shows in the count. Not one switch per sleep: a thread preempted between
    /// arming its timer and blocking wakes with the timer expired and returns without a
    /// voluntary switch (a clean-clone CI run under load counted 4 for 5 sleeps). That
    /// all five sleeps do so is what this would need to fail.
    #[test]
    fn sleeping_is_counted() {
        let before = thread_context_switches().unwrap();
        sleeps(5);
        let after = thread_context_switches().unwrap();
        assert!(after > before, "{before} → {after}");
    }

    /// Per thread, not per process: this thread's count and another's, over windows
    /// inside one window of the process's count, add up to no more than it. A
    /// process-wide count would count the other thread's sleeps twice. No margin that
    /// load could exceed: whatever else switches (this thread waiting for the other,
    /// preemption, an emulator's own threads) adds to the process's count as much or more.
    #[test]
    fn the_count_is_per_thread() {
        const SLEEPS: u64 = 20;
        let process_before = process_context_switches();
        let mine_before = thread_context_switches().unwrap();
        let theirs = std::thread::spawn(|| {
            let before = thread_context_switches().unwrap();
            sleeps(SLEEPS);
            thread_context_switches().unwrap() - before
        })
        .join()
        .unwrap();
        let mine = thread_context_switches().unwrap() - mine_before;
        let process = process_context_switches() - process_before;
        assert!(
            theirs >= SLEEPS,
            "the other thread's {SLEEPS} sleeps counted {theirs}"
        );
        assert!(
            mine + theirs <= process,
            "this thread {mine} + the other {theirs} > the process's {process}: \
             the count is not per thread"
        );
    }
}
