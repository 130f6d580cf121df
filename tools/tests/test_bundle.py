"""Tests of `tools/verify-export --bundle DIR`, the audit-bundle check.

Run from the repository root:

    python3 -m unittest discover -s tools/tests

Bundles are built here from the tests' own independent pieces
(test_verify_export: ExportBuilder for the chained records, and RFC 6962's
tree head and audit paths written out from the RFC), as `sunledger bundle`
writes them (version 1), into a fresh directory per test.
"""

import contextlib
import hashlib
import io
import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from test_verify_export import VERIFIER_PATH, ExportBuilder, audit_path, good_chain, mth, verifier


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def ledger():
    """Thirteen records (not a power of two): good_chain's eight, then five more, person-P2 with pii."""
    chain = good_chain()
    chain.add("person-P2", "PersonRegistered",
              {"sex": "M", "birthDate": "1965-12-31", "category": "mental", "grade": 2, "residence": "malu"},
              pii={"name": "李强", "idNumber": "310114196512310015"})
    chain.add("person-P1", "RehabServiceDelivered", {"serviceKind": "physical_therapy"})
    chain.add("case-C2", "CaseOpened", {"personId": "P2", "serviceType": "care", "worker": "w.zhao"})
    chain.add("person-P1", "PersonPiiCorrected", {}, pii={"phone": "13900002222"})
    chain.add("case-C2", "CaseClosed", {"outcome": "referred"})
    return chain


def masked(line):
    """The export line without --pii: pii and its salt dropped, the masked form instead (events.md §3)."""
    line = dict(line)
    pii = line.pop("pii", None)
    line.pop("piiSalt", None)
    if pii is not None:
        shown = {}
        if "name" in pii:
            shown["name"] = pii["name"][0] + "**"
        if "idNumber" in pii:
            shown["idNumber"] = pii["idNumber"][:6] + "********" + pii["idNumber"][-4:]
        if "phone" in pii:
            shown["phone"] = pii["phone"][-4:]
        line["piiMasked"] = shown
    return line


class Bundle:
    """The files of a bundle, as bytes by name, and its manifest (a dict), to be written into a directory."""

    def __init__(self, chain, selection, *, pii=False, through=None, kpi_through=None, purpose="audit 2024"):
        lines = chain.lines if through is None else chain.lines[:through]
        through = len(lines)
        leaves = [bytes.fromhex(line["hash"]) for line in lines]
        root = mth(leaves).hex()
        if "stream" in selection or "person" in selection:
            stream = selection.get("stream") or "person-" + selection["person"]
            chosen = [line for line in lines if line["stream"] == stream]
        else:
            chosen = [line for line in lines if selection["fromSeq"] <= line["seq"] <= selection["toSeq"]]
        if selection.get("knownAt"):
            chosen = [line for line in chosen if line["recordedAt"] <= selection["knownAt"]]
        self.lines = [dict(line) if pii else masked(line) for line in chosen]
        self.proofs = [{"seq": line["seq"], "treeSize": through, "leaf": line["hash"],
                        "path": [node.hex() for node in audit_path(line["seq"] - 1, leaves)],
                        "merkleRoot": root} for line in chosen]
        self.digest = {"seq": through, "hash": lines[-1]["hash"], "recordedAt": lines[-1]["recordedAt"],
                       "merkleRoot": root}
        self.files = {}
        self.kpi = None
        if selection.get("asOf"):
            self.kpi = {"asOf": selection["asOf"], "knownAt": selection.get("knownAt"),
                        "throughSeq": through if kpi_through is None else kpi_through,
                        "kpis": {"registered_persons": {"value": 2, "byUnit": {"anting": {"value": 1}}},
                                 "employment_rate": {"numerator": 0, "denominator": 2, "value": 0.0}},
                        "indices": {"service": 25.0, "smart": 0.0}}
        self.manifest = {"bundle": 1, "files": {}, "pii": pii, "purpose": purpose, "records": len(chosen),
                         "selection": selection,
                         "stamp": {"headHash": self.digest["hash"], "kpiCatalogueVersion": 1,
                                   "merkleRoot": root, "programVersion": "0.9.0", "throughSeq": through}}
        self.render()

    def render(self):
        """The files' bytes from `lines`, `proofs`, `digest`, `kpi`, and their hashes into the manifest."""
        self.files = {
            "records.jsonl": ExportBuilder.text(self.lines).encode("utf-8"),
            "proofs.jsonl": "".join(compact(proof) + "\n" for proof in self.proofs).encode("utf-8"),
            "digest.json": (verifier.digest_json(self.digest["seq"], self.digest["hash"], self.digest["recordedAt"],
                                                 self.digest["merkleRoot"]) + "\n").encode("utf-8"),
        }
        if self.kpi is not None:
            self.files["kpi.json"] = (compact(self.kpi) + "\n").encode("utf-8")
        self.rehash()

    def rehash(self):
        self.manifest["files"] = {name: sha256_hex(data) for name, data in self.files.items()}

    def write(self, directory):
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            (directory / name).write_bytes(data)
        (directory / "manifest.json").write_text(compact(self.manifest) + "\n", encoding="utf-8")
        return directory


