//! `Handle::stall`: while one handle holds on mid-operation, the others go on.

use reclaim_core::{Backend, Container, Handle};

use crate::{CheckResult, build, config_for};

/// Values pushed before the stall, so there is a front node to hold.
const BEFORE: u64 = 8;
/// Values another handle pushes and pops while the first one stalls.
const DURING: u64 = 100;

/// One handle stalls (pinned, a hazard on the front node, or a counted reference to it)
/// while another pops everything, including the node the first one holds, then pushes
/// and pops more. Every value comes out exactly once, the counters stay consistent, and
/// the stalled handle works normally afterwards. Under Miri this runs the schemes'
/// protection of a node that another thread of control retires.
pub fn stall_then_resume<B: Backend>() -> CheckResult {
    let container = build::<B, u64>(&config_for::<B>(64))?;
    let mut stalled = container.handle();
    let mut other = container.handle();
    for value in 0..BEFORE {
        stalled
            .push(value)
            .map_err(|_| format!("push {value} refused"))?;
    }
    let mut popped: Vec<u64> = Vec::new();
    let mut failure: Option<String> = None;
    stalled.stall(&mut || {
        popped.extend(std::iter::from_fn(|| other.pop()));
        for value in BEFORE..BEFORE + DURING {
            if other.push(value).is_err() {
                failure = Some(format!("push {value} refused during the stall"));
                return;
            }
            match other.pop() {
                Some(v) => popped.push(v),
                None => {
                    failure = Some(format!("pop after pushing {value} found nothing"));
                    return;
                }
            }
        }
    });
    if let Some(failure) = failure {
        return Err(failure);
    }
    popped.sort_unstable();
    let expected: Vec<u64> = (0..BEFORE + DURING).collect();
    if popped != expected {
        return Err(format!(
            "during the stall {} values came out, expected each of 0..{} once",
            popped.len(),
            BEFORE + DURING
        ));
    }
    if let Some(stats) = container.reclamation()
        && stats.freed > stats.retired
    {
        return Err(format!("freed more than retired: {stats:?}"));
    }
    stalled
        .push(7)
        .map_err(|_| "push refused after the stall".to_string())?;
    match stalled.pop() {
        Some(7) => Ok(()),
        other => Err(format!("after the stall, pop gave {other:?} instead of 7")),
    }
}
