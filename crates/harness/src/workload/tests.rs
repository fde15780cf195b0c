use super::*;
use reclaim_core::{Consumers, ItemOrder};

fn info(consumers: Consumers) -> Info {
    Info {
        structure: "s",
        scheme: "x",
        ordering: ItemOrder::Fifo,
        consumers,
        bounded: false,
        summary: "",
        settings: "",
        knobs: &[],
    }
}

#[test]
fn shapes_give_every_thread_a_role() {
    let many = info(Consumers::Many);
    for workload in Workload::ALL {
        for threads in 1..=9 {
            if let Ok(shape) = workload.shape(&many, threads, 2) {
                assert_eq!(shape.threads(), threads, "{workload} at {threads}");
            }
        }
    }
    let prodcons = Workload::Prodcons.shape(&many, 5, 2).unwrap();
    assert_eq!((prodcons.producers, prodcons.consumers), (3, 2));
    let stalled = Workload::Stalled.shape(&many, 4, 2).unwrap();
    assert_eq!((stalled.pairs, stalled.stalled), (3, 1));
    assert_eq!(prodcons.to_string(), "3 producers + 2 consumers");
}

#[test]
fn impossible_combinations_say_why() {
    let one = info(Consumers::One);
    let many = info(Consumers::Many);
    let err = Workload::Prodcons.shape(&one, 4, 2).unwrap_err();
    assert!(
        matches!(err, ShapeError::TooManyConsumers { shape, .. } if shape.poppers() == 2),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "2 producers + 2 consumers means 2 threads popping at once, and this backend allows \
         one consumer"
    );
    assert!(
        Workload::Prodcons.shape(&one, 2, 2).is_ok(),
        "one producer, one consumer"
    );
    assert!(Workload::Pairs.shape(&one, 1, 2).is_ok());
    assert!(Workload::Pairs.shape(&one, 2, 2).is_err());
    let too_few = |err| matches!(err, Err(ShapeError::TooFewThreads { needs: 2, .. }));
    assert!(too_few(Workload::Mpsc.shape(&many, 1, 2)));
    assert!(too_few(Workload::Stalled.shape(&many, 1, 2)));
    assert_eq!(
        Workload::Handoff.shape(&many, 2, 2),
        Err(ShapeError::NotABackendWorkload)
    );
    assert_eq!(
        Workload::Pairs.shape(&many, 0, 2),
        Err(ShapeError::NoThreads)
    );
}

#[test]
fn oversubscription_runs_above_the_core_count_only() {
    let many = info(Consumers::Many);
    let one = info(Consumers::One);
    assert!(Workload::Oversubscription.shape(&many, 2, 2).is_err());
    assert_eq!(
        Workload::Oversubscription.shape(&many, 4, 2).unwrap().pairs,
        4
    );
    // A one-consumer backend oversubscribes with producers.
    let shape = Workload::Oversubscription.shape(&one, 4, 2).unwrap();
    assert_eq!((shape.producers, shape.consumers), (3, 1));
    assert_eq!(
        Workload::Oversubscription.thread_counts(&[1, 2, 4], 2),
        vec![4]
    );
    assert_eq!(
        Workload::Oversubscription.thread_counts(&[1, 2], 2),
        vec![4]
    );
    assert_eq!(
        Workload::Oversubscription.thread_counts(&[1, 2, 4], 4),
        vec![8]
    );
    assert_eq!(
        Workload::Oversubscription.thread_counts(&[3, 6], 2),
        vec![3, 6]
    );
    assert_eq!(Workload::Pairs.thread_counts(&[1, 2, 4], 2), vec![1, 2, 4]);
}

#[test]
fn names_parse_back_and_unknown_ones_list_the_valid() {
    for workload in Workload::ALL {
        assert_eq!(workload.name().parse(), Ok(workload));
    }
    let err = "pair".parse::<Workload>().unwrap_err();
    assert_eq!(err.name, "pair");
    let err = err.to_string();
    assert!(err.contains("unknown workload `pair`"), "{err}");
    assert!(
        err.contains("pairs, prodcons, mpsc, stalled, oversubscription, handoff"),
        "{err}"
    );
}
