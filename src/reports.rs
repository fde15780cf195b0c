//! Where reports go when no path is given. A run's report is named after its result file
//! and sits beside it (`results/<stem>.json` → `results/<stem>.html`), so a second run
//! keeps the first's report as it keeps the first's result file, and `report-check.sh
//! results/<stem>.html results/<stem>.json` pairs them by name. `latest.html` in the same
//! directory refers to the newest run's report, for "open results/latest.html".
//!
//! `latest.html` is a relative symbolic link (`latest.html -> <stem>.html`) where the file
//! system allows one: a link costs no second copy of a report of a megabyte, `ls -l` shows
//! which run it is, it survives moving or archiving the directory (`pi.sh` fetches
//! `results/` with tar), and replacing it is one atomic rename. Where links are refused
//! (FAT and exFAT drives, some network shares, systems without them) it is a copy.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use reclaim_results::write_atomically;

/// The name of the newest run's report, in the directory of the reports.
pub const LATEST: &str = "latest.html";

/// The report named after the result file `result`, beside it: `result` with a final
/// `.json` replaced by `.html`, or `.html` added to another name (`run.html` gives
/// `run.html.html`: a report never takes its result file's name).
pub fn beside(result: &Path) -> PathBuf {
    let is_json = result
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        return result.with_extension("html");
    }
    let mut name = result.as_os_str().to_owned();
    name.push(".html");
    PathBuf::from(name)
}

/// `report`'s default for `files`: one file's report beside it, as `run` names it (so
/// `report results/x.json` renders results/x.html again); the report of several beside the
/// first, `<first>-and-<n>-more.html`.
pub fn for_files(files: &[PathBuf]) -> PathBuf {
    let first = files.first().map_or(Path::new("report.json"), |f| f);
    let report = beside(first);
    match files.len() {
        0 | 1 => report,
        n => {
            let stem = report.file_stem().unwrap_or_default().to_string_lossy();
            report.with_file_name(format!("{stem}-and-{}-more.html", n - 1))
        }
    }
}

/// Makes `latest.html` beside `report` refer to it: a relative link, replacing the last
/// one atomically, else a copy of `html` (the report's contents); nothing when the report
/// is itself named `latest.html`. Returns the path of `latest.html`; the error says why
/// neither a link nor a copy could be made, and leaves the report as it was.
pub fn point_latest(report: &Path, html: &[u8]) -> anyhow::Result<PathBuf> {
    let dir = reclaim_results::directory_of(report);
    let latest = dir.join(LATEST);
    let Some(name) = report.file_name() else {
        anyhow::bail!("{} is not a file name", report.display());
    };
    if name == LATEST {
        return Ok(report.to_path_buf());
    }
    // One name per process; a link left there by a killed process of the same id goes.
    let tmp = dir.join(format!(".{LATEST}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let linked = link(Path::new(name), &tmp).and_then(|()| fs::rename(&tmp, &latest));
    let Err(link_error) = linked else {
        return Ok(latest);
    };
    let _ = fs::remove_file(&tmp);
    match write_atomically(&latest, html) {
        Ok(()) => Ok(latest),
        Err(copy_error) => Err(anyhow::anyhow!(
            "cannot link it to {} ({link_error}), nor copy the report there ({:#})",
            name.to_string_lossy(),
            anyhow::Error::from(copy_error)
        )),
    }
}

/// A symbolic link at `at` to `target` (relative to `at`'s directory).
#[cfg(unix)]
fn link(target: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

/// No symbolic links here: `point_latest` copies.
#[cfg(not(unix))]
fn link(_target: &Path, _at: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no symbolic links on this system",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_named_after_its_result_file_and_never_takes_its_name() {
        let cases = [
            (
                "results/vm-x86_64-2026-12-03T141332Z.json",
                "results/vm-x86_64-2026-12-03T141332Z.html",
            ),
            ("run.JSON", "run.html"),
            ("run", "run.html"),
            ("run.html", "run.html.html"),
            ("dir.d/run.txt", "dir.d/run.txt.html"),
        ];
        for (result, report) in cases {
            assert_eq!(beside(Path::new(result)), PathBuf::from(report), "{result}");
        }
    }

    #[test]
    fn the_report_of_several_files_is_named_after_the_first() {
        let files = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(for_files(&files(&["r/a.json"])), PathBuf::from("r/a.html"));
        assert_eq!(
            for_files(&files(&["r/a.json", "pi/b.json", "c.json"])),
            PathBuf::from("r/a-and-2-more.html")
        );
    }

    #[test]
    fn latest_follows_the_newest_report_and_replaces_a_copy() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.html");
        let second = dir.path().join("b.html");
        fs::write(&first, "first").unwrap();
        fs::write(&second, "second").unwrap();
        let latest = point_latest(&first, b"first").unwrap();
        assert_eq!(latest, dir.path().join(LATEST));
        assert_eq!(fs::read_to_string(&latest).unwrap(), "first");
        #[cfg(unix)]
        {
            assert_eq!(fs::read_link(&latest).unwrap(), PathBuf::from("a.html"));
        }
        // A copy left by a file system without links is replaced by a link just as well.
        fs::remove_file(&latest).unwrap();
        fs::write(&latest, "an old copy").unwrap();
        point_latest(&second, b"second").unwrap();
        assert_eq!(fs::read_to_string(&latest).unwrap(), "second");
        assert_eq!(fs::read_to_string(&first).unwrap(), "first");
        let stray = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(stray, 0, "no temporary file left");
    }

    #[test]
    fn a_report_named_latest_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join(LATEST);
        fs::write(&report, "itself").unwrap();
        assert_eq!(point_latest(&report, b"itself").unwrap(), report);
        assert!(!fs::symlink_metadata(&report).unwrap().is_symlink());
    }

    #[test]
    fn when_latest_cannot_be_made_the_error_says_why_and_the_report_stays() {
        let dir = tempfile::tempdir().unwrap();
        // A directory with something in it where latest.html goes: neither a rename of the
        // link nor of a copy can replace it.
        fs::create_dir_all(dir.path().join(LATEST).join("inside")).unwrap();
        let report = dir.path().join("a.html");
        fs::write(&report, "kept").unwrap();
        let err = point_latest(&report, b"kept").unwrap_err().to_string();
        assert!(err.starts_with("cannot link it to a.html ("), "{err}");
        assert!(err.contains("nor copy the report there ("), "{err}");
        assert_eq!(fs::read_to_string(&report).unwrap(), "kept");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file left"
        );
    }
}
