//! Conformance for every strategy: the model, the census, the drop counts, the leak, and
//! threads for the thread-safe ones. Nothing here asserts a timing.

use reclaim_core::SplitMix64;

use crate::{
    ArcWeak, BaconRajanCc, Collect, DumpsterSync, GcArena, GraphConfig, GraphError, GraphStrategy,
    GraphVisitor, Model, RcLeak, RustGc, SharedGraph, visit_all,
};

/// A small graph (smaller under Miri), and how many operations to run on it.
fn small() -> (GraphConfig, usize) {
    let config = GraphConfig {
        nodes: if cfg!(miri) { 48 } else { 600 },
        max_edges: 4,
        subgraph: if cfg!(miri) { 6 } else { 12 },
        tree: if cfg!(miri) { 16 } else { 50 },
        seed: 17,
    };
    (config, if cfg!(miri) { 30 } else { 1_000 })
}

/// Whether a test may run `G` here: under Miri, a leaking strategy fails the run at exit
/// (Miri reports the leak, which is the row's point), so it runs natively only.
fn runs_here<G: GraphStrategy>() -> bool {
    !(cfg!(miri) && G::INFO.leaks_cycles)
}

/// Everything one strategy must satisfy, as a list of failures (empty when it passes).
///
/// `cycles` says whether the configuration makes cyclic garbage at all (a subtree of one
/// node cannot point into itself), so whether `rc-leak` must have leaked.
fn conformance<G: GraphStrategy>(config: &GraphConfig, ops: usize, cycles: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("{}: {config:?}: {what}", G::INFO.name));
    let mut graph = G::new(config).unwrap();
    let mut model = Model::new(config).unwrap();
    let (mut rng, mut model_rng) = (SplitMix64::new(99), SplitMix64::new(99));
    for op in 0..ops {
        graph.replace(&mut rng);
        model.replace(&mut model_rng);
        if op % 97 == 0 || op + 1 == ops {
            let expected = model.walk().unwrap();
            match graph.verify() {
                Ok(found) if found == expected => {}
                other => fail(format!(
                    "after {op} operations: {other:?}, model {expected:?}"
                )),
            }
            if graph.counts().created != model.counts().created {
                fail(format!(
                    "created {:?}, model {:?}",
                    graph.counts(),
                    model.counts()
                ));
            }
            let no_garbage = !G::INFO.leaks_cycles && !G::INFO.forced_collection;
            if no_garbage && graph.counts().dropped != model.counts().dropped {
                fail(format!(
                    "dropped {:?}, model {:?}",
                    graph.counts(),
                    model.counts()
                ));
            }
        }
    }
    // The generators stayed in step: the strategy drew exactly what the model drew.
    if rng.state() != model_rng.state() {
        fail("drew a different number of random values than the model".into());
    }
    let reachable = graph.census().nodes;
    assert_eq!(reachable, config.nodes as u64);
    let forced = graph.collect(Collect::Full);
    if forced != G::INFO.forced_collection {
        fail(format!("collect(Full) returned {forced}"));
    }
    let counts = graph.counts();
    let leaked = counts.leaked(reachable);
    if G::INFO.leaks_cycles {
        if cycles && leaked == 0 {
            fail(format!("leaked nothing after {ops} operations: {counts:?}"));
        }
    } else if leaked != 0 || counts.dropped != model.counts().dropped {
        fail(format!(
            "leaked {leaked} after a forced collection: {counts:?}"
        ));
    }
    if let Err(error) = graph.verify() {
        fail(format!("after the forced collection: {error}"));
    }
    let end = graph.teardown();
    if end.bad_drops != 0 {
        fail(format!("dropped a node twice: {end:?}"));
    }
    if G::INFO.leaks_cycles {
        if cycles && end.dropped >= end.created {
            fail(format!("teardown freed the leaked cycles: {end:?}"));
        }
    } else if end.dropped != end.created {
        fail(format!("teardown left nodes undropped: {end:?}"));
    }
    failures
}

#[test]
fn every_strategy_follows_the_model_and_drops_each_node_once() {
    struct Conform(Vec<String>);
    impl GraphVisitor for Conform {
        fn visit<G: GraphStrategy>(&mut self) {
            if runs_here::<G>() {
                let (config, ops) = small();
                self.0.extend(conformance::<G>(&config, ops, true));
            }
        }
    }
    let mut failures = Conform(Vec::new());
    visit_all(&mut failures);
    assert!(failures.0.is_empty(), "{:#?}", failures.0);
}

