use super::*;

fn metadata() -> Metadata {
    Metadata {
        harness_version: "0.1.0".into(),
        git_sha: "abc123".into(),
        rustc: "rustc 1.95.0".into(),
        profile: "release".into(),
        target: "x86_64-unknown-linux-gnu".into(),
        host: "box".into(),
        cpu_model: "Some CPU".into(),
        cores: 2,
        kernel: "6.1.0".into(),
        started_at: "2026-11-23T10:00:00Z".into(),
        command: "reclaim-bench".into(),
        emulation: None,
    }
}

fn file(rows: Vec<Row>) -> ResultFile {
    ResultFile {
        schema_version: SCHEMA_VERSION,
        metadata: metadata(),
        settings: RunSettings {
            suite: "quick".into(),
            duration_ms: 100,
            repeats: 3,
            sample_interval_ms: 5,
            latency_sample_every: 64,
            max_in_flight: 65_536,
            instrumented: true,
        },
        rows,
    }
}

fn valid_row() -> Row {
    let mut row = Row::empty();
    row.backend = "treiber-ebr".into();
    row.structure = "treiber".into();
    row.scheme = "ebr".into();
    row.workload = "pairs".into();
    row.threads = 2;
    row.valid = true;
    row.ops_per_sec = Spread::of(&[1.0e6, 2.0e6, 3.0e6]);
    row.latency_ns = Some(Latency {
        p50: 40,
        p99: 90,
        p999: 400,
        max: 9000,
        samples: 1000,
    });
    row.counters.insert("task-clock".into(), Some(123));
    row.counters.insert("instructions".into(), None);
    row.counter_errors
        .insert("instructions".into(), "unsupported".into());
    row.counted_ops = 10;
    row
}

#[test]
fn spread_takes_the_median_and_the_variation() {
    let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
    assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
    // Population standard deviation of 1,2,3 is sqrt(2/3); the mean is 2.
    assert!((s.cv - (2.0_f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
    assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
    assert_eq!(Spread::of(&[5.0]).unwrap().cv, 0.0);
    assert_eq!(Spread::of(&[]), None);
    assert_eq!(Spread::of(&[1.0, f64::NAN]), None);
}

#[test]
fn a_file_round_trips_through_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let mut invalid = Row::empty();
    invalid.backend = "broken".into();
    invalid.error = Some("checksum mismatch".into());
    let original = file(vec![valid_row(), invalid]);
    original.save(&path).unwrap();
    assert_eq!(ResultFile::load(&path).unwrap(), original);
    // Absent numbers are written as null, not 0.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"instructions\": null"), "{text}");
    assert!(text.contains("\"ops_per_sec\": null"), "{text}");
}

#[test]
fn a_file_from_before_the_emulation_field_reads_as_native() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let mut emulated = file(vec![valid_row()]);
    emulated.metadata.emulation = Some("arm binary on a x86_64 kernel".into());
    emulated.save(&path).unwrap();
    assert_eq!(ResultFile::load(&path).unwrap(), emulated);
    let older = std::fs::read_to_string(&path).unwrap().replace(
        "\"emulation\": \"arm binary on a x86_64 kernel\"",
        "\"old\": 1",
    );
    assert!(!older.contains("\"emulation\""));
    std::fs::write(&path, older).unwrap();
    assert_eq!(ResultFile::load(&path).unwrap().metadata.emulation, None);
}

#[test]
fn another_schema_version_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.json");
    std::fs::write(&path, r#"{"schema_version": 0, "rows": "whatever"}"#).unwrap();
    let err = ResultFile::load(&path).unwrap_err().to_string();
    assert!(err.contains("schema version 0"), "{err}");
    assert!(err.contains("old.json"), "{err}");
}

#[test]
fn a_file_that_is_not_a_result_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.json");
    std::fs::write(&path, "{\"schema_version\": 1, \"rows\": [").unwrap();
    let err = ResultFile::load(&path).unwrap_err();
    assert!(matches!(err, ResultsError::Parse { .. }), "{err}");
    let err = ResultFile::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(matches!(err, ResultsError::Io { .. }), "{err}");
}

#[test]
fn a_failed_save_keeps_the_old_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    file(vec![valid_row()]).save(&path).unwrap();
    // A directory where the temporary file should go makes the write fail part way.
    let blocked = dir
        .path()
        .join(format!(".run.json.tmp-{}", std::process::id()));
    std::fs::create_dir(&blocked).unwrap();
    assert!(file(vec![]).save(&path).is_err());
    assert_eq!(ResultFile::load(&path).unwrap().rows.len(), 1);
    std::fs::remove_dir(&blocked).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn csv_has_one_line_per_row_and_empty_cells_for_absent_numbers() {
    let mut invalid = Row::empty();
    invalid.backend = "broken".into();
    invalid.error = Some("checksum mismatch, 3 values lost".into());
    let mut out = Vec::new();
    write_csv(&file(vec![valid_row(), invalid]), &mut out).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][col("backend")], "treiber-ebr");
    assert_eq!(&rows[0][col("ops_per_sec_median")], "2000000");
    assert_eq!(&rows[0][col("task-clock")], "123");
    assert_eq!(&rows[0][col("instructions")], "");
    assert_eq!(&rows[1][col("valid")], "false");
    assert_eq!(&rows[1][col("ops_per_sec_median")], "");
    assert_eq!(&rows[1][col("error")], "checksum mismatch, 3 values lost");
}

#[test]
fn counters_per_operation_need_both_numbers() {
    let row = valid_row();
    assert_eq!(row.counter_per_op("task-clock"), Some(12.3));
    assert_eq!(row.counter_per_op("instructions"), None);
    assert_eq!(row.counter_per_op("cycles"), None);
}
