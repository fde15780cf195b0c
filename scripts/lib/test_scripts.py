"""Tests of the shell scripts' shared parts (common.sh): every script's --help, and where
the scripts look for what cargo builds. `python3 -m unittest discover -s scripts/lib`."""

import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

LIB = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(LIB)
COMMON = os.path.join(LIB, "common.sh")


def scripts():
    return sorted(os.path.join(SCRIPTS, name) for name in os.listdir(SCRIPTS)
                  if name.endswith(".sh"))


def write_executable(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


class Help(unittest.TestCase):
    """-h and --help print the usage and exit 0, and do nothing else: each script runs with
    a PATH that holds only what printing the usage needs (bash, sed, cat, dirname,
    basename), from an empty directory, so a script that went on to build, install or run
    anything fails for want of cargo, apt-get, valgrind or python3 instead of doing it."""

    def setUp(self):
        self.bin = tempfile.mkdtemp()
        self.cwd = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.bin)
        self.addCleanup(shutil.rmtree, self.cwd)
        for tool in ("bash", "sed", "cat", "dirname", "basename"):
            os.symlink(shutil.which(tool), os.path.join(self.bin, tool))

    def run_script(self, script, *args):
        return subprocess.run([script, *args], capture_output=True, text=True, timeout=60,
                              cwd=self.cwd, env={"PATH": self.bin}, check=False)

    def test_there_are_scripts(self):
        self.assertGreaterEqual(len(scripts()), 10)

    def test_every_script_prints_its_usage_and_exits_0(self):
        for script in scripts():
            for flag in ("--help", "-h"):
                with self.subTest(script=os.path.basename(script), flag=flag):
                    result = self.run_script(script, flag)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertEqual(result.stderr, "")
                    self.assertRegex(result.stdout, re.compile(r"^usage", re.I | re.M))
                    self.assertRegex(result.stdout, re.compile(r"^Example", re.M))

    def test_help_among_other_arguments_is_still_help(self):
        for script, args in [("compare.sh", ["a", "--help"]), ("pi.sh", ["--host", "x", "-h"]),
                             ("test-cross.sh", ["armv7-unknown-linux-gnueabihf", "--help"]),
                             ("cachegrind.sh", ["--pi3", "-b", "treiber-*", "--help"])]:
            with self.subTest(script=script):
                result = self.run_script(os.path.join(SCRIPTS, script), *args)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertRegex(result.stdout, re.compile(r"^Usage:", re.M))

    def test_an_unknown_option_is_a_usage_error(self):
        for script in ("perf.sh", "cachegrind.sh", "pi.sh", "instructions.sh", "miri.sh",
                       "setup-cross.sh"):
            with self.subTest(script=script):
                result = self.run_script(os.path.join(SCRIPTS, script), "--no-such-option")
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn("Usage: ", result.stderr)
                self.assertIn("--no-such-option", result.stderr)

    def test_cross_env_run_rather_than_sourced_says_so(self):
        result = self.run_script(os.path.join(SCRIPTS, "cross-env.sh"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("meant to be sourced", result.stderr)


@unittest.skipUnless(shutil.which("cargo"), "needs cargo")
class TargetDir(unittest.TestCase):
    """`cargo_target_dir` answers where cargo builds, as cargo resolves it."""

    def target_dir(self, cwd, **env):
        environment = {k: v for k, v in os.environ.items()
                       if k not in ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR")}
        environment.update(env)
        result = subprocess.run(["bash", "-c", 'source "$1" && cargo_target_dir', "bash", COMMON],
                                capture_output=True, text=True, timeout=120, cwd=cwd,
                                env=environment, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        return os.path.realpath(result.stdout.strip())

    def test_cargo_target_dir_is_honoured(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.target_dir(SCRIPTS, CARGO_TARGET_DIR=d), os.path.realpath(d))

    def test_a_relative_cargo_target_dir_is_where_cargo_runs(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.target_dir(d, CARGO_TARGET_DIR="build"),
                             os.path.realpath(os.path.join(d, "build")))

    def test_the_configured_target_dir_is_honoured(self):
        # build.target-dir, given here through cargo's environment form of the setting.
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.target_dir(SCRIPTS, CARGO_BUILD_TARGET_DIR=d),
                             os.path.realpath(d))


@unittest.skipUnless(shutil.which("cargo"), "needs cargo")
class BinaryLookup(unittest.TestCase):
    """The scripts look for reclaim-bench where cargo put it: under CARGO_TARGET_DIR, here a
    directory holding a stand-in binary that records how it was called. Stand-ins for the
    tools (valgrind, ssh) fail if called, and cargo answers `metadata` only: nothing is
    built, measured or copied."""

    def setUp(self):
        self.target = tempfile.mkdtemp()
        self.tools = tempfile.mkdtemp()
        self.cwd = tempfile.mkdtemp()
        for d in (self.target, self.tools, self.cwd):
            self.addCleanup(shutil.rmtree, d)
        self.calls = os.path.join(self.cwd, "calls")
        for tool in ("valgrind", "perf", "ssh", "scp"):
            write_executable(os.path.join(self.tools, tool), "#!/bin/sh\nexit 97\n")
        write_executable(os.path.join(self.tools, "cargo"),
                         f'#!/bin/sh\n[ "$1" = metadata ] && exec "{shutil.which("cargo")}" "$@"\n'
                         'echo "the test refuses: cargo $*" >&2\nexit 97\n')

    def stand_in(self, relative):
        path = os.path.join(self.target, relative, "reclaim-bench")
        os.makedirs(os.path.dirname(path))
        # Lists no backend, so a driver stops before running a tool.
        write_executable(path, f'#!/bin/sh\necho "$@" >>"{self.calls}"\n')
        return path

    def run_script(self, name, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PI_", "RECLAIM_"))}
        env.update(CARGO_TARGET_DIR=self.target, PATH=self.tools + os.pathsep + env["PATH"])
        return subprocess.run([os.path.join(SCRIPTS, name), *args], capture_output=True,
                              text=True, timeout=120, cwd=self.cwd, env=env, check=False)

    def test_a_driver_runs_the_binary_under_cargo_target_dir(self):
        self.stand_in("release")
        result = self.run_script("massif.sh", "-b", "treiber-ebr", "-o", self.cwd)
        self.assertTrue(os.path.exists(self.calls), f"the stand-in was not run: {result.stderr}")
        with open(self.calls, encoding="utf-8") as f:
            self.assertEqual(f.read().split(), ["list", "--names", "treiber-ebr"])

    def test_perf_sh_asks_perf_for_the_counters_the_binary_lists(self):
        # The binary selects one backend and names two counters no script spells out;
        # perf records how it was called and succeeds without running the binary.
        path = os.path.join(self.target, "release", "reclaim-bench")
        os.makedirs(os.path.dirname(path))
        write_executable(path, '#!/bin/sh\n'
                         'case "$1 $2" in\n'
                         '"list --names") echo treiber-ebr ;;\n'
                         '"list --counters") printf "alpha\\nbeta\\n" ;;\n'
                         '*) exit 97 ;;\n'
                         'esac\n')
        write_executable(os.path.join(self.tools, "perf"),
                         f'#!/bin/sh\necho "$@" >>"{self.calls}"\n')
        result = self.run_script("perf.sh", "-b", "treiber-ebr", "-o", self.cwd)
        self.assertTrue(os.path.exists(self.calls), f"perf was not run: {result.stderr}")
        with open(self.calls, encoding="utf-8") as f:
            perf_args = f.read().split()
        self.assertEqual(perf_args[:5], ["stat", "-x,", "-e", "alpha,beta", "-o"])
        # The summary then finds no result file (the stand-in wrote none) and says so.
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("treiber-ebr.pairs.1t.json", result.stderr)

    def test_pi_sh_takes_the_binary_from_cargo_target_dir(self):
        binary = self.stand_in("aarch64-unknown-linux-gnu/release")
        result = self.run_script("pi.sh", "--host", "pi.invalid", "--no-build", "--no-benches")
        # It stops at ssh (the stand-in fails), having named the binary it would copy.
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"--no-build: {binary}, built", result.stderr)


if __name__ == "__main__":
    unittest.main()


class InstructionsUpdate(unittest.TestCase):
    """`instructions.sh --update -b PATTERN` rewrites the lines of the backends it measured
    and keeps every other line of the baseline where it was."""

    def test_update_of_some_backends_keeps_the_others(self):
        work = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, work)
        baseline = os.path.join(work, "instructions.tsv")
        with open(baseline, "w", encoding="utf-8") as f:
            f.write("# header\n# columns\nalpha\t100.0\t2\nbeta\t200.0\t2\ngamma\t300.0\t5\n")
        measured = os.path.join(work, "measured")
        # beta measured twice, N then 2N: 1000 more iterations (a push and a pop each) cost
        # 250,000 refs each time.
        with open(measured, "w", encoding="utf-8") as f:
            f.write("beta 1000 500000 0\nbeta 2000 750000 0\n"
                    "beta 1000 500000 0\nbeta 2000 750000 0\n"
                    "delta 1000 100000 0\ndelta 2000 150000 0\n"
                    "delta 1000 100000 0\ndelta 2000 150000 0\n")
        subprocess.run(["python3", os.path.join(LIB, "drivers.py"), "instructions", baseline,
                        measured, "update"], check=True, capture_output=True)
        with open(baseline, encoding="utf-8") as f:
            rows = [line.split() for line in f if not line.startswith("#")]
        self.assertEqual(rows, [["alpha", "100.0", "2"], ["beta", "125.0", "2"],
                                ["gamma", "300.0", "5"], ["delta", "25.0", "2"]])
