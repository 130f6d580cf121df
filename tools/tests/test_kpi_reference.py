"""Tests of tools/kpi-reference, the auditor's independent reading of the figures.

Run from the repository root:

    python3 -m unittest discover -s tools/tests

The reference is held here to the KPI fixtures (fixtures/kpis/, each figure
worked out by hand from kpis.md), to fixtures/restatement and to the returns
of fixtures/report, fed as export lines made from the fixtures' interchange
lines; the Swift tests hold `sunledger kpi`, `caseload`, `restatement` and
`report` to the reference on generated districts and random histories.
"""

import contextlib
import csv
import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tool_loader import load_tool  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "fixtures" / "kpis"


reference = load_tool("kpi-reference", "kpi_reference")


def export_lines(interchange_lines):
    """Interchange lines as the export lines of a ledger holding them in order (seq 1, 2, …)."""
    lines = []
    for line in interchange_lines:
        if line.strip():
            record = json.loads(line)
            record["seq"] = len(lines) + 1
            lines.append(json.dumps(record, ensure_ascii=False))
    return lines


def fixture_records(name):
    with open(FIXTURES / name / "events.jsonl", encoding="utf-8") as file:
        return reference.read_export(export_lines(file))


def document_for(records, expected):
    """The reference's document for the query an expected document states."""
    through = expected["throughSeq"]
    return reference.kpi_document(
        records, datetime.date.fromisoformat(expected["asOf"]), through, expected["knownAt"])


class FixtureTests(unittest.TestCase):
    def test_every_fixture_document(self):
        fixtures = sorted(p for p in FIXTURES.iterdir() if (p / "events.jsonl").exists())
        self.assertGreaterEqual(len(fixtures), 13)
        checked = 0
        for fixture in fixtures:
            records = fixture_records(fixture.name)
            for path in sorted(fixture.glob("*.json")):
                with self.subTest(fixture=fixture.name, document=path.name):
                    with open(path, encoding="utf-8") as file:
                        expected = json.load(file)
                    self.assertEqual(reference.differences(expected, document_for(records, expected)), [])
                    checked += 1
        self.assertGreaterEqual(checked, 30)

    def test_known_at_is_a_prefix(self):
        records = fixture_records("worked-example")
        instant = reference.parse_instant("2025-01-15T00:00:00Z")
        self.assertEqual(reference.through_seq_known_at(records, instant), 7)
        self.assertEqual(reference.through_seq_known_at(records, reference.parse_instant("2020-01-01T00:00:00Z")), 0)
        # An offset is an instant like any other: 08:00 in Shanghai is midnight UTC.
        self.assertEqual(
            reference.through_seq_known_at(records, reference.parse_instant("2025-01-15T08:00:00+08:00")), 7)

    def test_worked_example_table(self):
        records = fixture_records("worked-example")
        early = reference.kpi_document(records, datetime.date(2024, 12, 31), 7, "2025-01-15T00:00:00Z")
        late = reference.kpi_document(records, datetime.date(2024, 12, 31), 9, None)
        self.assertEqual(early["kpis"]["registered_persons"]["byUnit"], {"anting": {"value": 1}, "malu": {"value": 1}})
        self.assertEqual(late["kpis"]["registered_persons"]["byUnit"], {"malu": {"value": 1}})
        self.assertEqual(early["kpis"]["employment_rate"]["denominator"], 2)
        self.assertEqual(late["kpis"]["rehab_coverage"]["byUnit"], {"malu": {"numerator": 1, "denominator": 1}})
        self.assertIsNone(late["kpis"]["elderly_mental_care_rate"]["value"])
        self.assertEqual(early["indices"], {"service": 25.0, "smart": 0.0, "open": 0.0, "rule_of_law": 0.0})


