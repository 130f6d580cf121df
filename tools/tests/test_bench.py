"""Tests of tools/bench's judgement of throughput targets by ratios to raw LMDB.

Run from the repository root:  python3 -m unittest discover -s tools/tests -v
Standard library only; no benchmark is run.
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tool_loader import load_tool  # noqa: E402

bench = load_tool("bench", "sunledger_bench")


def section(*figures):
    return bench.Section("s", "", list(figures), [])


def figure(key, value, events, unit="/s"):
    return bench.Figure(key, key, value, unit, None, events)


class RatioSummaryTests(unittest.TestCase):
    def rows(self, lines):
        return [line for line in lines if line.startswith("| ") and not line.startswith("| figure")]

    def test_a_rate_meets_its_target_by_ratio_when_its_ratio_reaches_the_targets(self):
        needed = bench.IMPORT_TARGET / bench.LIMITS_APPEND_PER_SEC  # about 0.081
        half = bench.LIMITS_APPEND_PER_SEC / 2
        lines = bench.ratio_summary([section(
            figure("importPerSec", 95_000, 1_000_000),
            figure("importVsAppend", needed + 0.001, 1_000_000, "x"),
            figure("baselineAppendPerSec", half, 1_000_000),
            figure("importPerSec", 80_000, 5_000_000),
            figure("importVsAppend", needed - 0.001, 5_000_000, "x"),
            figure("baselineAppendPerSec", half, 5_000_000),
        )])
        rows = self.rows(lines)
        self.assertEqual(len(rows), 2)
        self.assertIn("| 1,000,000 |", rows[0])
        self.assertTrue(rows[0].endswith("| 0.50× | pass |"), rows[0])
        self.assertIn(f"≥ {needed:.3f}× (150,000 ÷ 1,860,000)", rows[0])
        self.assertIn("| 5,000,000 |", rows[1])
        self.assertTrue(rows[1].endswith("| **FAIL** |"), rows[1])
        self.assertIn("1 of 2 met by ratio.", lines)

    def test_verify_and_rebuild_are_set_against_the_scan(self):
        lines = bench.ratio_summary([section(
            figure("verifyPerSec", 380_000, 1_000_000),
            figure("verifyVsScan", 0.075, 1_000_000, "x"),
            figure("rebuildPerSec", 270_000, 1_000_000),
            figure("rebuildVsScan", 0.053, 1_000_000, "x"),
            figure("baselineScanPerSec", 5_000_000, 1_000_000),
        )])
        rows = self.rows(lines)
        self.assertEqual(len(rows), 2)
        verify, rebuild = rows
        self.assertIn("≥ 0.067× (1,000,000 ÷ 15,000,000)", verify)
        self.assertTrue(verify.endswith("| 0.33× | pass |"), verify)
        self.assertTrue(rebuild.startswith("| rebuildPerSec |"), rebuild)
        self.assertTrue(rebuild.endswith("| **FAIL** |"), rebuild)

    def test_nothing_to_judge_writes_no_section(self):
        self.assertEqual(bench.ratio_summary([section(figure("exportPerSec", 400_000, 1_000_000))]), [])

    def test_the_exit_status_keeps_the_targets_as_written(self):
        # A rate below its target misses it, whatever its ratio: the ratio table only informs.
        rate = bench.Figure("importPerSec", "import events/s", 95_000, "/s",
                            bench.Target(">=", bench.IMPORT_TARGET), 1_000_000)
        self.assertFalse(rate.passed)
        self.assertEqual(bench.targeted([section(rate)]), [rate])


if __name__ == "__main__":
    unittest.main()