class BundleTestCase(unittest.TestCase):

    def setUp(self):
        temporary = tempfile.TemporaryDirectory()
        self.addCleanup(temporary.cleanup)
        self.directory = Path(temporary.name) / "bundle"
        self.chain = ledger()

    def bundle(self, selection, **options):
        return Bundle(self.chain, selection, **options)

    def run_bundle(self, bundle, *options):
        if bundle is not None:
            bundle.write(self.directory)
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = verifier.main(["--bundle", str(self.directory), *options])
            except SystemExit as exit:  # argparse
                status = exit.code
        return status, stdout.getvalue(), stderr.getvalue()

    def assert_verifies(self, bundle, *options):
        status, stdout, stderr = self.run_bundle(bundle, *options)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(stderr, "")
        self.assertEqual(len(stdout.splitlines()), 1, stdout)
        return stdout.strip()

    def assert_rejected(self, bundle, where, fragment, *options):
        """Exit 1, nothing on stdout, and a line of stderr that starts DIR/WHERE (FILE[:LINE][: seq N])
        and holds FRAGMENT."""
        status, stdout, stderr = self.run_bundle(bundle, *options)
        self.assertEqual(status, 1, stderr)
        self.assertEqual(stdout, "")
        prefix = os.path.join(str(self.directory), where)
        matching = [line for line in stderr.splitlines() if line.startswith(prefix + ":") and fragment in line]
        self.assertTrue(matching, "no line %s: ... %s in:\n%s" % (prefix, fragment, stderr))
        return stderr


