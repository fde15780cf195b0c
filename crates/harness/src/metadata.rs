//! Where and how a result file was produced: the machine, the kernel, the build.
//!
//! What the build knows (commit, compiler, profile, target) is captured by the binary's
//! build script and handed in as [`Build`]; what the machine knows is read here at run
//! time, from `/proc` on Linux. Anything that cannot be read is `"unknown"`, never
//! guessed.

use std::fs;
use std::time::SystemTime;

use reclaim_results::Metadata;

/// Facts fixed when the binary was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Build {
    /// The harness version.
    pub harness_version: String,
    /// The commit, `-dirty` when the tree had changes, or `unknown`.
    pub git_sha: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The cargo profile.
    pub profile: String,
    /// The target triple.
    pub target: String,
}

const UNKNOWN: &str = "unknown";

/// The metadata of a run starting now, of `command`, by a binary built as `build`.
pub fn collect(build: &Build, command: &str) -> Metadata {
    Metadata {
        harness_version: build.harness_version.clone(),
        git_sha: build.git_sha.clone(),
        rustc: build.rustc.clone(),
        profile: build.profile.clone(),
        target: build.target.clone(),
        host: host(),
        cpu_model: fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| cpu_model(&text))
            .unwrap_or_else(|| UNKNOWN.to_string()),
        cores: cores(),
        kernel: read_line("/proc/sys/kernel/osrelease"),
        started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        command: command.to_string(),
        emulation: reclaim_emulation::emulation(),
        load_average: crate::noise::load_average(),
        governor: crate::noise::governor(),
        scratch_dir: None,
        scratch_fs: None,
        allocators: Vec::new(),
    }
}

/// The type of the file system `path` is on (`ext4`, `xfs`, `tmpfs`, `overlay`, …), from
/// the mount in `/proc/self/mountinfo` with the longest mount point that contains it.
/// `None` where there is no such file, or `path` does not exist.
pub fn file_system(path: &std::path::Path) -> Option<String> {
    let path = fs::canonicalize(path).ok()?;
    file_system_in(&fs::read_to_string("/proc/self/mountinfo").ok()?, &path)
}

/// [`file_system`] from the text of a mountinfo file: `ID PARENT MAJ:MIN ROOT MOUNTPOINT
/// OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER`, mount points with spaces escaped as `\040`.
fn file_system_in(mountinfo: &str, path: &std::path::Path) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mount), Some(fs_type)) = (fields.get(4), fields.get(dash + 1)) else {
            continue;
        };
        let mount = mount.replace("\\040", " ");
        let depth = mount.len();
        if path.starts_with(&mount) && best.is_none_or(|(d, _)| depth >= d) {
            best = Some((depth, fs_type));
        }
    }
    best.map(|(_, fs_type)| fs_type.to_string())
}

/// File systems that live in memory: a "disk" row on one measures RAM.
pub fn in_memory(fs_type: &str) -> bool {
    matches!(fs_type, "tmpfs" | "ramfs")
}

/// Hardware threads this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The machine's host name.
pub fn host() -> String {
    let name = read_line("/proc/sys/kernel/hostname");
    if name != UNKNOWN {
        return name;
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| UNKNOWN.to_string())
}

fn read_line(path: &str) -> String {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| UNKNOWN.to_string())
}

/// The CPU model from `/proc/cpuinfo`. x86 says `model name`; ARM kernels say `model
/// name` per core (`ARMv7 Processor rev 4 (v7l)`) and name the board in `Model`
/// (`Raspberry Pi 4 Model B Rev 1.4`), which is the more useful of the two when present.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    let field = |key: &str| {
        cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
        })
    };
    match (field("Model"), field("model name")) {
        (Some(board), Some(cpu)) => Some(format!("{board} ({cpu})")),
        (Some(board), None) => Some(board),
        (None, Some(cpu)) => Some(cpu),
        (None, None) => field("Hardware").or_else(|| field("Processor")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_system_is_the_deepest_mount_holding_the_path() {
        let mountinfo = "\
22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:26 / /tmp rw,nosuid shared:9 - tmpfs tmpfs rw
31 22 0:27 / /work/a\\040b rw shared:10 - xfs /dev/vdb rw
";
        let at = |p: &str| file_system_in(mountinfo, std::path::Path::new(p));
        assert_eq!(at("/tmp/x/y").as_deref(), Some("tmpfs"));
        assert_eq!(at("/work/a b/results").as_deref(), Some("xfs"));
        assert_eq!(at("/home").as_deref(), Some("ext4"));
        // A name that only starts like a mount point is not under it.
        assert_eq!(at("/tmpfoo").as_deref(), Some("ext4"));
        assert!(in_memory("tmpfs") && !in_memory("ext4"));
        if std::path::Path::new("/proc/self/mountinfo").exists() {
            assert!(file_system(std::path::Path::new("/")).is_some());
        }
        assert_eq!(file_system(std::path::Path::new("/no/such/path")), None);
    }

    #[test]
    fn cpu_model_reads_x86_and_raspberry_pi_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            cpu_model(x86).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        let pi = "processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\nBogoMIPS\t: 38.40\n\n\
                  Hardware\t: BCM2835\nRevision\t: a02082\nModel\t\t: Raspberry Pi 3 Model B Rev 1.2\n";
        assert_eq!(
            cpu_model(pi).as_deref(),
            Some("Raspberry Pi 3 Model B Rev 1.2 (ARMv7 Processor rev 4 (v7l))")
        );
        assert_eq!(
            cpu_model("Hardware\t: BCM2835\n").as_deref(),
            Some("BCM2835")
        );
        assert_eq!(cpu_model("flags: fpu\n"), None);
    }

    #[test]
    fn collect_fills_every_field() {
        let build = Build {
            harness_version: "0.1.0".into(),
            git_sha: "abc".into(),
            rustc: "rustc 1".into(),
            profile: "release".into(),
            target: "x86_64-unknown-linux-gnu".into(),
        };
        let m = collect(&build, "reclaim-bench run");
        assert_eq!(m.git_sha, "abc");
        assert_eq!(m.command, "reclaim-bench run");
        assert!(m.cores >= 1);
        assert!(m.started_at.ends_with('Z'), "{}", m.started_at);
        assert!(!m.host.is_empty() && !m.kernel.is_empty() && !m.cpu_model.is_empty());
    }
}