/// The corners of the configuration: two edges a node, subtrees of one node, trees of
/// one node, a graph of one node, one tree holding the whole graph.
#[test]
fn every_strategy_follows_the_model_at_the_edges_of_the_configuration() {
    struct Corners(Vec<String>);
    impl GraphVisitor for Corners {
        fn visit<G: GraphStrategy>(&mut self) {
            if !runs_here::<G>() {
                return;
            }
            let ops = if cfg!(miri) { 10 } else { 300 };
            let base = GraphConfig {
                nodes: if cfg!(miri) { 20 } else { 200 },
                max_edges: 2,
                subgraph: 5,
                tree: 20,
                seed: 3,
            };
            let corners = [
                (base.clone(), true),
                (
                    GraphConfig {
                        subgraph: 1,
                        ..base.clone()
                    },
                    false,
                ),
                (
                    GraphConfig {
                        tree: 1,
                        ..base.clone()
                    },
                    false,
                ),
                (
                    GraphConfig {
                        nodes: 1,
                        ..base.clone()
                    },
                    false,
                ),
                (
                    GraphConfig {
                        tree: base.nodes,
                        max_edges: 8,
                        ..base.clone()
                    },
                    true,
                ),
            ];
            for (config, cycles) in corners {
                self.0.extend(conformance::<G>(&config, ops, cycles));
            }
        }
    }
    let mut failures = Corners(Vec::new());
    visit_all(&mut failures);
    assert!(failures.0.is_empty(), "{:#?}", failures.0);
}

#[test]
fn the_family_is_listed_once_each() {
    struct Names(Vec<&'static str>);
    impl GraphVisitor for Names {
        fn visit<G: GraphStrategy>(&mut self) {
            self.0.push(G::INFO.name);
        }
    }
    let mut names = Names(Vec::new());
    visit_all(&mut names);
    assert_eq!(
        names.0,
        [
            "rc-weak",
            "rc-leak",
            "arc-weak",
            "bacon-rajan-cc",
            "gc",
            "dumpster-unsync",
            "dumpster-sync",
            "gc-arena"
        ]
    );
}

#[test]
fn the_model_keeps_the_node_count_and_frees_what_it_unlinks() {
    let (config, ops) = small();
    let mut model = Model::new(&config).unwrap();
    let mut rng = SplitMix64::new(5);
    for _ in 0..ops {
        model.replace(&mut rng);
    }
    let census = model.walk().unwrap();
    assert_eq!(census.nodes, config.nodes as u64);
    let counts = model.counts();
    assert!(counts.dropped > 0, "operations unlinked nothing");
    assert_eq!(counts.created - counts.dropped, census.nodes);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the leak is the point, and Miri fails a run that leaks"
)]
fn rc_leak_leaks_what_it_unlinks_in_cycles() {
    let (config, ops) = small();
    let mut graph = RcLeak::new(&config).unwrap();
    let mut rng = SplitMix64::new(1);
    let mut leaked = Vec::new();
    for _ in 0..4 {
        for _ in 0..ops / 4 {
            graph.replace(&mut rng);
        }
        leaked.push(graph.counts().leaked(graph.census().nodes));
    }
    assert!(leaked[0] > 0, "{leaked:?}");
    assert!(leaked.windows(2).all(|w| w[0] <= w[1]), "{leaked:?}");
    assert!(leaked[3] > leaked[0], "the leak does not grow: {leaked:?}");
    graph.verify().unwrap();
}

#[test]
fn bacon_rajan_cc_collects_when_its_buffer_fills() {
    let (config, _) = small();
    let mut graph = BaconRajanCc::new(&config).unwrap();
    // Start from an empty buffer: other tests on this thread may have left roots in it.
    graph.collect(Collect::Full);
    assert!(!graph.collection_due());
    assert!(!graph.collect(Collect::Due));
    let mut rng = SplitMix64::new(2);
    let mut ops = 0;
    while !graph.collection_due() {
        graph.replace(&mut rng);
        ops += 1;
        assert!(ops < 100_000, "no collection due after {ops} operations");
    }
    let before = graph.counts();
    assert!(before.leaked(graph.census().nodes) > 0, "{before:?}");
    assert!(graph.collect(Collect::Due));
    assert!(!graph.collection_due());
    let after = graph.counts();
    assert_eq!(after.leaked(graph.census().nodes), 0, "{after:?}");
    graph.verify().unwrap();
    let end = graph.teardown();
    assert_eq!(end.dropped, end.created);
}