class CaseloadTests(unittest.TestCase):
    def test_a_late_reassignment_moves_the_case_and_its_worker(self):
        records = fixture_records("case-reassigned")
        known = reference.through_seq_known_at(records, reference.parse_instant("2024-07-01T00:00:00Z"))
        before = reference.caseload_document(records, datetime.date(2024, 6, 30), known, "2024-07-01T00:00:00Z")
        after = reference.caseload_document(records, datetime.date(2024, 6, 30), len(records), None)
        kpis = reference.kpi_document(records, datetime.date(2024, 6, 30), len(records), None)["kpis"]
        self.assertEqual(after["openCases"], kpis["open_cases"]["value"])
        self.assertEqual(after["byWorker"], kpis["open_cases"]["byWorker"])
        self.assertEqual(after["byServiceType"], kpis["open_cases"]["byServiceType"])
        self.assertEqual({u: c["openCases"] for u, c in after["byUnit"].items()},
                         {u: c["value"] for u, c in kpis["open_cases"]["byUnit"].items()})
        # The fixture's .why notes: K1 moves from anting (w01) to malu (w07) once its late reassignment is known.
        self.assertEqual({u: c["openCases"] for u, c in before["byUnit"].items()}, {"anting": 1, "malu": 1})
        self.assertEqual(before["byWorker"], {"w01": 1, "w07": 1})
        self.assertEqual(after["byUnit"],
                         {"malu": {"openCases": 2, "byServiceType": {"care": 1, "rehab": 1}, "byWorker": {"w07": 2}}})
        self.assertEqual(sum(unit["openCases"] for unit in after["byUnit"].values()), after["openCases"])


class RuleTests(unittest.TestCase):
    def test_leap_day_birthday(self):
        born = datetime.date(2008, 2, 29)
        self.assertEqual(reference.age_on(born, datetime.date(2024, 2, 28)), 15)
        self.assertEqual(reference.age_on(born, datetime.date(2024, 2, 29)), 16)
        self.assertEqual(reference.age_on(born, datetime.date(2023, 2, 28)), 14)
        self.assertEqual(reference.age_on(born, datetime.date(2023, 3, 1)), 15)

    def test_a_rate_with_no_denominator_is_null_and_left_out_of_its_index(self):
        records = fixture_records("zero-denominator")
        document = reference.kpi_document(records, datetime.date(2024, 12, 31), len(records), None)
        self.assertIsNone(document["kpis"]["call_resolution_rate"]["value"])
        self.assertEqual(document["kpis"]["call_resolution_rate"]["byUnit"], {})

    def test_index_rounds_half_up_on_the_exact_mean(self):
        catalogue, ids = reference.load_catalogue(reference.DEFAULT_SEEDS)
        figures = {kpi["id"]: (reference.Rate() if kpi["kind"] == "rate" else reference.Count()) for kpi in catalogue}
        day = datetime.date(2024, 12, 31)
        # open: coverage 0/1, 1,000,000 of 2,000,000 yuan, 7,500 of 3,000,000 minutes: 100 × 0.1675 = 16.75.
        figures["project_evaluation_coverage"].observe(False, "nanxiang")
        figures["corporate_adoption_yuan"].add(1_000_000, "nanxiang")
        figures["volunteer_minutes"].add(7_500, "nanxiang")
        # service: 1, (2/3)/0.95, (3/5)/0.95, (3/8)/0.9: a mean of 0.6875 exactly.
        for rate, (numerator, denominator) in [("employment_rate", (1, 1)), ("rehab_coverage", (2, 3)),
                                               ("assistive_device_rate", (3, 5)), ("health_check_rate", (3, 8))]:
            for counted in range(denominator):
                figures[rate].observe(counted < numerator, "anting")
        found = reference.indices(figures, catalogue, ids, day)
        self.assertEqual(found["open"], 16.8)
        self.assertEqual(found["service"], 68.8)
        self.assertEqual(found["smart"], 0.0)  # smart_training 0; the call rates are null
        self.assertEqual(found["rule_of_law"], 0.0)  # legal education 0; rights closure null
        empty = {kpi["id"]: (reference.Rate() if kpi["kind"] == "rate" else reference.Count()) for kpi in catalogue}
        self.assertIsNone(reference.indices(empty, catalogue, ids, day)["service"])


