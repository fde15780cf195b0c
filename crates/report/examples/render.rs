//! Renders result files into a report without building the whole harness, for working
//! on the report itself:
//!
//! ```text
//! cargo run -p reclaim-report --example render -- OUT.html RESULT.json [RESULT.json…]
//! ```
//!
//! The comparison table goes to standard output.

use std::path::PathBuf;
use std::process::ExitCode;

use reclaim_report::{Input, compare_text, label_for, render_html};
use reclaim_results::ResultFile;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let Some(output) = args.next() else {
        eprintln!("usage: render OUT.html RESULT.json [RESULT.json…]");
        return ExitCode::FAILURE;
    };
    let mut inputs = Vec::new();
    for path in args {
        match ResultFile::load(&path) {
            Ok(file) => inputs.push(Input {
                label: label_for(&file),
                file,
            }),
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        }
    }
    print!("{}", compare_text(&inputs));
    if let Err(error) = std::fs::write(&output, render_html(&inputs)) {
        eprintln!("{}: {error}", output.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {}", output.display());
    ExitCode::SUCCESS
}
