//! Random operation sequences on one thread, checked against a model of the channel's
//! contents: see `reclaim_hopper_fuzz::run`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reclaim_hopper_fuzz::{Input, run};

fuzz_target!(|input: Input| run(&input));
