//! Whether this process runs under qemu user mode, and how it starts binaries of its own
//! target when it does.
//!
//! # Why
//!
//! `cargo test --target armv7-unknown-linux-gnueabihf` on an x86_64 machine runs each
//! test binary through the target's `runner` (`.cargo/config.toml`: `qemu-arm -L
//! /usr/arm-linux-gnueabihf`). Qemu user mode translates the binary's instructions, but
//! passes `execve` to the kernel, which cannot run an ARM binary by itself: a test that
//! starts a child from an ARM binary (the binary under test, or its own executable, for a
//! fresh process) gets `ENOEXEC`, "Exec format error", unless binfmt_misc has qemu
//! registered — which cargo's runner does not need and many machines lack. Such a child
//! has to be started as cargo started its parent: through the same runner.
//!
//! # How
//!
//! [`Runner::from_env`] decides once, in this order:
//!
//! 1. the environment variable the caller names (`RECLAIM_TEST_RUNNER` for the tests,
//!    `RECLAIM_EXEC_RUNNER` for the binary), when set and not empty: a command line the
//!    child's path and arguments are appended to (cross-rs images use their own wrapper);
//! 2. when this process is emulated ([`emulation`]: the kernel's architecture is not one
//!    this binary runs on natively), the runner `.cargo/config.toml` gives cargo for this
//!    binary's target ([`configured_runner`]);
//! 3. otherwise nothing: the child is started directly.
//!
//! [`Runner::spawn`] and [`Runner::output`] start a child, or return a [`StartError`]
//! that names the whole command line, the reason and where the runner came from, so the
//! fix is in the message. They look for the program before starting it: under qemu user
//! mode a failed `execve` is no error from `spawn`, only a child that exits with 127.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// Whether this process is emulated, and how we know: the kernel's architecture
/// (`/proc/sys/kernel/arch`, which qemu user mode passes through unchanged, where `uname`
/// answers with the emulated one) is one this binary's instructions do not run on
/// natively. `None` when native or unknown.
pub fn emulation() -> Option<String> {
    foreign_kernel().map(|kernel| {
        format!(
            "{} binary on a {kernel} kernel (qemu user mode): timings mean nothing, \
             correctness checks still hold",
            std::env::consts::ARCH
        )
    })
}

/// The kernel's architecture, when this binary does not run on it natively.
fn foreign_kernel() -> Option<String> {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/arch").ok()?;
    let kernel = kernel.trim();
    (!runs_natively(kernel, std::env::consts::ARCH)?).then(|| kernel.to_owned())
}

/// Whether a kernel of one architecture (`uname -m`) runs a binary of another
/// (`target_arch`) natively; `None` for an architecture this does not know. An aarch64
/// kernel runs 32-bit ARM binaries natively (a Raspberry Pi OS with a 64-bit kernel and a
/// 32-bit userland), so that pair is native.
fn runs_natively(kernel: &str, binary: &str) -> Option<bool> {
    let family = |arch: &str| match arch {
        "x86_64" | "x86" | "i386" | "i486" | "i586" | "i686" => Some("x86"),
        "aarch64" | "arm64" => Some("aarch64"),
        a if a.starts_with("arm") => Some("arm"),
        _ => None,
    };
    Some(match (family(kernel)?, family(binary)?) {
        (k, b) if k == b => true,
        ("aarch64", "arm") => true,
        _ => false,
    })
}

/// The targets `.cargo/config.toml` gives a qemu `runner`, with that runner's command
/// line. Kept equal to the file (and to `runner_for` in scripts/cross-env.sh) by a test.
const CONFIGURED_RUNNERS: [(&str, &[&str]); 2] = [
    (
        "armv7-unknown-linux-gnueabihf",
        &["qemu-arm", "-L", "/usr/arm-linux-gnueabihf"],
    ),
    (
        "aarch64-unknown-linux-gnu",
        &["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"],
    ),
];

/// This binary's target, when it is one of [`CONFIGURED_RUNNERS`]' (the triple is not
/// known at run time; its parts are, as `cfg`s).
fn this_target() -> Option<&'static str> {
    if cfg!(all(
        target_arch = "arm",
        target_os = "linux",
        target_env = "gnu",
        target_abi = "eabihf"
    )) {
        Some("armv7-unknown-linux-gnueabihf")
    } else if cfg!(all(
        target_arch = "aarch64",
        target_os = "linux",
        target_env = "gnu"
    )) {
        Some("aarch64-unknown-linux-gnu")
    } else {
        None
    }
}

/// The runner `.cargo/config.toml` gives cargo for `target`: `qemu-arm -L
/// /usr/arm-linux-gnueabihf` for `armv7-unknown-linux-gnueabihf`. `None` for a target
/// it gives none.
pub fn configured_runner(target: &str) -> Option<&'static [&'static str]> {
    CONFIGURED_RUNNERS
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, words)| *words)
}

