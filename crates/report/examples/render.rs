//! Renders result files into a report without building the whole harness, for working
//! on the report itself:
//!
//! ```text
//! cargo run -p reclaim-report --example render -- OUT.html RESULT.json [RESULT.json…]
//! ```
//!
//! The comparison table goes to standard output.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use reclaim_report::{Input, compare_text, labels_for, render_html};
use reclaim_results::ResultFile;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let Some(output) = args.next() else {
        eprintln!("usage: render OUT.html RESULT.json [RESULT.json…]");
        return ExitCode::FAILURE;
    };
    let paths: Vec<PathBuf> = args.collect();
    let mut files = Vec::new();
    for path in &paths {
        match ResultFile::load(path) {
            Ok(file) => files.push(file),
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let named: Vec<(&Path, &ResultFile)> = paths.iter().map(PathBuf::as_path).zip(&files).collect();
    let labels = labels_for(&named);
    let inputs: Vec<Input> = labels
        .into_iter()
        .zip(files)
        .map(|(label, file)| Input { label, file })
        .collect();
    print!("{}", compare_text(&inputs));
    if let Err(error) = std::fs::write(&output, render_html(&inputs)) {
        eprintln!("{}: {error}", output.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {}", output.display());
    ExitCode::SUCCESS
}
