//! Runs every conformance check against every registered backend, one test per pair, named
//! `<backend>::<check>` so `cargo test -p reclaim-conformance -- treiber-hp` selects one
//! backend and `-- drop_accounting` one check.

use libtest_mimic::{Arguments, Failed, Trial};
use reclaim_core::{Backend, Entry, SetBackend, SetEntry, Visitor};

struct Collect(Vec<Trial>);

impl Visitor for Collect {
    fn visit<B: Backend>(&mut self, entry: Entry) {
        for check in reclaim_conformance::checks::<B>(&entry) {
            let run = check.run;
            self.0.push(
                Trial::test(format!("{}::{}", entry.name, check.name), move || {
                    run().map_err(Failed::from)
                })
                .with_kind(entry.info.scheme),
            );
        }
    }

    fn visit_set<B: SetBackend>(&mut self, entry: SetEntry) {
        for check in reclaim_conformance::set_checks::<B>(&entry) {
            let run = check.run;
            self.0.push(
                Trial::test(format!("{}::{}", entry.name, check.name), move || {
                    run().map_err(Failed::from)
                })
                .with_kind(entry.info.scheme),
            );
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Collect(Vec::new());
    reclaim_registry::visit_all(&mut trials);
    libtest_mimic::run(&args, trials.0).exit();
}