class GoodBundleTests(BundleTestCase):

    def test_a_person_bundle_with_pii_verifies(self):
        summary = self.assert_verifies(self.bundle({"person": "P1"}, pii=True))
        self.assertEqual(summary, "bundle %s: 6 records of person-P1, 6 inclusion proofs against the Merkle root"
                                  " of 13 records, manifest and 3 files hashed, 2 pii commitments checked"
                                  % self.directory)

    def test_a_stream_bundle_without_pii_verifies(self):
        summary = self.assert_verifies(self.bundle({"stream": "case-C1"}))
        self.assertIn("2 records of case-C1, 2 inclusion proofs against the Merkle root of 13 records", summary)
        self.assertIn("no pii (not asked for)", summary)
        summary = self.assert_verifies(self.bundle({"stream": "volunteer-V1", "asOf": None, "knownAt": None}))
        self.assertIn("1 records of volunteer-V1", summary)

    def test_a_range_bundle_verifies_with_and_without_pii(self):
        summary = self.assert_verifies(self.bundle({"fromSeq": 3, "toSeq": 9}))
        self.assertIn("7 records of seq 3\u20139", summary)
        summary = self.assert_verifies(self.bundle({"fromSeq": 1, "toSeq": 13}, pii=True))
        self.assertIn("13 records of seq 1\u201313", summary)
        self.assertIn("4 pii commitments checked", summary)

    def test_a_range_past_the_digest_ends_at_the_digest(self):
        summary = self.assert_verifies(self.bundle({"fromSeq": 10, "toSeq": 1000}))
        self.assertIn("4 records of seq 10\u20131000", summary)
        summary = self.assert_verifies(self.bundle({"fromSeq": 5, "toSeq": 1000}, through=11))
        self.assertIn("7 records of seq 5\u20131000, 7 inclusion proofs against the Merkle root of 11 records", summary)

    def test_a_bundle_with_kpi_and_known_at_verifies(self):
        known_at = self.chain.lines[8]["recordedAt"]  # seq 9 and before were known then
        bundle = self.bundle({"person": "P1", "asOf": "2024-03-31", "knownAt": known_at}, pii=True, kpi_through=9)
        self.assertEqual(len(bundle.lines), 4)
        summary = self.assert_verifies(bundle)
        self.assertIn("4 records of person-P1 known at %s" % known_at, summary)
        self.assertIn("manifest and 4 files hashed", summary)
        self.assertIn("KPIs as of 2024-03-31 through seq 9", summary)

    def test_known_at_compares_as_an_instant_with_an_offset(self):
        # seq 9 was recorded at 01:13:04.125Z; 09:13:04.125+08:00 is the same instant.
        self.assertEqual(self.chain.lines[8]["recordedAt"], "2024-03-05T01:13:04.125Z")
        bundle = self.bundle({"fromSeq": 1, "toSeq": 9, "knownAt": "2024-03-05T09:13:04.125+08:00"})
        self.assertEqual(len(bundle.lines), 9)
        self.assert_verifies(bundle)
        bundle.manifest["selection"]["knownAt"] = "2024-03-05T09:13:04.1249999+08:00"  # a hair earlier
        self.assert_rejected(bundle, "records.jsonl:9: seq 9", "is after selection.knownAt")

    def test_a_matching_digest_given_with_digest_passes(self):
        bundle = self.bundle({"person": "P2"})
        self.assert_verifies(bundle, "--digest", compact(bundle.digest))

    def test_the_script_run_as_an_auditor_runs_it(self):
        self.bundle({"person": "P1"}).write(self.directory)
        environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        result = subprocess.run([str(VERIFIER_PATH), "--bundle", str(self.directory)], capture_output=True,
                                env=environment, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.decode("utf-8").startswith("bundle %s: 6 records of person-P1" % self.directory))
        (self.directory / "notes.txt").write_text("hi\n")
        result = subprocess.run([str(VERIFIER_PATH), "--bundle", str(self.directory)], capture_output=True,
                                env=environment, timeout=60)
        self.assertEqual(result.returncode, 1)
        self.assertIn("notes.txt: is not listed in manifest.json", result.stderr.decode("utf-8"))