class ReadingTests(unittest.TestCase):
    def test_a_gap_in_the_seqs_is_refused_with_its_line(self):
        with open(FIXTURES / "worked-example" / "events.jsonl", encoding="utf-8") as file:
            lines = export_lines(file)
        del lines[3]
        with self.assertRaises(reference.Failure) as caught:
            reference.read_export(lines)
        self.assertIn("line 4: seq 5, expected 4", str(caught.exception))

    def test_a_line_that_is_not_a_record_is_refused(self):
        with self.assertRaises(reference.Failure) as caught:
            reference.read_export(['{"seq": 1}'])
        self.assertIn("line 1: no stream", str(caught.exception))
        with self.assertRaises(reference.Failure):
            reference.read_export(["not json"])

    def test_a_record_whose_data_lacks_a_field_is_named_not_a_crash(self):
        with open(FIXTURES / "worked-example" / "events.jsonl", encoding="utf-8") as file:
            lines = [line.replace('"residence": "anting"', '"place": "anting"') for line in export_lines(file)]
        with tempfile.TemporaryDirectory() as scratch:
            export = Path(scratch) / "export.jsonl"
            export.write_text("\n".join(lines) + "\n", encoding="utf-8")
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                status = reference.main(["--as-of", "2021-06-30", str(export)])
        self.assertEqual(status, 1)
        self.assertIn("lacks what events.md §5 gives its type (KeyError('residence'))", err.getvalue())