/// How this process starts binaries of its own target: directly, or through a runner
/// command line put before the binary's path. See the crate documentation for the order
/// it is chosen in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runner {
    /// The environment variable that overrides the choice, named in errors.
    var: &'static str,
    /// Put before the binary's path; empty to start the binary directly.
    words: Vec<String>,
    /// Why these words, for errors.
    origin: Origin,
    /// Whether this process is emulated, whatever the words' origin: then a child that
    /// cannot start is not an error from `spawn` (see [`Runner::output`]).
    emulated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Origin {
    /// From the environment variable.
    Variable,
    /// This process is emulated on a kernel of this architecture; the words are the
    /// configured runner, or empty when this target has none.
    Emulated { kernel: String },
    /// This process runs natively (or on a kernel this cannot place).
    Native,
}

impl Runner {
    /// The runner children of this process start through: `var`'s command line when it
    /// is set and not empty, else qemu's when this process is emulated, else none.
    pub fn from_env(var: &'static str) -> Self {
        Self::choose(
            var,
            std::env::var(var).ok().as_deref(),
            foreign_kernel(),
            this_target().and_then(configured_runner),
        )
    }

    /// [`Runner::from_env`] from what it reads: the variable's value, the kernel's
    /// architecture when this process is emulated, the configured runner for its target.
    fn choose(
        var: &'static str,
        value: Option<&str>,
        foreign_kernel: Option<String>,
        configured: Option<&[&str]>,
    ) -> Self {
        let words: Vec<String> = value
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let emulated = foreign_kernel.is_some();
        let (words, origin) = match foreign_kernel {
            _ if !words.is_empty() => (words, Origin::Variable),
            Some(kernel) => (
                configured
                    .unwrap_or_default()
                    .iter()
                    .map(|&w| w.to_owned())
                    .collect(),
                Origin::Emulated { kernel },
            ),
            None => (Vec::new(), Origin::Native),
        };
        Runner {
            var,
            words,
            origin,
            emulated,
        }
    }

    /// The command line put before a binary's path; empty when binaries start directly.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// A command that runs `exe` through this runner; arguments added to it go to `exe`.
    pub fn command(&self, exe: impl AsRef<OsStr>) -> Command {
        match self.words.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(exe);
                command
            }
            None => Command::new(exe),
        }
    }

    /// Starts `command` (from [`Runner::command`]), or says why it cannot.
    ///
    /// The program is looked for first ([`find_program`]): under qemu user mode `spawn`
    /// reports no failed `execve` — qemu runs the guest's `vfork` as a `fork`, so the
    /// error the child writes back never reaches the parent, and the child just exits
    /// with status 127 and nothing on stderr.
    pub fn spawn(&self, command: &mut Command) -> Result<Child, StartError> {
        find_program(command).map_err(|e| self.start_error(command, e))?;
        command.spawn().map_err(|e| self.start_error(command, e))
    }

    /// Runs `command` (from [`Runner::command`]) to its end and collects its output, or
    /// says why it could not start: as [`Runner::spawn`], and under emulation an exit
    /// status of 127 with nothing on stderr is taken for what it most likely is there, a
    /// child whose `execve` failed.
    pub fn output(&self, command: &mut Command) -> Result<Output, StartError> {
        find_program(command).map_err(|e| self.start_error(command, e))?;
        let output = command.output().map_err(|e| self.start_error(command, e))?;
        if self.emulated && output.status.code() == Some(127) && output.stderr.is_empty() {
            let error = io::Error::other(
                "it exited with status 127 and printed nothing, which under qemu user mode \
                 is how a child whose execve failed ends (qemu does not report the reason)",
            );
            return Err(self.start_error(command, error));
        }
        Ok(output)
    }

    /// Why `command` (from [`Runner::command`]) could not start: `error`, from `spawn`,
    /// `output` or `status`, with the command line and where the runner came from.
    pub fn start_error(&self, command: &Command, error: io::Error) -> StartError {
        let line = std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|word| {
                let word = word.to_string_lossy();
                if word.contains(char::is_whitespace) || word.is_empty() {
                    format!("{word:?}")
                } else {
                    word.into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        StartError {
            command: line,
            error,
            hint: self.hint(),
        }
    }

    /// Where the runner came from and what to do when it does not work.
    fn hint(&self) -> String {
        let var = self.var;
        let words = self.words.join(" ");
        match &self.origin {
            Origin::Variable => format!(
                "the runner `{words}` is {var}'s value: set {var} to a command line that \
                 starts this target's binaries, or unset it"
            ),
            Origin::Emulated { kernel } if !words.is_empty() => format!(
                "this {arch} process runs under qemu user mode on a {kernel} kernel, which \
                 cannot start {arch} binaries by itself, so children start through `{words}`, \
                 the runner .cargo/config.toml gives cargo: install it (scripts/setup-cross.sh) \
                 or set {var} to a command line that starts this target's binaries",
                arch = std::env::consts::ARCH
            ),
            Origin::Emulated { kernel } => format!(
                "this {arch} process runs under emulation on a {kernel} kernel, which cannot \
                 start {arch} binaries by itself (Exec format error, unless binfmt_misc \
                 registers qemu), and .cargo/config.toml names no runner for its target: set \
                 {var} to a command line that starts them (`qemu-{arch} -L SYSROOT`)",
                arch = std::env::consts::ARCH
            ),
            Origin::Native => format!(
                "if this machine cannot start this target's binaries by itself (Exec format \
                 error), set {var} to a command line that does (`qemu-arm -L \
                 /usr/arm-linux-gnueabihf` for armv7)"
            ),
        }
    }
}

/// Checks that `command`'s program is an executable file: the path it names, or the
/// first of that name on `PATH` (the command's own `PATH` when it sets one).
pub fn find_program(command: &Command) -> io::Result<PathBuf> {
    let program = Path::new(command.get_program());
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 {
        return if executable(program) {
            Ok(program.to_path_buf())
        } else if program.exists() {
            let message = format!("{} is not an executable file", program.display());
            Err(io::Error::new(io::ErrorKind::PermissionDenied, message))
        } else {
            let message = format!("no such file as {}", program.display());
            Err(io::Error::new(io::ErrorKind::NotFound, message))
        };
    }
    let path = command
        .get_envs()
        .find(|(key, _)| *key == "PATH")
        .and_then(|(_, value)| value.map(OsStr::to_owned))
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
        .ok_or_else(|| {
            let message = format!("no {} on PATH", program.display());
            io::Error::new(io::ErrorKind::NotFound, message)
        })
}

/// A child process that could not start: its command line, the operating system's reason,
/// and what to do about it.
#[derive(Debug)]
pub struct StartError {
    command: String,
    error: io::Error,
    hint: String,
}

impl StartError {
    /// The operating system's reason.
    pub fn io_error(&self) -> &io::Error {
        &self.error
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot start `{}`: {}; {}",
            self.command, self.error, self.hint
        )
    }
}