class ManifestTests(BundleTestCase):

    def test_a_changed_byte_in_records_breaks_the_manifest_hash(self):
        bundle = self.bundle({"person": "P1"})
        text = bundle.files["records.jsonl"]
        self.assertEqual(text.count(b'"malu"'), 1)
        bundle.files["records.jsonl"] = text.replace(b'"malu"', b'"malv"')
        stderr = self.assert_rejected(bundle, "records.jsonl", "but manifest.json lists")
        self.assertIn("SHA-256 is %s" % sha256_hex(bundle.files["records.jsonl"]), stderr)
        self.assertIn("hash does not match the record", stderr)  # and the line itself

    def test_a_changed_byte_in_the_proofs_or_digest_breaks_the_manifest_hash(self):
        for name in ("proofs.jsonl", "digest.json"):
            with self.subTest(name=name):
                bundle = self.bundle({"stream": "case-C1"})
                bundle.files[name] = bundle.files[name].replace(b"}", b" }", 1)  # harmless, but not the same bytes
                stderr = self.assert_rejected(bundle, name, "but manifest.json lists")
                self.assertEqual(len(stderr.splitlines()), 1, stderr)

    def test_an_extra_unlisted_file(self):
        bundle = self.bundle({"person": "P1"})
        bundle.files["notes.txt"] = b"nothing to see\n"
        self.assert_rejected(bundle, "notes.txt", "is not listed in manifest.json")
        bundle = self.bundle({"person": "P1"})
        bundle.write(self.directory)
        (self.directory / "extra").mkdir()
        self.assert_rejected(None, "extra", "is not listed in manifest.json")

    def test_an_unlisted_kpi_json(self):
        bundle = self.bundle({"person": "P1", "asOf": "2024-03-31"})
        del bundle.manifest["files"]["kpi.json"]
        self.assert_rejected(bundle, "kpi.json", "is not listed in manifest.json")

    def test_a_missing_listed_file(self):
        bundle = self.bundle({"person": "P1", "asOf": "2024-03-31"})
        bundle.write(self.directory)
        (self.directory / "kpi.json").unlink()
        self.assert_rejected(None, "kpi.json", "is listed in manifest.json but missing")
        bundle.write(self.directory)
        (self.directory / "proofs.jsonl").unlink()
        self.assert_rejected(None, "proofs.jsonl", "is listed in manifest.json but missing")

    def test_a_missing_manifest(self):
        self.bundle({"person": "P1"}).write(self.directory)
        (self.directory / "manifest.json").unlink()
        self.assert_rejected(None, "manifest.json", "missing")

    def test_a_count_mismatch(self):
        bundle = self.bundle({"person": "P1"})
        bundle.manifest["records"] = 7
        self.assert_rejected(bundle, "manifest.json", "records is 7, but records.jsonl holds 6 lines")

    def test_fewer_proofs_than_records(self):
        bundle = self.bundle({"person": "P1"})
        del bundle.proofs[2]
        bundle.render()
        self.assert_rejected(bundle, "proofs.jsonl", "holds 5 proofs for the 6 records")

    def test_a_manifest_that_is_not_version_1_or_not_well_formed(self):
        cases = [
            (lambda m: m.update(bundle=2), "bundle is 2; this verifier reads bundle version 1"),
            (lambda m: m.update(extra=1), 'unknown key "extra"'),
            (lambda m: m.pop("stamp"), 'lacks the key "stamp"'),
            (lambda m: m["files"].pop("proofs.jsonl"), "files does not list proofs.jsonl"),
            (lambda m: m["files"].update({"../etc": "00" * 32}), 'files lists "../etc"'),
            (lambda m: m.update(pii="yes"), "pii \"yes\" is not true or false"),
            (lambda m: m.update(selection={"stream": "person-P1", "person": "P1"}), "selection has the keys"),
            (lambda m: m.update(selection={"fromSeq": 5, "toSeq": 4}), "selection.toSeq 4"),
            (lambda m: m.update(selection={"stream": "P1"}), "selection.stream \"P1\" is not a stream"),
            (lambda m: m.update(selection={"person": "P1", "knownAt": "yesterday"}), "not an RFC 3339 instant"),
            (lambda m: m["stamp"].update(merkleRoot="AB" * 32), "stamp.merkleRoot"),
        ]
        for change, fragment in cases:
            with self.subTest(fragment=fragment):
                bundle = self.bundle({"person": "P1"})
                change(bundle.manifest)
                stderr = self.assert_rejected(bundle, "manifest.json", fragment)
                self.assertEqual(len(stderr.splitlines()), 1, stderr)

    def test_a_manifest_with_a_duplicate_key_or_not_json(self):
        bundle = self.bundle({"person": "P1"})
        bundle.write(self.directory)
        text = (self.directory / "manifest.json").read_text(encoding="utf-8")
        (self.directory / "manifest.json").write_text(text.replace('{"bundle":1,', '{"bundle":1,"pii":true,'),
                                                      encoding="utf-8")
        self.assert_rejected(None, "manifest.json", 'duplicate key "pii"')
        (self.directory / "manifest.json").write_text(text[:-5], encoding="utf-8")
        self.assert_rejected(None, "manifest.json", "not valid JSON")


