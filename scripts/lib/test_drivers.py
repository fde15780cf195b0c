"""Tests of drivers.py's pure parts: `python3 -m unittest discover -s scripts/lib`."""

import os
import tempfile
import unittest

import drivers


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


class Cachegrind(unittest.TestCase):
    def test_summary_line_is_parsed(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.cachegrind.out")
            with open(path, "w", encoding="utf-8") as f:
                f.write("desc: I1 cache: 65536 B, 64 B, 16-way associative\n"
                        "cmd: x\nevents: Ir I1mr ILmr Dr D1mr\n"
                        "fl=a.rs\n1 5 0 0 2 1\nsummary: 100 3 2 40 4\n")
            totals = drivers.parse_cachegrind(path)
        self.assertEqual(totals, {"Ir": 100, "I1mr": 3, "ILmr": 2, "Dr": 40, "D1mr": 4})


if __name__ == "__main__":
    unittest.main()
