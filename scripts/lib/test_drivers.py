"""Tests of drivers.py's pure parts: `python3 -m unittest discover -s scripts/lib`."""

import os
import tempfile
import unittest

import drivers


def parse_written(name, text, parse, *args):
    """`parse(path, *args)` of a temporary file `name` holding `text`."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return parse(path, *args)


class Simulable(unittest.TestCase):
    def sets(self, geometry):
        size, ways, line = geometry
        self.assertEqual(size % (ways * line), 0)
        return size // (ways * line)

    def test_power_of_two_geometry_is_kept(self):
        for cache in [(49152, 12, 64), (65536, 16, 64), (524288, 16, 64), (16384, 2, 64)]:
            self.assertEqual(drivers.simulable(*cache), (cache, None))

    def test_vm_last_level_moves_associativity_keeping_size(self):
        # This CI machine's L3 as KVM reports it: 480 MiB, 16-way, 491,520 sets.
        geometry, note = drivers.simulable(503316480, 16, 64)
        self.assertEqual(geometry, (503316480, 15, 64))
        self.assertTrue(drivers.is_power_of_two(self.sets(geometry)))
        self.assertIn("15-way", note)

    def test_nearest_associativity_wins(self):
        # 12 MiB, 16-way: 12,288 sets. 12-way gives 2^14, 24-way 2^13; 12 is nearer.
        geometry, _ = drivers.simulable(12 * 1024 * 1024, 16, 64)
        self.assertEqual(geometry, (12 * 1024 * 1024, 12, 64))

    def test_no_associativity_fits_so_sets_round_down(self):
        # 1000 lines of 64 bytes, 1-way: no way count up to 2 divides into a power of two.
        geometry, note = drivers.simulable(64000, 1, 64)
        self.assertEqual(geometry, (512 * 64, 1, 64))
        self.assertIn("512 sets", note)


class Perf(unittest.TestCase):
    def test_the_events_given_are_read_in_their_order_and_the_others_left_out(self):
        counts, reasons = parse_written(
            "x.perf.csv",
            "# started on today\n\n"
            "12.5,msec,task-clock,12500000,100.00,,\n"
            "<not supported>,,cycles:u,0,100.00,,\n"
            "3,,cpu-migrations,12500000,100.00,,\n"
            "7,,page-faults:u,12500000,100.00,,\n",
            drivers.parse_perf_csv,
            ["page-faults", "task-clock", "cycles", "branches"])
        self.assertEqual(list(counts), ["page-faults", "task-clock", "cycles", "branches"])
        self.assertEqual(counts, {"page-faults": 7.0, "task-clock": 12.5, "cycles": None,
                                  "branches": None})
        self.assertEqual(reasons, {"cycles": "not supported",
                                   "branches": "not in perf's output"})


class Cachegrind(unittest.TestCase):
    def test_summary_line_is_parsed(self):
        totals = parse_written(
            "x.cachegrind.out",
            "desc: I1 cache: 65536 B, 64 B, 16-way associative\n"
            "cmd: x\nevents: Ir I1mr ILmr Dr D1mr\n"
            "fl=a.rs\n1 5 0 0 2 1\nsummary: 100 3 2 40 4\n",
            drivers.parse_cachegrind)
        self.assertEqual(totals, {"Ir": 100, "I1mr": 3, "ILmr": 2, "Dr": 40, "D1mr": 4})


class Instructions(unittest.TestCase):
    MEASURED = (
        "treiber-ebr 20000 14,509,593 0\n"
        "treiber-ebr 40000 27,869,675 0\n"
        "treiber-sweep 20000 60737699 1\n"
        "treiber-sweep 40000 124973812 1\n"
        "treiber-sweep 20000 63762903 1\n"
        "treiber-sweep 40000 122179249 1\n"
    )

    def test_the_difference_of_two_counts_is_per_extra_operation(self):
        figures, helpers = drivers.parse_measured(self.MEASURED)
        self.assertEqual(helpers, {"treiber-ebr": False, "treiber-sweep": True})
        # (27,869,675 - 14,509,593) / (2 x 20,000 extra pairs' operations)
        self.assertAlmostEqual(figures["treiber-ebr"][0], 334.002, places=3)
        self.assertEqual(len(figures["treiber-sweep"]), 2)

    def test_tolerance_grows_with_the_spread_of_repeated_measurements(self):
        self.assertEqual(drivers.tolerance([334.0, 334.0]), drivers.MIN_TOLERANCE_PCT)
        self.assertEqual(
            drivers.tolerance([961.0, 962.0], helper_thread=True),
            drivers.HELPER_THREAD_TOLERANCE_PCT,
        )
        # 1605.7 and 1460.4 differ by 9.48% of their mean: three times that.
        self.assertAlmostEqual(drivers.tolerance([1605.7, 1460.4]), 28.4, places=1)

    def test_a_change_beyond_the_tolerance_fails_and_a_new_backend_is_named(self):
        baseline = {"treiber-ebr": (320.0, 2.0), "gone": (1.0, 2.0)}
        figures, _ = drivers.parse_measured(self.MEASURED)
        lines, failed = drivers.check_instructions(baseline, figures)
        text = "\n".join(lines)
        self.assertIn("+4.4%", text)
        self.assertIn("CHANGED", text)
        self.assertIn("not measured", text)
        self.assertEqual(failed, ["treiber-ebr", "treiber-sweep"])
        within = {"treiber-ebr": (330.0, 2.0), "treiber-sweep": (1533.0, 28.3)}
        self.assertEqual(drivers.check_instructions(within, figures)[1], [])

    def test_an_odd_number_of_runs_is_refused(self):
        with self.assertRaises(SystemExit):
            drivers.parse_measured("a 1 10 0\n")


if __name__ == "__main__":
    unittest.main()