class DigestTests(BundleTestCase):

    def test_a_wrong_root_in_the_digest(self):
        bundle = self.bundle({"person": "P1"})
        bundle.digest["merkleRoot"] = "ab" * 32
        bundle.render()
        stderr = self.assert_rejected(bundle, "digest.json", "merkleRoot is \"%s\", but manifest.json stamp.merkleRoot"
                                      % ("ab" * 32))
        self.assertEqual(len(stderr.splitlines()), 1, stderr)  # the proofs hold against the stamp

    def test_a_wrong_root_in_digest_and_stamp_alike_fails_every_proof(self):
        bundle = self.bundle({"person": "P1"})
        bundle.digest["merkleRoot"] = bundle.manifest["stamp"]["merkleRoot"] = "ab" * 32
        bundle.render()
        self.assert_rejected(bundle, "proofs.jsonl:1: seq 1", "is not the digest.json merkleRoot %s" % ("ab" * 32))

    def test_a_digest_that_does_not_match_the_stamp(self):
        for key, value, fragment in (("seq", 12, "seq is 12, but manifest.json stamp.throughSeq is 13"),
                                     ("hash", "cd" * 32, "stamp.headHash")):
            with self.subTest(key=key):
                bundle = self.bundle({"person": "P1"})
                bundle.digest[key] = value
                bundle.render()
                self.assert_rejected(bundle, "digest.json", fragment)

    def test_a_digest_without_a_root(self):
        bundle = self.bundle({"person": "P1"})
        bundle.files["digest.json"] = b'{"seq":13,"hash":"%s","recordedAt":"%s"}\n' % (
            bundle.digest["hash"].encode(), bundle.digest["recordedAt"].encode())
        bundle.rehash()
        self.assert_rejected(bundle, "digest.json", "merkleRoot is missing")

    def test_another_digest_given_with_digest(self):
        bundle = self.bundle({"person": "P1"})
        other = dict(bundle.digest, seq=12, hash=self.chain.lines[11]["hash"])
        self.assert_rejected(bundle, "digest.json", "is not the digest given with --digest: seq 13 (given 12)",
                             "--digest", compact(other))


class RecordTests(BundleTestCase):

    def test_a_record_whose_hash_is_wrong_even_with_the_manifest_recomputed(self):
        bundle = self.bundle({"person": "P1"})
        bundle.lines[2]["data"] = dict(bundle.lines[2]["data"], employer="someone else")
        bundle.render()
        stderr = self.assert_rejected(bundle, "records.jsonl:3: seq 4", "hash does not match the record")
        self.assertEqual(len(stderr.splitlines()), 1, stderr)

    def test_a_record_of_another_stream(self):
        bundle = self.bundle({"person": "P1"})
        bundle.lines.insert(2, dict(self.chain.lines[2]))  # case-C1, seq 3
        bundle.proofs.insert(2, self.bundle({"stream": "case-C1"}).proofs[0])
        bundle.manifest["records"] += 1
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:3: seq 3",
                             'stream is "case-C1", but the bundle holds the records of person-P1')
        bundle = self.bundle({"stream": "case-C1"})
        bundle.manifest["selection"] = {"stream": "case-C2"}
        self.assert_rejected(bundle, "records.jsonl:1: seq 3", "the records of case-C2")

    def test_an_event_left_out_of_a_stream(self):
        bundle = self.bundle({"person": "P1"})
        del bundle.lines[2], bundle.proofs[2]
        bundle.manifest["records"] -= 1
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:3: seq 8", "version is 4, expected 3 (stream person-P1)")
        bundle = self.bundle({"person": "P1"})
        del bundle.lines[0], bundle.proofs[0]  # the opener left out
        bundle.manifest["records"] -= 1
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:1: seq 2",
                             "version is 2, expected 1 (first event of stream person-P1)")

    def test_a_record_twice_or_out_of_order(self):
        bundle = self.bundle({"person": "P1"})
        bundle.lines.insert(2, bundle.lines[1])
        bundle.proofs.insert(2, bundle.proofs[1])
        bundle.manifest["records"] += 1
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:3: seq 2", "seq is 2, not after the line before (seq 2)")
        bundle = self.bundle({"person": "P1"})
        bundle.lines[1], bundle.lines[2] = bundle.lines[2], bundle.lines[1]
        bundle.proofs[1], bundle.proofs[2] = bundle.proofs[2], bundle.proofs[1]
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:2: seq 4", "version is 3, expected 2")

    def test_a_gap_in_a_range_selection(self):
        bundle = self.bundle({"fromSeq": 3, "toSeq": 9})
        del bundle.lines[3], bundle.proofs[3]  # seq 6
        bundle.manifest["records"] -= 1
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:4: seq 7", "seq is 7, expected 6")

    def test_a_range_that_starts_late_or_ends_early(self):
        bundle = self.bundle({"fromSeq": 3, "toSeq": 9})
        del bundle.lines[0], bundle.proofs[0]
        bundle.manifest["records"] -= 1
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:1: seq 4", "the first record is seq 4, but selection.fromSeq is 3")
        bundle = self.bundle({"fromSeq": 3, "toSeq": 9})
        del bundle.lines[-1], bundle.proofs[-1]
        bundle.manifest["records"] -= 1
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl", "holds seq 3\u20138, but the selection seq 3\u20139")
        bundle = self.bundle({"fromSeq": 3, "toSeq": 9})
        bundle.manifest["selection"]["toSeq"] = 10
        self.assert_rejected(bundle, "records.jsonl", "calls for seq 3\u201310")

    def test_a_record_after_the_range_or_the_digest(self):
        bundle = self.bundle({"fromSeq": 3, "toSeq": 9})
        bundle.manifest["selection"]["toSeq"] = 8
        self.assert_rejected(bundle, "records.jsonl:7: seq 9", "seq 9 is after selection.toSeq 8")
        bundle = self.bundle({"person": "P1"}, through=10)
        extra = Bundle(self.chain, {"person": "P1"})
        bundle.lines.append(extra.lines[-1])  # seq 12, after the digest's seq 10
        bundle.proofs.append(extra.proofs[-1])
        bundle.manifest["records"] += 1
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:6: seq 12", "seq 12 is after the digest.json seq 10")

    def test_a_record_recorded_after_known_at(self):
        known_at = self.chain.lines[8]["recordedAt"]
        bundle = self.bundle({"person": "P1"})
        bundle.manifest["selection"]["knownAt"] = known_at
        self.assert_rejected(bundle, "records.jsonl:5: seq 10", "is after selection.knownAt %s" % known_at)
        bundle.manifest["selection"]["knownAt"] = "2024-03-05T01:12:56.999Z"  # just before seq 8
        self.assert_rejected(bundle, "records.jsonl:4: seq 8", "is after selection.knownAt")

    def test_pii_present_when_the_manifest_says_false(self):
        bundle = self.bundle({"person": "P1"}, pii=True)
        bundle.manifest["pii"] = False
        stderr = self.assert_rejected(bundle, "records.jsonl:1: seq 1", "carries pii, but manifest.json says pii false")
        self.assertEqual(len(stderr.splitlines()), 1, stderr)

    def test_pii_that_does_not_open_its_commitment(self):
        bundle = self.bundle({"person": "P1"}, pii=True)
        bundle.lines[5]["pii"] = {"phone": "13900002223"}
        bundle.render()
        self.assert_rejected(bundle, "records.jsonl:6: seq 12", "pii does not match piiCommitment")