impl std::error::Error for StartError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_is_native_on_its_own_kernel_and_32_bit_arm_on_aarch64() {
        for (kernel, binary) in [
            ("x86_64", "x86_64"),
            ("aarch64", "aarch64"),
            ("aarch64", "arm"),
            ("armv7l", "arm"),
            ("armv6l", "arm"),
        ] {
            assert_eq!(
                runs_natively(kernel, binary),
                Some(true),
                "{kernel} {binary}"
            );
        }
        for (kernel, binary) in [
            ("x86_64", "arm"),
            ("x86_64", "aarch64"),
            ("armv7l", "aarch64"),
        ] {
            assert_eq!(
                runs_natively(kernel, binary),
                Some(false),
                "{kernel} {binary}"
            );
        }
        assert_eq!(runs_natively("riscv64", "arm"), None);
    }

    #[test]
    fn emulation_is_none_on_the_machine_the_tests_are_built_for() {
        // Natively run (the usual `cargo test`), this process is not emulated; under qemu
        // it is, and says on which kernel.
        match emulation() {
            None => assert!(foreign_kernel().is_none()),
            Some(said) => {
                let kernel = foreign_kernel().expect("emulated means a foreign kernel");
                assert!(
                    said.contains(&kernel) && said.contains(std::env::consts::ARCH),
                    "{said}"
                );
            }
        }
    }

    const ARM: &[&str] = &["qemu-arm", "-L", "/usr/arm-linux-gnueabihf"];

    #[test]
    fn the_variable_wins_then_the_configured_runner_when_emulated() {
        let from_var = Runner::choose(
            "V",
            Some(" /linux-runner  armv7 "),
            Some("x86_64".into()),
            Some(ARM),
        );
        assert_eq!(from_var.words(), ["/linux-runner", "armv7"]);

        let emulated = Runner::choose("V", Some(""), Some("x86_64".into()), Some(ARM));
        assert_eq!(emulated.words(), ARM);
        let unset = Runner::choose("V", None, Some("x86_64".into()), Some(ARM));
        assert_eq!(unset, emulated);

        let native = Runner::choose("V", None, None, Some(ARM));
        assert!(native.words().is_empty());
        let unknown = Runner::choose("V", None, Some("x86_64".into()), None);
        assert!(unknown.words().is_empty());
    }

    #[test]
    fn a_command_puts_the_runner_before_the_binary_and_its_arguments() {
        let runner = Runner::choose("V", None, Some("x86_64".into()), Some(ARM));
        let mut command = runner.command("/t/exe");
        command.arg("run");
        assert_eq!(command.get_program(), "qemu-arm");
        let args: Vec<&OsStr> = command.get_args().collect();
        assert_eq!(args, ["-L", "/usr/arm-linux-gnueabihf", "/t/exe", "run"]);

        let direct = Runner::choose("V", None, None, Some(ARM)).command("/t/exe");
        assert_eq!(direct.get_program(), "/t/exe");
        assert_eq!(direct.get_args().count(), 0);
    }

    #[test]
    fn a_start_error_names_the_command_the_reason_and_the_variable() {
        for (runner, says) in [
            (
                Runner::choose("V", Some("qemu-nope"), None, None),
                "V's value",
            ),
            (
                // A runner that is not installed (qemu-arm may well be).
                Runner::choose("V", None, Some("x86_64".into()), Some(&["no-such-qemu"])),
                ".cargo/config.toml gives cargo",
            ),
            (
                Runner::choose("V", None, Some("x86_64".into()), None),
                "names no runner",
            ),
            (
                Runner::choose("V", None, None, Some(ARM)),
                "Exec format error",
            ),
        ] {
            let mut command = runner.command("/no such/exe");
            command.arg("run");
            let said = runner
                .output(&mut command)
                .expect_err("nothing of that name starts")
                .to_string();
            let line = match runner.words() {
                [] => "\"/no such/exe\" run".to_owned(),
                words => format!("{} \"/no such/exe\" run", words.join(" ")),
            };
            assert!(
                said.starts_with(&format!("cannot start `{line}`: ")),
                "{said}"
            );
            let reason = match runner.words().first() {
                Some(program) => format!("no {program} on PATH"),
                None => "no such file as /no such/exe".to_owned(),
            };
            assert!(said.contains(&reason), "{reason}: {said}");
            assert!(said.contains("set V to"), "{said}");
            assert!(said.contains(says), "{says}: {said}");
        }
    }

    #[test]
    fn a_program_is_found_by_path_or_on_path() {
        let sh = Command::new("sh");
        assert!(find_program(&sh).unwrap().ends_with("sh"));
        let mut nowhere = Command::new("sh");
        nowhere.env("PATH", "/nonexistent");
        assert_eq!(
            find_program(&nowhere).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let dir = std::env::temp_dir();
        assert_eq!(
            find_program(&Command::new(&dir)).unwrap_err().kind(),
            io::ErrorKind::PermissionDenied,
            "a directory is no program"
        );
        let exe = std::env::current_exe().unwrap();
        assert_eq!(find_program(&Command::new(&exe)).unwrap(), exe);
    }

    #[test]
    fn under_emulation_a_silent_127_is_a_child_that_could_not_start() {
        let emulated = Runner::choose("V", Some("sh -c"), Some("x86_64".into()), None);
        let mut command = emulated.command("exit 127");
        let said = emulated.output(&mut command).unwrap_err().to_string();
        assert!(said.contains("status 127 and printed nothing"), "{said}");
        // Natively, a 127 is what the child said it is.
        let native = Runner::choose("V", Some("sh -c"), None, None);
        let out = native.output(&mut native.command("exit 127")).unwrap();
        assert_eq!(out.status.code(), Some(127));
    }

    /// The table here is what `.cargo/config.toml` gives cargo, and what
    /// scripts/cross-env.sh gives the cross scripts: a runner changed in one place and not
    /// the others would start the tests one way and their children another.
    #[test]
    fn the_configured_runners_are_the_cargo_configs_and_the_scripts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let config = std::fs::read_to_string(root.join(".cargo/config.toml")).unwrap();
        let script = std::fs::read_to_string(root.join("scripts/cross-env.sh")).unwrap();
        for (target, words) in CONFIGURED_RUNNERS {
            let section = format!("[target.{target}]");
            let start = config.find(&section).unwrap_or_else(|| panic!("{section}"));
            let body = &config[start + section.len()..];
            let body = &body[..body.find("\n[").unwrap_or(body.len())];
            let quoted: Vec<String> = words.iter().map(|w| format!("{w:?}")).collect();
            let runner = format!("runner = [{}]", quoted.join(", "));
            assert!(
                body.contains(&runner),
                "{section} has no `{runner}`: {body}"
            );

            let case = format!("{target}) echo \"{}\" ;;", words.join(" "));
            assert!(script.contains(&case), "cross-env.sh has no `{case}`");
        }
        assert_eq!(
            config.matches("runner = ").count(),
            CONFIGURED_RUNNERS.len(),
            "a runner in .cargo/config.toml this crate does not know"
        );
    }
}
