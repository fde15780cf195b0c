//! A set row from end to end, through the public API as `run` uses it: planned from a
//! selection, measured, and built into a result row with the set's parameters and its
//! garbage per operation and the nodes its operations visited.

mod common;

fn row(workload: &str) -> reclaim_results::Row {
    row_of("hmlist-ebr", workload)
}

fn row_of(backend: &str, workload: &str) -> reclaim_results::Row {
    common::row_of(backend, workload, Some(256))
}

#[test]
fn a_set_row_carries_its_mix_and_range_and_the_garbage_it_made() {
    let writes = row("write-heavy");
    assert!(writes.valid, "{:?}", writes.error);
    assert!(writes.is_set());
    assert_eq!(writes.counted_ops, 20_000);
    assert!(
        writes
            .roles
            .contains("0/50/50 % contains/insert/remove over 256 keys")
    );
    assert_eq!(writes.extra["keys"], 256.0);
    assert_eq!(writes.extra["mix_remove_pct"], 50.0);
    // Half the operations are removes, about half of which find their key: a quarter of
    // the operations retire a node.
    let per_op = writes.extra["retired_per_op"];
    assert!(
        (0.15..0.35).contains(&per_op),
        "{per_op} retired an operation"
    );

    let reads = row("read-only");
    assert!(reads.valid, "{:?}", reads.error);
    assert_eq!(reads.extra["retired_per_op"], 0.0, "readers retire nothing");
}

#[test]
fn a_set_row_carries_the_nodes_its_operations_visited_when_the_set_can_say() {
    // 256 keys, half of them in the list: a search for a key drawn uniformly passes
    // about half of the 128 nodes before it stops, so about 64 (a sample every 64
    // operations, about 300 of them: the mean is within a few nodes of that).
    let list = row("read-mostly");
    assert!(list.valid, "{:?}", list.error);
    let visited = list.extra["visited_per_op"];
    assert!(
        (32.0..96.0).contains(&visited),
        "{visited} nodes an operation"
    );

    // A lock around a `BTreeSet` cannot say how far its search went: no figure, rather
    // than a zero.
    let locked = row_of("rwlock-btreeset", "read-mostly");
    assert!(locked.valid, "{:?}", locked.error);
    assert!(locked.is_set());
    assert_eq!(locked.extra.get("visited_per_op"), None);
}