class ProofTests(BundleTestCase):

    def test_a_changed_path_element(self):
        bundle = self.bundle({"person": "P1"})
        path = bundle.proofs[3]["path"]
        self.assertGreater(len(path), 1)
        path[1] = ("0" if path[1][0] != "0" else "1") + path[1][1:]
        bundle.render()
        stderr = self.assert_rejected(bundle, "proofs.jsonl:4: seq 8",
                                      "the inclusion proof of seq 8 does not lead to the root of 13 records")
        self.assertEqual(len(stderr.splitlines()), 1, stderr)

    def test_a_proof_of_another_record_or_tree(self):
        bundle = self.bundle({"person": "P1"})
        other = Bundle(self.chain, {"stream": "case-C1"})
        bundle.proofs[1] = other.proofs[0]  # a good proof, but of seq 3
        bundle.render()
        self.assert_rejected(bundle, "proofs.jsonl:2: seq 3", "seq is 3, but line 2 of records.jsonl is seq 2")
        bundle = self.bundle({"person": "P1"})
        older = Bundle(self.chain, {"person": "P1"}, through=12)
        bundle.proofs[0] = older.proofs[0]  # a good proof of seq 1, in the tree of 12
        bundle.render()
        self.assert_rejected(bundle, "proofs.jsonl:1: seq 1", "treeSize is 12, but the digest.json seq is 13")

    def test_a_proof_whose_leaf_is_not_the_record(self):
        bundle = self.bundle({"person": "P1"})
        leaves = [bytes.fromhex(line["hash"]) for line in self.chain.lines]
        fake = hashlib.sha256(b"fake").digest()
        leaves[11] = fake
        bundle.proofs[5] = {"seq": 12, "treeSize": 13, "leaf": fake.hex(),
                            "path": [node.hex() for node in audit_path(11, leaves)], "merkleRoot": mth(leaves).hex()}
        bundle.render()
        self.assert_rejected(bundle, "proofs.jsonl:6: seq 12", "leaf %s is not the hash of seq 12" % fake.hex())

    def test_a_proof_with_an_extra_key_or_a_consistency_proof(self):
        bundle = self.bundle({"person": "P1"})
        bundle.proofs[0]["note"] = "x"
        bundle.render()
        self.assert_rejected(bundle, "proofs.jsonl:1: seq 1", 'unknown key "note"')
        bundle = self.bundle({"person": "P1"})
        bundle.proofs[0] = {"fromSize": 1, "treeSize": 13, "proof": [], "fromRoot": "00" * 32, "merkleRoot": "00" * 32}
        bundle.render()
        self.assert_rejected(bundle, "proofs.jsonl:1", "not an inclusion proof")


