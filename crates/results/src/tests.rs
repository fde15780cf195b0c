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
        load_average: None,
        governor: None,
        scratch_dir: None,
        scratch_fs: None,
        allocators: Vec::new(),
    }
}

fn file(rows: Vec<Row>) -> ResultFile {
    ResultFile {
        schema_version: SCHEMA_VERSION,
        metadata: metadata(),
        settings: RunSettings {
            suite: "quick".into(),
            duration_ms: 100,
            iterations: None,
            repeats: 3,
            seed: Some(7),
            ci_target_pct: None,
            max_time_s: None,
            sample_interval_ms: 5,
            latency_sample_every: 64,
            max_in_flight: 65_536,
            instrumented: true,
            pinned: Some(false),
        },
        rows,
    }
}

fn valid_row() -> Row {
    let mut row = Row::named("treiber-ebr", "treiber", "ebr", "pairs", 2);
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

/// Files from before `--allocator` ran everything on the system allocator: their rows
/// read as `system`, and their metadata names no allocators; nor did they set knobs.
#[test]
fn a_file_from_before_allocators_and_knobs_reads_as_system_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let mut row = valid_row();
    row.allocator = "jemalloc".into();
    row.tuning = Some(crate::Tuning {
        key: "batch-size".into(),
        value: 8,
    });
    let mut newer = file(vec![row]);
    newer.metadata.allocators = vec!["jemalloc".into()];
    newer.save(&path).unwrap();
    assert_eq!(ResultFile::load(&path).unwrap(), newer);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["rows"][0].as_object_mut().unwrap().remove("allocator");
    json["rows"][0].as_object_mut().unwrap().remove("tuning");
    json["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("allocators");
    std::fs::write(&path, json.to_string()).unwrap();
    let older = ResultFile::load(&path).unwrap();
    assert_eq!(older.rows[0].allocator, "system");
    assert_eq!(older.rows[0].tuning, None);
    assert!(older.metadata.allocators.is_empty());
}

/// A version 1 file (no rounds, ratios or intervals) still reads, with those absent.
#[test]
fn a_version_1_file_reads_without_ratios() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.json");
    let mut current = file(vec![valid_row()]);
    current.save(&path).unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["schema_version"] = 1.into();
    for field in ["seed", "ci_target_pct", "max_time_s"] {
        json["settings"].as_object_mut().unwrap().remove(field);
    }
    let row = json["rows"][0].as_object_mut().unwrap();
    row.remove("ratio");
    row.remove("rounds_ended");
    row["ops_per_sec"].as_object_mut().unwrap().remove("ci95");
    std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
    let read = ResultFile::load(&path).unwrap();
    assert_eq!(read.schema_version, 1);
    assert_eq!(read.settings.seed, None);
    assert_eq!(read.rows[0].ratio, None);
    assert_eq!(read.rows[0].ops_per_sec.unwrap().ci95, None);
    current.schema_version = 1;
    current.settings.seed = None;
    assert_eq!(read, current);
}

#[test]
fn ratios_are_paired_by_round_and_say_when_they_are_noise() {
    // Both halve in the third round: paired, the ratio does not move.
    let reference = [10.0, 10.0, 5.0, 10.0, 10.0, 10.0];
    let faster = [12.0, 12.5, 6.0, 11.5, 12.0, 12.2];
    let ratio = Ratio::paired("ref", &faster, &reference).unwrap();
    assert_eq!(ratio.rounds, 6);
    assert!((ratio.median - 1.2).abs() < 1e-9, "{ratio:?}");
    assert_eq!(ratio.ci95, Some([1.15, 1.25]));
    assert_eq!(ratio.verdict("row"), Verdict::Faster);
    assert_eq!(ratio.verdict("ref"), Verdict::Reference);
    let noisy = [11.0, 9.0, 5.5, 10.5, 9.5, 10.0];
    let ratio = Ratio::paired("ref", &noisy, &reference).unwrap();
    assert_eq!(ratio.verdict("row"), Verdict::WithinNoise);
    let slower = [5.0, 5.1, 2.4, 4.9, 5.0, 5.2];
    assert_eq!(
        Ratio::paired("ref", &slower, &reference)
            .unwrap()
            .verdict("row"),
        Verdict::Slower
    );
    // Three rounds: a median, no interval.
    let short = Ratio::paired("ref", &faster[..3], &reference[..3]).unwrap();
    assert_eq!(
        (short.ci95, short.verdict("row")),
        (None, Verdict::NoInterval)
    );
    // Unpaired or degenerate input gives no ratio.
    assert_eq!(Ratio::paired("ref", &faster[..2], &reference), None);
    assert_eq!(Ratio::paired("ref", &[1.0], &[0.0]), None);
    assert_eq!(Ratio::paired("ref", &[], &[]), None);
}

