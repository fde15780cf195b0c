//! Captures what the binary cannot find out at run time: the commit it was built from,
//! the compiler, the profile and the target. Result files carry them as metadata.

use std::path::Path;
use std::process::Command;

/// What the binary is built from, relative to the workspace root.
const INPUTS: [&str; 7] = [
    "src",
    "crates",
    "benches",
    "tests",
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
];

fn main() {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let sha = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(sha) if !sha.is_empty() => {
            // Dirty: any change to what the build reads, new files included (a module not
            // yet added changes the binary as much as an edit does).
            let mut status = vec!["status", "--porcelain", "--untracked-files=normal", "--"];
            status.extend(INPUTS);
            let dirty = git(&status).is_some_and(|s| !s.is_empty());
            if dirty { format!("{sha}-dirty") } else { sha }
        }
        _ => "unknown".to_string(),
    };
    println!("cargo:rustc-env=RECLAIM_GIT_SHA={sha}");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RECLAIM_RUSTC={version}");
    for var in ["PROFILE", "TARGET"] {
        let value = std::env::var(var).unwrap_or_else(|_| "unknown".to_string());
        println!("cargo:rustc-env=RECLAIM_{var}={value}");
    }

    // Rerun when a build input changes, not only when `.git/index` moves: an edit that
    // was never staged must still make the binary `-dirty` (cargo scans directories
    // recursively for newer files).
    for input in INPUTS {
        if Path::new(input).exists() {
            println!("cargo:rerun-if-changed={input}");
        }
    }
    // And when the commit or the index moves, so the SHA stays true.
    for path in [".git/HEAD", ".git/index"] {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
        let reference = format!(".git/{head}");
        if Path::new(&reference).exists() {
            println!("cargo:rerun-if-changed={reference}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