class KpiTests(BundleTestCase):

    def test_kpi_as_of_another_date(self):
        bundle = self.bundle({"person": "P1", "asOf": "2024-03-31"})
        bundle.kpi["asOf"] = "2024-12-31"
        bundle.render()
        self.assert_rejected(bundle, "kpi.json", 'asOf is 2024-12-31, but manifest.json selection.asOf is "2024-03-31"')

    def test_kpi_through_a_seq_after_the_digest(self):
        bundle = self.bundle({"person": "P1", "asOf": "2024-03-31"}, kpi_through=14)
        self.assert_rejected(bundle, "kpi.json", "throughSeq 14 is after the digest.json seq 13")

    def test_kpi_that_is_not_json_or_is_missing_for_an_as_of_bundle(self):
        bundle = self.bundle({"person": "P1", "asOf": "2024-03-31"})
        bundle.files["kpi.json"] = b'{"asOf":"2024-03-31","throughSeq":13,"value":NaN}\n'
        bundle.rehash()
        self.assert_rejected(bundle, "kpi.json", "NaN is not JSON")
        bundle = self.bundle({"person": "P1", "asOf": "2024-03-31"})
        del bundle.files["kpi.json"]
        bundle.rehash()
        self.assert_rejected(bundle, "manifest.json", "selection.asOf is 2024-03-31, but files lists no kpi.json")
        bundle = self.bundle({"person": "P1", "asOf": "2024-03-31"})
        del bundle.manifest["selection"]["asOf"]
        self.assert_rejected(bundle, "kpi.json", "but manifest.json selection.asOf is null")


class BundleUsageTests(BundleTestCase):

    def test_wrong_usage_exits_2(self):
        self.bundle({"person": "P1"}).write(self.directory)
        for options in (["--proofs", "x.jsonl"], ["--prev-hash", "ab" * 32], ["export.jsonl"],
                        ["--digest", "{not json"]):
            with self.subTest(options=options):
                status, stdout, _ = self.run_bundle(None, *options)
                self.assertEqual((status, stdout), (2, ""))
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertEqual(verifier.main(["--bundle", str(self.directory / "no-such-dir")]), 2)
        self.assertIn("is not a directory", stderr.getvalue())

    def test_every_problem_is_reported_one_a_line(self):
        bundle = self.bundle({"person": "P1"})
        bundle.lines[0]["actor"] = "mallory"
        bundle.render()
        bundle.files["notes.txt"] = b"x"
        bundle.manifest["records"] = 9
        status, stdout, stderr = self.run_bundle(bundle)
        self.assertEqual((status, stdout), (1, ""))
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 3, stderr)
        self.assertTrue(lines[0].endswith("notes.txt: is not listed in manifest.json: a bundle holds only the files"
                                          " its manifest lists"), lines[0])
        self.assertIn("manifest.json: records is 9, but records.jsonl holds 6 lines", lines[1])
        self.assertIn("records.jsonl:1: seq 1: hash does not match the record", lines[2])


if __name__ == "__main__":
    unittest.main()