/// Several threads, each with its own generator, replace subtrees of one graph; then the
/// graph is whole, no node was dropped twice, and — where `whole` — nothing is left after a
/// forced collection and teardown drops every node. Returns the nodes leaked after the
/// forced collection.
fn threads_share_one_graph<G: SharedGraph>(whole: bool) -> u64 {
    let (config, ops) = small();
    let mut graph = G::new(&config).unwrap();
    let threads = if cfg!(miri) { 2 } else { 4 };
    std::thread::scope(|scope| {
        for t in 0..threads {
            let graph = &graph;
            scope.spawn(move || {
                let mut rng = SplitMix64::new(t);
                for _ in 0..ops {
                    graph.replace_shared(&mut rng);
                }
                graph.thread_done();
            });
        }
    });
    let census = graph.verify().unwrap();
    assert_eq!(census.nodes, config.nodes as u64);
    graph.collect(Collect::Full);
    let counts = graph.counts();
    let leaked = counts.leaked(census.nodes);
    assert!(counts.created > config.nodes as u64 * 2, "{counts:?}");
    graph.verify().unwrap();
    let end = graph.teardown();
    assert_eq!(end.bad_drops, 0, "{}: {end:?}", G::INFO.name);
    if whole {
        assert_eq!(leaked, 0, "{}: {counts:?}", G::INFO.name);
        assert_eq!(end.dropped, end.created, "{}", G::INFO.name);
    }
    leaked
}

#[test]
fn arc_weak_threads_share_one_graph() {
    threads_share_one_graph::<ArcWeak>(true);
}

/// dumpster-sync stays sound under threads (no node freed while reachable, none dropped
/// twice), but leaks: see `dumpster_sync_frees_every_cycle_after_threads`.
#[test]
#[cfg_attr(
    miri,
    ignore = "the leak shown by dumpster_sync_frees_every_cycle_after_threads fails Miri's leak check"
)]
fn dumpster_sync_threads_share_one_graph_soundly() {
    threads_share_one_graph::<DumpsterSync>(false);
}

/// With dumpster 2.1, garbage cycles unlinked while another thread's collection runs can
/// stay uncollected for good: after four threads of operations, a forced collection (and
/// any number more) leaves some hundreds to thousands of unreachable nodes of 18 000
/// allocated; with the library's automatic collections switched off during the threaded
/// phase, the same run leaves none. Kept as the check that shows it, ignored until the
/// library (or our use of it) is fixed.
#[test]
#[ignore = "dumpster-sync 2.1 leaks cycles unlinked during concurrent collections"]
fn dumpster_sync_frees_every_cycle_after_threads() {
    threads_share_one_graph::<DumpsterSync>(true);
}

#[test]
fn out_of_range_configurations_are_refused() {
    let good = GraphConfig::default();
    for bad in [
        GraphConfig {
            nodes: 0,
            ..good.clone()
        },
        GraphConfig {
            max_edges: 1,
            ..good.clone()
        },
        GraphConfig {
            subgraph: 0,
            ..good.clone()
        },
        GraphConfig { tree: 0, ..good },
    ] {
        let error = ArcWeak::new(&bad).unwrap_err();
        assert!(matches!(error, GraphError::InvalidConfig { .. }), "{error}");
    }
}

#[test]
fn tree_sizes_add_up() {
    let config = GraphConfig {
        nodes: 103,
        tree: 10,
        ..GraphConfig::default()
    };
    let sizes = config.tree_sizes("test").unwrap();
    assert_eq!(sizes.len(), 11);
    assert_eq!(sizes.iter().sum::<u32>(), 103);
    assert!(sizes.iter().all(|&s| s == 9 || s == 10), "{sizes:?}");
}

#[test]
fn rust_gc_collects_by_itself_and_counts_it() {
    let (config, ops) = small();
    let mut graph = RustGc::new(&config).unwrap();
    let mut rng = SplitMix64::new(3);
    for _ in 0..ops {
        graph.replace(&mut rng);
    }
    assert!(!graph.collection_due());
    assert!(!graph.collect(Collect::Due));
    let hidden = graph.hidden_collections().unwrap();
    assert!(hidden > 0, "no collection ran inside {ops} operations");
    assert!(graph.collect(Collect::Full));
    assert_eq!(graph.hidden_collections(), Some(hidden));
    let counts = graph.counts();
    assert_eq!(counts.leaked(graph.census().nodes), 0, "{counts:?}");
    graph.verify().unwrap();
}

/// gc-arena's policy: pay the allocation debt in steps after operations, as a driver
/// would; the steps alone free garbage, with no forced collection.
#[test]
fn gc_arena_frees_garbage_by_paying_its_debt() {
    let (config, ops) = small();
    let mut graph = GcArena::new(&config).unwrap();
    let mut rng = SplitMix64::new(4);
    let mut steps = 0;
    for _ in 0..ops * 4 {
        graph.replace(&mut rng);
        if graph.collection_due() {
            assert!(graph.collect(Collect::Due));
            steps += 1;
        }
    }
    assert!(steps > 0, "no step was ever due");
    assert!(graph.counts().dropped > 0, "steps freed nothing");
    assert_eq!(graph.hidden_collections(), None);
    graph.verify().unwrap();
    let end = graph.teardown();
    assert_eq!((end.dropped, end.bad_drops), (end.created, 0));
}