#[test]
fn interval_widths_are_relative_to_the_median() {
    let spread = Spread::of(&[90.0, 95.0, 100.0, 100.0, 104.0, 110.0]).unwrap();
    assert_eq!(spread.ci95, Some([90.0, 110.0]));
    assert!((spread.ci_half_width_pct().unwrap() - 10.0).abs() < 1e-9);
    assert_eq!(
        Spread::of(&[1.0, 2.0, 3.0]).unwrap().ci_half_width_pct(),
        None
    );
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
    assert!(matches!(err, ResultsError::Read { .. }), "{err}");
}

/// The message says which file and what was done to it; the operating system's reason is
/// the source, once, not repeated in the message.
#[test]
fn a_failed_write_names_the_file_and_keeps_the_cause_as_its_source() {
    use std::error::Error as _;
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: refused even to root.
    std::fs::write(dir.path().join("plain"), "").unwrap();
    let path = dir.path().join("plain").join("run.json");
    let err = file(vec![valid_row()]).save(&path).unwrap_err();
    assert!(matches!(err, ResultsError::Write { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("could not write {}", path.display())
    );
    let cause = err.source().expect("the operating system's reason");
    assert!(cause.downcast_ref::<io::Error>().is_some(), "{cause:?}");
    let err = ResultFile::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("could not read {}", path.display())
    );
    assert!(err.source().is_some());
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
fn csv_gives_a_graph_rows_pauses_and_leaves_them_empty_when_none_ran() {
    let pauses = |samples| Latency {
        p50: 3_000_000,
        p99: 9_000_000,
        p999: 9_500_000,
        max: 9_600_000,
        samples,
    };
    let mut collected = valid_row();
    collected.pauses_ns = Some(pauses(26));
    let mut none_ran = valid_row();
    none_ran.pauses_ns = Some(pauses(0));
    let mut out = Vec::new();
    write_csv(&file(vec![collected, none_ran, valid_row()]), &mut out).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(&rows[0][col("pauses")], "26");
    assert_eq!(&rows[0][col("pause_p99_ns")], "9000000");
    assert_eq!(&rows[0][col("pause_max_ns")], "9600000");
    for row in &rows[1..] {
        assert_eq!(&row[col("pauses")], "");
        assert_eq!(&row[col("pause_p50_ns")], "");
    }
}

#[test]
fn a_graph_rows_pauses_round_trip_and_other_rows_write_none() {
    let mut row = valid_row();
    assert!(!serde_json::to_string(&row).unwrap().contains("pauses_ns"));
    row.pauses_ns = Some(Latency {
        p50: 1,
        p99: 2,
        p999: 3,
        max: 4,
        samples: 5,
    });
    let back: Row = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
    assert_eq!(back.pauses_ns, row.pauses_ns);
}

#[test]
fn csv_ends_with_a_column_per_counter_in_the_canonical_order() {
    let mut out = Vec::new();
    write_csv(&file(vec![]), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let header: Vec<&str> = text.trim_end().split(',').collect();
    let counters = &header[header.len() - Counter::ALL.len()..];
    assert_eq!(counters, Counter::ALL.map(Counter::name));
    // The columns spreadsheets and scripts already read, in the order they had.
    assert_eq!(
        counters.join(","),
        "task-clock,context-switches,page-faults,cycles,instructions,branches,\
         branch-misses,cache-references,cache-misses"
    );
    assert_eq!(header[header.len() - Counter::ALL.len() - 1], "counted_ops");
}

#[test]
fn counters_per_operation_need_both_numbers() {
    let row = valid_row();
    assert_eq!(row.counter_per_op("task-clock"), Some(12.3));
    assert_eq!(row.counter_per_op("instructions"), None);
    assert_eq!(row.counter_per_op("cycles"), None);
}
