//! `reclaim-bench`: compare memory-reclamation schemes for lock-free structures.
//!
//! The binary is thin: the backends, the schemes and the registry live in `crates/`.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reclaim_core::Entry;

#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every registered backend with its structure, scheme, ordering and consumers.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Until the measurement harness lands, the main job is the listing.
    let result = match cli.command.unwrap_or(Command::List) {
        Command::List => list(&mut io::stdout().lock(), &reclaim_registry::entries()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`reclaim-bench list | head`) is not an error worth a message.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("reclaim-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the backend table: one row per backend, columns aligned.
fn list(out: &mut impl Write, entries: &[Entry]) -> io::Result<()> {
    let header = [
        "BACKEND",
        "STRUCTURE",
        "SCHEME",
        "ORDERING",
        "CONSUMERS",
        "BOUNDED",
        "SUMMARY",
    ];
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            [
                e.name.to_string(),
                e.info.structure.to_string(),
                e.info.scheme.to_string(),
                e.info.ordering.to_string(),
                e.info.consumers.to_string(),
                if e.info.bounded { "yes" } else { "no" }.to_string(),
                e.info.summary.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let header = header.map(String::from);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_has_a_row_per_backend_with_its_properties() {
        let entries = reclaim_registry::entries();
        let mut out = Vec::new();
        list(&mut out, &entries).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), entries.len() + 1, "header plus one row each");
        for (entry, line) in entries.iter().zip(&lines[1..]) {
            let cells: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(cells[0], entry.name);
            assert_eq!(cells[1], entry.info.structure);
            assert_eq!(cells[2], entry.info.scheme);
            assert_eq!(cells[3], entry.info.ordering.as_str());
            assert_eq!(cells[4], entry.info.consumers.to_string());
        }
        assert!(text.contains("msqueue-hp"));
    }
}
