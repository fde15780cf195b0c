//! Runs every conformance check against every registered backend, one test per pair, named
//! `<backend>::<check>` so `cargo test -p reclaim-conformance -- treiber-hp` selects one
//! backend and `-- drop_accounting` one check. Both families: containers and sets.

use libtest_mimic::{Arguments, Failed, Trial};
use reclaim_conformance::Check;
use reclaim_core::{Backend, Entry, SetBackend, SetEntry, Visitor};

struct Collect(Vec<Trial>);

impl Collect {
    /// One trial per check of the backend `name`, shown with its scheme.
    fn add(&mut self, name: &str, scheme: &str, checks: Vec<Check>) {
        for check in checks {
            let run = check.run;
            self.0.push(
                Trial::test(format!("{name}::{}", check.name), move || {
                    run().map_err(Failed::from)
                })
                .with_kind(scheme),
            );
        }
    }
}

impl Visitor for Collect {
    fn visit<B: Backend>(&mut self, entry: Entry) {
        let checks = reclaim_conformance::checks::<B>(&entry);
        self.add(entry.name, entry.info.scheme, checks);
    }

    fn visit_set<B: SetBackend>(&mut self, entry: SetEntry) {
        let checks = reclaim_conformance::set_checks::<B>(&entry);
        self.add(entry.name, entry.info.scheme, checks);
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Collect(Vec::new());
    reclaim_registry::visit_all(&mut trials);
    libtest_mimic::run(&args, trials.0).exit();
}