def run_main(*argv):
    """The tool's exit status, standard output and standard error for `argv`."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = reference.main(list(argv))
        except SystemExit as exit:
            status = exit.code
    return status, out.getvalue(), err.getvalue()


class CompareTests(unittest.TestCase):

    def test_compare_names_every_differing_figure(self):
        with tempfile.TemporaryDirectory() as scratch:
            export = Path(scratch) / "export.jsonl"
            with open(FIXTURES / "worked-example" / "events.jsonl", encoding="utf-8") as file:
                export.write_text("\n".join(export_lines(file)) + "\n", encoding="utf-8")
            expected = json.loads((FIXTURES / "worked-example" / "2024-12-31.json").read_text(encoding="utf-8"))
            good = Path(scratch) / "good.json"
            good.write_text(json.dumps(expected), encoding="utf-8")
            status, out, _ = run_main("--compare", str(good), str(export))
            self.assertEqual(status, 0)
            self.assertIn("every figure agrees", out)

            expected["kpis"]["rehab_coverage"]["byUnit"]["malu"]["numerator"] = 0
            expected["kpis"]["open_cases"]["byWorker"]["w99"] = 1
            expected["indices"]["service"] = 24.9
            bad = Path(scratch) / "bad.json"
            bad.write_text(json.dumps(expected), encoding="utf-8")
            status, out, err = run_main("--compare", str(bad), str(export))
            self.assertEqual(status, 1)
            self.assertIn("kpis.rehab_coverage.byUnit.malu.numerator: ledger 0, reference 1", out)
            self.assertIn("kpis.open_cases.byWorker.w99: ledger 1, not in the reference", out)
            self.assertIn("indices.service: ledger 24.9, reference 25.0", out)
            self.assertIn("3 figure(s) differ", err)

            status, _, err = run_main("--compare", str(good), "--as-of", "2024-12-31", str(export))
            self.assertEqual(status, 2)

    def test_it_runs_as_a_command(self):
        path = ROOT / "tools" / "kpi-reference"
        self.assertTrue(os.access(path, os.X_OK))
        with tempfile.TemporaryDirectory() as scratch:
            export = Path(scratch) / "export.jsonl"
            with open(FIXTURES / "zero-denominator" / "events.jsonl", encoding="utf-8") as file:
                export.write_text("\n".join(export_lines(file)) + "\n", encoding="utf-8")
            result = subprocess.run([str(path), "--as-of", "2024-12-31", str(export)], capture_output=True,
                                    text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["asOf"], "2024-12-31")

    def test_counts_and_fractions_are_kept_apart(self):
        self.assertEqual(reference.differences({"value": 1.0}, {"value": 1}), [])
        self.assertEqual(len(reference.differences({"value": True}, {"value": 1})), 1)
        self.assertEqual(len(reference.differences({"value": None}, {"value": 0})), 1)


REPORT = ROOT / "fixtures" / "report"


def report_records():
    with open(REPORT / "events.jsonl", encoding="utf-8") as file:
        return reference.read_export(export_lines(file))


class ReturnsTests(unittest.TestCase):
    """The year-end returns against fixtures/report, whose CSV files were worked out by hand."""

    KNOWN_AT = "2025-01-15T00:00:00Z"

    def test_every_table_of_the_report_fixture(self):
        records = report_records()
        through = reference.through_seq_known_at(records, reference.parse_instant(self.KNOWN_AT))
        self.assertEqual(through, 66)
        tables = reference.returns_tables(records, 2024, through)
        expected_dir = REPORT / "2024-known-at-2025-01-15"
        # The fixture's files leave out the stamp row: a title row and the headings come first.
        ledger = {name: reference.read_return_csv(expected_dir / f"{name}.csv", len(codes), skip=2)
                  for name, codes, _ in reference.RETURN_TABLES}
        self.assertEqual(reference.returns_differences(ledger, tables), [])
        # Figures the fixture's notes name, read from the reference itself.
        rows = {name: table.rows() for name, table in tables.items()}
        self.assertEqual(rows["04-caseload"][("malu", "all")][0], 1)  # C3, reassigned to Malu, open at year end
        self.assertEqual(rows["02-employment"][("all", "all")][3:], [2, 1])  # two placements, one person placed
        self.assertEqual(rows["05-call-centre"][("all", "all")][4], 0.5)  # satisfied ÷ resolved

    def test_a_late_record_changes_the_returns_only_once_known(self):
        records = report_records()
        known = reference.returns_tables(records, 2024, 66)["04-caseload"].rows()
        later = reference.returns_tables(records, 2024, len(records))["04-caseload"].rows()
        self.assertEqual(known[("anting", "assistive_device")][0], 1)  # C4 open: its closing came on 20 January
        self.assertNotEqual(known, later)

    def write_returns(self, out, changed=None):
        """The fixture's CSV files in `out` as `sunledger report` writes them (a
        stamp row second, and manifest.json beside them), with one cell changed if asked."""
        out.mkdir()
        for name, _, _ in reference.RETURN_TABLES:
            with open(REPORT / "2024-known-at-2025-01-15" / f"{name}.csv", encoding="utf-8-sig", newline="") as file:
                rows = list(csv.reader(file))
            rows.insert(1, ["统计标记 stamp"])
            if changed and changed[0] == name:
                _, row, column, value = changed
                rows[row][column] = value
            with open(out / f"{name}.csv", "w", encoding="utf-8-sig", newline="") as file:
                csv.writer(file, lineterminator="\r\n").writerows(rows)
        stamp = {"year": 2024, "asOf": "2024-12-31", "knownAt": "2025-01-15T00:00:00.000Z", "throughSeq": 66}
        (out / "manifest.json").write_text(json.dumps({"stamp": stamp}), encoding="utf-8")
        return out

    def test_compare_reads_the_csv_files_and_names_a_changed_figure(self):
        with tempfile.TemporaryDirectory() as scratch:
            export = Path(scratch) / "export.jsonl"
            with open(REPORT / "events.jsonl", encoding="utf-8") as file:
                export.write_text("\n".join(export_lines(file)) + "\n", encoding="utf-8")
            status, out, _ = run_main("--compare", str(self.write_returns(Path(scratch) / "good")), str(export))
            self.assertEqual(status, 0, out)
            self.assertIn("every figure agrees: 14 tables of the returns of 2024", out)

            # The first data row of the call centre (policy by phone): one call resolved, not two.
            returns = self.write_returns(Path(scratch) / "bad", changed=("05-call-centre", 3, 5, "2"))
            status, out, err = run_main("--compare", str(returns), str(export))
            self.assertEqual(status, 1)
            self.assertIn("05-call-centre[policy/phone].resolved: ledger 2, reference 1", out)
            self.assertIn("1 figure(s) differ", err)

    def test_returns_take_no_as_of_date(self):
        status, _, _ = run_main("--returns", "2024", "--as-of", "2024-06-30")
        self.assertEqual(status, 2)


RESTATEMENT = ROOT / "fixtures" / "restatement"


class RestatementTests(unittest.TestCase):
    """A restatement against fixtures/restatement, whose expected document was worked out by hand."""

    def setUp(self):
        with open(RESTATEMENT / "events.jsonl", encoding="utf-8") as file:
            self.lines = export_lines(file)
        self.records = reference.read_export(self.lines)
        self.expected = json.loads((RESTATEMENT / "expected.json").read_text(encoding="utf-8"))

    def test_the_fixture_document(self):
        before, after = self.expected["throughSeq"]
        changes = reference.restatement(self.records, datetime.date(2024, 12, 31), before, after)
        self.assertEqual(reference.restatement_differences(self.expected, self.records, changes), [])
        # The late move changes two units and no district figure; the late deregistration the service index.
        self.assertEqual(changes[("registered_persons", "anting", "value")], (2, 1, [12]))
        self.assertNotIn(("registered_persons", None, "byCategory.physical"), changes)
        self.assertEqual(changes[("service", None, "index")], (76.8, 63.2, [13]))

    def test_printed_document_is_the_fixtures(self):
        with tempfile.TemporaryDirectory() as scratch:
            export = Path(scratch) / "export.jsonl"
            export.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
            # Instants given with an offset are written as the ledger writes them, in UTC.
            status, out, err = run_main("--as-of", "2024-12-31", "--known-at", "2025-01-15T08:00:00+08:00",
                                        "--known-at", "2025-03-01T02:00:00Z", str(export))
            self.assertEqual(status, 0, err)
            self.assertEqual(json.loads(out), self.expected)
            status, _, err = run_main("--known-at", "2025-03-01T02:00:00Z", "--known-at", "2025-01-15T00:00:00Z",
                                      str(export))
            self.assertEqual(status, 2)
            self.assertIn("must be earlier than T2", err)
            status, _, _ = run_main("--caseload", "--known-at", "2025-01-15T00:00:00Z",
                                    "--known-at", "2025-03-01T02:00:00Z", str(export))
            self.assertEqual(status, 2)

    def test_compare_names_changes_out_of_order(self):
        with tempfile.TemporaryDirectory() as scratch:
            export = Path(scratch) / "export.jsonl"
            export.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
            document = json.loads(json.dumps(self.expected))
            changes = document["changes"]
            changes[0], changes[1] = changes[1], changes[0]
            swapped = Path(scratch) / "swapped.json"
            swapped.write_text(json.dumps(document), encoding="utf-8")
            status, out, _ = run_main("--compare", str(swapped), str(export))
            self.assertEqual(status, 1)
            self.assertIn("the ledger lists the changes in another order", out)

    def test_compare_names_a_wrong_event_and_a_missing_change(self):
        with tempfile.TemporaryDirectory() as scratch:
            export = Path(scratch) / "export.jsonl"
            export.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
            good = Path(scratch) / "good.json"
            good.write_text(json.dumps(self.expected), encoding="utf-8")
            status, out, _ = run_main("--compare", str(good), str(export))
            self.assertEqual(status, 0, out)
            self.assertIn("every figure agrees: 24 changed numbers", out)

            document = json.loads(json.dumps(self.expected))
            document["changes"][0]["events"][0]["seq"] = 12
            removed = document["changes"].pop()
            bad = Path(scratch) / "bad.json"
            bad.write_text(json.dumps(document), encoding="utf-8")
            status, out, _ = run_main("--compare", str(bad), str(export))
            self.assertEqual(status, 1)
            self.assertIn("registered_persons.value: the ledger names the late events [12], the reference [13]", out)
            self.assertIn(f"{removed['kpi']}.{removed['field']}: not listed by the ledger", out)


if __name__ == "__main__":
    unittest.main()
