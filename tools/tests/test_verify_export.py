"""Tests of tools/verify-export, the auditor's independent export verifier.

Run from the repository root:

    python3 -m unittest discover -s tools/tests

The chains here are built by a small builder of their own (ExportBuilder),
which follows events.md §2-§3 directly; it borrows only the verifier's
reference RFC 8785 serialiser `jcs`, which is itself pinned below by
hand-written vectors and by a record whose canonical text is written out
literally.
"""

import contextlib
import datetime
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tool_loader import load_tool  # noqa: E402

VERIFIER_PATH = Path(__file__).resolve().parent.parent / "verify-export"
ZERO = "0" * 64


verifier = load_tool("verify-export", "verify_export")


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
# A minimal, independent builder of export lines

class ExportBuilder:
    """Appends records as the store would (events.md §2), and writes them as export lines."""

    def __init__(self):
        self.lines = []
        self.prev_hash = ZERO
        self.seq = 0
        self.versions = {}
        self.clock = datetime.datetime(2024, 3, 5, 1, 12, 0)

    def add(self, stream, type_, data, pii=None, *, version=None, recorded_at=None,
            prev_hash=None, seq=None):
        """Appends one record; keyword arguments override what the store would assign."""
        seq = self.seq + 1 if seq is None else seq
        version = self.versions.get(stream, 0) + 1 if version is None else version
        if recorded_at is None:
            self.clock += datetime.timedelta(seconds=7, milliseconds=125)
            recorded_at = self.clock.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (self.clock.microsecond // 1000)
        record = {
            "seq": seq, "id": "ev-%d" % seq, "stream": stream, "version": version, "type": type_,
            "schema": 1, "occurredAt": "2024-03-04", "recordedAt": recorded_at, "actor": "clerk.wang",
            "orgUnit": "anting", "data": data,
            "prevHash": self.prev_hash if prev_hash is None else prev_hash,
        }
        salt = None
        if pii is not None:
            salt = sha256_hex(b"salt %d" % seq)[:32]  # any 16 bytes will do in a test
            record["piiCommitment"] = sha256_hex(bytes.fromhex(salt) + verifier.jcs(pii).encode("utf-8"))
        line = dict(record)
        line["hash"] = sha256_hex(verifier.jcs(record).encode("utf-8"))
        if pii is not None:
            line["pii"] = pii
            line["piiSalt"] = salt
        self.lines.append(line)
        self.seq, self.prev_hash, self.versions[stream] = seq, line["hash"], version
        return line

    @staticmethod
    def text(lines):
        return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)


def good_chain():
    """Eight records over four streams: pii, escapes, non-ASCII, arrays, booleans, big integers."""
    chain = ExportBuilder()
    chain.add("person-P1", "PersonRegistered",
              {"sex": "F", "birthDate": "1990-01-01", "category": "physical", "grade": 2, "residence": "anting"},
              pii={"name": "张三", "idNumber": "31011419900101122X"})
    chain.add("person-P1", "NeedsAssessed",
              {"workCapacity": "partial", "inEducation": False, "needs": ["rehab", "care"]})
    chain.add("case-C1", "CaseOpened", {"personId": "P1", "serviceType": "rehab", "worker": "w.li"})
    chain.add("person-P1", "EmploymentStarted",
              {"employmentId": "E1", "form": "flexible",
               "employer": "嘉定 \"阳光\" 工场\\二车间\n\u001f/\u2028\u0085"})  # escapes; U+2028, U+0085 raw
    chain.add("volunteer-V1", "VolunteerRegistered", {"partyMember": True, "alliance": "kunshan"},
              pii={"name": "李四", "phone": "13800001111"})
    chain.add("project-X1", "ProjectLaunched",
              {"title": "智慧助我行 😀", "operator": "op", "category": "rehab", "budgetYuan": 9223372036854775807})
    chain.add("case-C1", "CaseClosed", {"outcome": "resolved"})
    chain.add("person-P1", "PersonMoved", {"residence": "malu"})
    return chain


def digest_of(line, records=None):
    """A digest of `line`; with `records` (the lines of seq 1 to it), its Merkle root too."""
    text = '{"seq":%d,"hash":"%s","recordedAt":"%s"' % (line["seq"], line["hash"], line["recordedAt"])
    if records is not None:
        text += ',"merkleRoot":"%s"' % mth([bytes.fromhex(r["hash"]) for r in records]).hex()
    return text + "}"


# RFC 6962 §2.1 written out for the tests: the tree head, audit paths and
# consistency proofs exactly as the RFC's recursive definitions give them.

def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def audit_path(m, leaves):
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def consistency(m, leaves, whole=True):
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return consistency(m, leaves[:k], whole) + [mth(leaves[k:])]
    return consistency(m - k, leaves[k:], False) + [mth(leaves[:k])]


def replace_once(text, old, new):
    assert text.count(old) == 1, (old, text)
    return text.replace(old, new)


# --------------------------------------------------------------------------
# Running the verifier

class VerifierTestCase(unittest.TestCase):
    """Runs the verifier in process on a file named export.jsonl in a fresh directory."""

    def setUp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.directory = Path(directory.name)
        self.export = self.directory / "export.jsonl"

    def run_verifier(self, content, *options):
        if isinstance(content, list):
            content = ExportBuilder.text(content)
        self.export.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = verifier.main([*options, str(self.export)])
            except SystemExit as exit:  # argparse
                status = exit.code
        return status, stdout.getvalue(), stderr.getvalue()

    def assert_passes(self, content, *options):
        status, stdout, stderr = self.run_verifier(content, *options)
        self.assertEqual(status, 0, stderr)
        return stdout.splitlines()[-1], stderr

    def assert_fails(self, content, line, seq, fragment, *options):
        """The verifier exits 1 and names export.jsonl:LINE: seq SEQ: ... FRAGMENT."""
        status, stdout, stderr = self.run_verifier(content, *options)
        self.assertEqual(status, 1, stderr)
        self.assertEqual(stdout, "")
        match = re.fullmatch(r".*export\.jsonl:(\d+): seq (\d+): (.*)\n", stderr, re.DOTALL)
        self.assertIsNotNone(match, stderr)
        self.assertEqual((int(match.group(1)), int(match.group(2))), (line, seq), stderr)
        self.assertIn(fragment, match.group(3))
        return match.group(3)


# --------------------------------------------------------------------------
# RFC 8785

class CanonicalJsonTests(unittest.TestCase):

    def test_short_escapes_and_other_controls_as_lowercase_u00xx(self):
        expected = {
            0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r",
            0x00: "\\u0000", 0x01: "\\u0001", 0x07: "\\u0007", 0x0B: "\\u000b", 0x0E: "\\u000e",
            0x0F: "\\u000f", 0x10: "\\u0010", 0x1A: "\\u001a", 0x1B: "\\u001b", 0x1F: "\\u001f",
        }
        for code in range(0x20):
            with self.subTest(code=code):
                written = verifier.jcs(chr(code))
                self.assertEqual(written, '"%s"' % expected.get(code, "\\u%04x" % code))
                self.assertEqual(written, written.lower() if code not in expected else written)
        self.assertEqual(verifier.jcs("\u001f"), '"\\u001f"')
        self.assertEqual(verifier.jcs("\u000b"), '"\\u000b"')

    def test_only_quote_backslash_and_controls_are_escaped(self):
        text = '"\\/\u007f\u0080é张\u2028\u2029\ufeff\U0001F600'
        self.assertEqual(verifier.jcs(text), '"\\"\\\\/\u007f\u0080é张\u2028\u2029\ufeff\U0001F600"')
        self.assertEqual(verifier.canonical_bytes("张😀"), '"张😀"'.encode("utf-8"))

    def test_rfc8785_string_example(self):
        # RFC 8785 §3.2.2, the "string" member of the example.
        value = json.loads(r'{"string": "\u20ac$\u000F\u000aA' + "'" + r'\u0042\u0022\u005c\\\"\/"}')
        self.assertEqual(verifier.jcs(value), '{"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')

    def test_keys_sort_by_utf16_code_units(self):
        # RFC 8785 §3.2.3: U+1F600 is the surrogate pair D83D DE00 in UTF-16,
        # so it sorts before U+FB33, although its code point is larger.
        value = json.loads(r'''{"\u20ac": "Euro Sign", "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"}''')
        keys = [json.loads(key) for key in re.findall(r'("(?:[^"\\]|\\.)*"):', verifier.jcs(value))]
        self.assertEqual(keys, ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"])
        self.assertEqual(verifier.jcs({"\ufb33": 1, "\U0001F600": 2}), '{"\U0001F600":2,"\ufb33":1}')
        self.assertNotEqual(sorted(["\ufb33", "\U0001F600"]), ["\U0001F600", "\ufb33"])  # code-point order differs

    def test_structure_integers_and_booleans(self):
        value = {"b": [1, True, False, "x", {"d": -5, "c": []}], "a": {}, "B": 0, "aa": -9223372036854775808}
        self.assertEqual(verifier.jcs(value),
                         '{"B":0,"a":{},"aa":-9223372036854775808,"b":[1,true,false,"x",{"c":[],"d":-5}]}')
        self.assertEqual(verifier.jcs(9223372036854775807), "9223372036854775807")
        self.assertEqual(verifier.jcs(True), "true")  # a bool is not the integer 1
        self.assertEqual(verifier.jcs(json.loads("-0")), "0")

    def test_floats_nulls_huge_integers_and_lone_surrogates_are_refused(self):
        for value in (1.5, {"a": [1.0]}, None, {"a": None}, [None], 2 ** 63, -(2 ** 63) - 1):
            with self.subTest(value=value):
                with self.assertRaises(verifier.RecordError) as caught:
                    verifier.canonical_bytes(value)
                self.assertIn("allowed in a record", str(caught.exception))
        for value in ("\ud800", {"\udc00": "x"}, ["a\udfffb"]):
            with self.subTest(value=value):
                with self.assertRaisesRegex(verifier.RecordError, "lone surrogate"):
                    verifier.canonical_bytes(value)

    def test_fast_path_writes_the_same_bytes_as_the_reference(self):
        samples = [chr(code) for code in range(0x300)] + [
            "\u2028", "\ufeff", "\uffff", "\U0001F600", "\U0010FFFF", 'a"b\\c\n\x7f张', "",
        ]
        values = samples + [{"k%d" % i: s, "arr": [s, i, True]} for i, s in enumerate(samples)] + [
            {"z": 1, "A": {"y": [], "x": {}}, "_": False, "": "empty key"},
            {"\ufb33": 1, "\U0001F600": 2, "a": 3},  # non-ASCII keys take the reference path
            [2 ** 63 - 1, -(2 ** 63)],
        ]
        for value in values:
            with self.subTest(value=value):
                self.assertEqual(verifier.canonical_bytes(value), verifier.jcs(value).encode("utf-8"))

    def test_a_record_hashes_as_its_canonical_text_written_out_by_hand(self):
        record = json.loads('{"prevHash":"%s","data":{"employer":"嘉定\\"阳光\\"\\n","needs":["rehab"],'
                            '"hours":12,"ok":true},"seq":1,"id":"ev-1","stream":"person-P1","version":1,'
                            '"type":"T","schema":1,"occurredAt":"2024-03-04",'
                            '"recordedAt":"2024-03-05T01:12:07.125Z","actor":"a","orgUnit":"anting"}' % ZERO)
        canonical = ('{"actor":"a","data":{"employer":"嘉定\\"阳光\\"\\n","hours":12,"needs":["rehab"],"ok":true},'
                     '"id":"ev-1","occurredAt":"2024-03-04","orgUnit":"anting","prevHash":"%s",'
                     '"recordedAt":"2024-03-05T01:12:07.125Z","schema":1,"seq":1,"stream":"person-P1",'
                     '"type":"T","version":1}' % ZERO)
        self.assertEqual(verifier.record_hash(record), sha256_hex(canonical.encode("utf-8")))

    def test_pii_commitment_is_salt_then_canonical_pii(self):
        salt = "00112233445566778899aabbccddeeff"
        pii = {"name": "张三", "idNumber": "31011419900101122X"}
        canonical = '{"idNumber":"31011419900101122X","name":"张三"}'.encode("utf-8")
        self.assertEqual(verifier.pii_commitment(salt, pii), sha256_hex(bytes.fromhex(salt) + canonical))


# --------------------------------------------------------------------------
# Whole exports

class GoodExportTests(VerifierTestCase):

    def test_a_good_chain_passes_and_prints_its_digest(self):
        chain = good_chain()
        digest, stderr = self.assert_passes(chain.lines)
        self.assertEqual(digest, digest_of(chain.lines[-1], chain.lines))
        self.assertIn("verified 8 records (seq 1\u20138), 2 pii commitments checked", stderr)

    def test_key_order_in_the_line_does_not_matter(self):
        chain = good_chain()
        shuffled = [dict(reversed(list(line.items()))) for line in chain.lines]
        digest, _ = self.assert_passes(shuffled)
        self.assertEqual(digest, digest_of(chain.lines[-1], chain.lines))

    def test_commitments_without_pii_and_masked_pii_pass(self):
        chain = good_chain()
        lines = [dict(line) for line in chain.lines]
        for key in ("pii", "piiSalt"):
            del lines[0][key]
        del lines[4]["pii"], lines[4]["piiSalt"]
        lines[4]["piiMasked"] = {"name": "李**", "phone": "1111"}
        _, stderr = self.assert_passes(lines)
        self.assertIn("0 pii commitments checked, 2 without pii", stderr)

    def test_non_ascii_data_keys_verify(self):
        chain = ExportBuilder()
        chain.add("org-anting", "LegalEducationHeld", {"\ufb33": "x", "\U0001F600": "y", "topic": "法"})
        self.assert_passes(chain.lines)

    def test_an_empty_export_prints_the_empty_digest(self):
        digest, _ = self.assert_passes("")
        self.assertEqual(digest, '{"seq":0,"hash":"%s","recordedAt":null}' % ZERO)

    def test_a_last_line_without_newline_and_crlf_line_ends_pass(self):
        text = ExportBuilder.text(good_chain().lines)
        self.assert_passes(text.rstrip("\n"))
        self.assert_passes(text.replace("\n", "\r\n"))

    def test_a_matching_digest_passes_given_inline_or_as_a_file(self):
        chain = good_chain()
        digest = digest_of(chain.lines[2])
        self.assert_passes(chain.lines, "--digest", digest)
        with_root = digest_of(chain.lines[2], chain.lines[:3])
        digest_file = self.directory / "digest.json"
        digest_file.write_text(with_root[:-1] + ',"other":1}\n', encoding="utf-8")  # unknown keys are ignored
        _, stderr = self.assert_passes(chain.lines, "--digest", str(digest_file))
        self.assertIn("contains the digested record seq 3 unchanged", stderr)
        self.assertIn("the Merkle root of seq 1-3 is the digest's", stderr)
        self.assert_passes(chain.lines, "--digest", '{"seq":0,"hash":"%s","recordedAt":null}' % ZERO)


class PartialExportTests(VerifierTestCase):
    """An export made with --from-seq 5."""

    def setUp(self):
        super().setUp()
        self.chain = good_chain()
        self.tail = self.chain.lines[4:]
        self.predecessor = self.chain.lines[3]["hash"]

    def test_without_prev_hash_it_passes_and_says_where_it_starts(self):
        digest, stderr = self.assert_passes(self.tail)
        self.assertEqual(digest, digest_of(self.chain.lines[-1]))
        self.assertIn("verified 4 records (seq 5\u20138)", stderr)
        self.assertIn("starts at seq 5 after prevHash %s" % self.predecessor, stderr)
        self.assertIn("not checked", stderr)

    def test_with_the_right_prev_hash_it_passes(self):
        _, stderr = self.assert_passes(self.tail, "--prev-hash", self.predecessor)
        self.assertIn("matches --prev-hash", stderr)

    def test_with_a_wrong_prev_hash_it_fails_at_its_first_seq(self):
        self.assert_fails(self.tail, 1, 5, "does not match --prev-hash", "--prev-hash", "cd" * 32)

    def test_only_seq_1_may_follow_64_zeros(self):
        chain = ExportBuilder()
        chain.add("person-P1", "PersonMoved", {"residence": "anting"}, seq=5, version=3)
        self.assert_fails(chain.lines, 1, 5, "prevHash is 64 zeros, which only seq 1 may have")

    def test_a_stream_may_first_appear_with_any_version_but_then_counts_on(self):
        # person-P1 first appears at version 4 (seq 8), case-C1 at version 2 (seq 7).
        self.assert_passes(self.chain.lines[6:])
        chain = good_chain()
        chain.add("case-C1", "CaseReassigned", {"worker": "w.zhao", "unit": "malu"}, version=4)
        self.assert_fails(chain.lines[6:], 3, 9, "version is 4, expected 3")


class TamperTests(VerifierTestCase):
    """Each tampering fails, naming the line and seq where the export stops being true."""

    def setUp(self):
        super().setUp()
        self.chain = good_chain()
        self.lines = self.chain.lines
        # split on "\n" only: str.splitlines would also split at U+2028 and U+0085 inside strings
        self.text_lines = [line + "\n" for line in ExportBuilder.text(self.lines).split("\n")[:-1]]
        self.assertEqual(len(self.text_lines), 8)

    def with_line(self, index, new_text):
        lines = list(self.text_lines)
        lines[index] = new_text
        return "".join(lines)

    def test_one_changed_character_in_data(self):
        tampered = self.with_line(7, replace_once(self.text_lines[7], '"malu"', '"malv"'))
        self.assert_fails(tampered, 8, 8, "hash does not match the record (computed ")

    def test_one_changed_character_in_escaped_text(self):
        tampered = self.with_line(3, replace_once(self.text_lines[3], "\\u001f", "\\u001e"))
        self.assert_fails(tampered, 4, 4, "hash does not match the record")

    def test_a_changed_hash(self):
        line = dict(self.lines[2], hash="0" * 63 + "1")
        message = self.assert_fails(self.lines[:2] + [line] + self.lines[3:], 3, 3, "hash does not match")
        self.assertIn("stated %s" % ("0" * 63 + "1"), message)

    def test_a_record_rewritten_with_a_fresh_hash_breaks_the_next_link(self):
        line = dict(self.lines[2])
        line["actor"] = "mallory"
        line["hash"] = sha256_hex(verifier.jcs({k: v for k, v in line.items() if k != "hash"}).encode())
        self.assert_fails(self.lines[:2] + [line] + self.lines[3:], 4, 4, "prevHash does not link to seq 3")

    def test_a_broken_prev_hash(self):
        chain = good_chain()
        chain.add("person-P1", "PersonMoved", {"residence": "anting"}, prev_hash="ab" * 32)
        self.assert_fails(chain.lines, 9, 9, "prevHash does not link to seq 8")

    def test_seq_1_must_follow_64_zeros(self):
        chain = ExportBuilder()
        chain.prev_hash = "11" * 32
        chain.add("person-P1", "PersonMoved", {"residence": "anting"})
        self.assert_fails(chain.lines, 1, 1, "expected 64 zeros")

    def test_a_gap_in_seq(self):
        self.assert_fails(self.lines[:4] + self.lines[5:], 5, 6, "seq is 6, expected 5")

    def test_a_gap_in_seq_with_a_consistent_chain(self):
        chain = good_chain()
        chain.add("person-P1", "PersonMoved", {"residence": "anting"}, seq=10)
        self.assert_fails(chain.lines, 9, 10, "seq is 10, expected 9")

    def test_two_lines_swapped(self):
        swapped = self.lines[:3] + [self.lines[4], self.lines[3]] + self.lines[5:]
        self.assert_fails(swapped, 4, 5, "seq is 5, expected 4")

    def test_a_version_gap(self):
        chain = good_chain()
        chain.add("person-P1", "PersonMoved", {"residence": "anting"}, version=7)
        self.assert_fails(chain.lines, 9, 9, "version is 7, expected 5 (stream person-P1)")

    def test_a_stream_that_does_not_start_at_version_1(self):
        chain = good_chain()
        chain.add("person-P2", "PersonMoved", {"residence": "anting"}, version=2)
        self.assert_fails(chain.lines, 9, 9, "version is 2, expected 1")

    def test_recorded_at_going_backwards(self):
        chain = good_chain()
        chain.add("person-P1", "PersonMoved", {"residence": "anting"}, recorded_at="2024-03-05T01:12:00.000Z")
        self.assert_fails(chain.lines, 9, 9, "recordedAt 2024-03-05T01:12:00.000Z goes backwards")

    def test_recorded_at_equal_to_the_last_one_is_fine(self):
        chain = good_chain()
        chain.add("person-P1", "PersonMoved", {"residence": "anting"}, recorded_at=self.lines[-1]["recordedAt"])
        self.assert_passes(chain.lines)

    def test_pii_that_does_not_match_its_commitment(self):
        line = dict(self.lines[4], pii={"name": "李五", "phone": "13800001111"})
        self.assert_fails(self.lines[:4] + [line] + self.lines[5:], 5, 5, "pii does not match piiCommitment")
        line = dict(self.lines[4], piiSalt="00" * 16)
        self.assert_fails(self.lines[:4] + [line] + self.lines[5:], 5, 5, "pii does not match piiCommitment")

    def test_an_unknown_key(self):
        line = dict(self.lines[5], foo=1)
        self.assert_fails(self.lines[:5] + [line] + self.lines[6:], 6, 6, 'unknown key "foo"')

    def test_a_missing_key(self):
        line = dict(self.lines[5])
        del line["orgUnit"]
        self.assert_fails(self.lines[:5] + [line] + self.lines[6:], 6, 6, 'missing key "orgUnit"')

    def test_a_duplicate_key(self):
        tampered = self.with_line(5, replace_once(self.text_lines[5], '{"seq":6,', '{"seq":6,"actor":"mallory",'))
        self.assert_fails(tampered, 6, 6, 'duplicate key "actor"')

    def test_a_duplicate_key_inside_data(self):
        tampered = self.with_line(6, replace_once(self.text_lines[6], '"outcome":"resolved"',
                                                  '"outcome":"withdrawn","outcome":"resolved"'))
        self.assert_fails(tampered, 7, 7, 'duplicate key "outcome"')

    def test_a_float_value(self):
        tampered = self.with_line(1, replace_once(self.text_lines[1], '"schema":1,', '"schema":1.0,'))
        self.assert_fails(tampered, 2, 2, "the number 1.0 is not allowed in a record")
        tampered = self.with_line(2, replace_once(self.text_lines[2], '"worker":"w.li"', '"worker":2e3'))
        self.assert_fails(tampered, 3, 3, "2e3 is not allowed in a record")

    def test_nan_and_null_values(self):
        tampered = self.with_line(2, replace_once(self.text_lines[2], '"worker":"w.li"', '"worker":NaN'))
        self.assert_fails(tampered, 3, 3, "NaN is not allowed in a record")
        tampered = self.with_line(2, replace_once(self.text_lines[2], '"worker":"w.li"', '"worker":null'))
        self.assert_fails(tampered, 3, 3, 'null (key "worker") is not allowed in a record')
        tampered = self.with_line(1, replace_once(self.text_lines[1], '"needs":["rehab","care"]',
                                                  '"needs":["rehab",null]'))
        self.assert_fails(tampered, 2, 2, "null is not allowed in a record")

    def test_an_integer_beyond_64_bits(self):
        tampered = self.with_line(5, replace_once(self.text_lines[5], "9223372036854775807", "9223372036854775808"))
        self.assert_fails(tampered, 6, 6, "outside the 64-bit range")

    def test_a_lone_surrogate(self):
        tampered = self.with_line(7, replace_once(self.text_lines[7], '"malu"', '"ma\\ud800lu"'))
        self.assert_fails(tampered, 8, 8, "lone surrogate (U+D800)")

    def test_pii_without_its_salt_or_commitment_and_masked_pii_that_is_not_text(self):
        line = dict(self.lines[4])
        del line["piiSalt"]
        self.assert_fails(self.lines[:4] + [line] + self.lines[5:], 5, 5, "pii without piiSalt")
        line = dict(self.lines[2], pii={"name": "x"}, piiSalt="00" * 16)
        self.assert_fails(self.lines[:2] + [line] + self.lines[3:], 3, 3, "pii without piiCommitment")
        line = dict(self.lines[4], pii={"name": "李四", "email": "x@y"})
        self.assert_fails(self.lines[:4] + [line] + self.lines[5:], 5, 5, 'pii holds "email"')
        line = dict(self.lines[4])
        del line["pii"], line["piiSalt"]
        line["piiMasked"] = {"name": 1}
        self.assert_fails(self.lines[:4] + [line] + self.lines[5:], 5, 5, "piiMasked.name is not a string")

    def test_malformed_fields(self):
        cases = [
            ("recordedAt", "2024-03-05T01:12:07Z", "is not an instant"),
            ("recordedAt", "2024-02-30T01:12:07.000Z", "is not a real calendar date"),
            ("recordedAt", "2024-03-05T24:00:00.000Z", "is not an instant"),
            ("occurredAt", "2024-13-01", "is not a real calendar date"),
            ("occurredAt", "２０２４-03-01", "is not a date YYYY-MM-DD"),
            ("version", 0, "is not an integer from 1"),
            ("schema", True, "is not an integer from 1"),
            ("seq", "6", "is not an integer from 1"),
            ("hash", "AB" * 32, "is not 64 lowercase hex digits"),
            ("data", ["x"], "data is not an object"),
            ("actor", "", "is not a non-empty string"),
        ]
        for key, value, fragment in cases:
            with self.subTest(key=key, value=value):
                line = dict(self.lines[5])
                line[key] = value
                self.assert_fails(self.lines[:5] + [line] + self.lines[6:], 6, 6, fragment)

    def test_lines_that_are_not_json_objects(self):
        self.assert_fails(self.with_line(2, '{"seq":3,\n'), 3, 3, "line is not valid JSON")
        self.assert_fails(self.with_line(2, "[1,2]\n"), 3, 3, "line is not a JSON object")
        self.assert_fails(self.with_line(2, "\ufeff" + self.text_lines[2]), 3, 3, "not valid JSON")
        self.assert_fails(ExportBuilder.text(self.lines[:2]).encode() + b'{"seq":3,"id":"\xff"}\n', 3, 3,
                          "line is not valid UTF-8")

    def test_a_line_longer_than_1_mib_is_refused_unread_as_restore_refuses_it(self):
        # No record comes near 1 MiB; a longer line, even a record padded with
        # spaces, is refused by its length, as sunledger restore refuses it.
        record = self.text_lines[2].rstrip("\n")
        limit = verifier.LONGEST_LINE
        exact = record + " " * (limit - len(record.encode()))
        self.assertEqual(self.assert_passes(self.with_line(2, exact + "\n"))[0],
                         self.assert_passes(ExportBuilder.text(self.lines))[0])
        self.assert_fails(self.with_line(2, exact + " \n"), 3, 3,
                          "line is longer than 1 MiB (%s bytes)" % format(limit + 1, ","))
        last = "".join(self.text_lines) + "x" * (3 * limit + 5)  # no newline at the end
        self.assert_fails(last, len(self.text_lines) + 1, len(self.text_lines) + 1,
                          "line is longer than 1 MiB (%s bytes)" % format(3 * limit + 5, ","))
        lines = list(verifier.bounded_lines(io.BytesIO(b"a\n" + b"b" * (limit + 1) + b"\r\nc")))
        self.assertEqual([line if isinstance(line, bytes) else line.length for line in lines],
                         [b"a\n", limit + 2, b"c"])

    def test_blank_lines_and_a_byte_order_mark_are_read_as_restore_reads_them(self):
        # sunledger restore skips a line of spaces and tabs and drops a BOM before
        # the first line; so does the verifier, and line numbers still count them.
        lines = list(self.text_lines)
        padded = ("\ufeff" + lines[0] + "\n" + "".join(lines[1:3]) + " \t\r\n" + "".join(lines[3:]) + "\n\n")
        digest_line, _ = self.assert_passes(padded)
        self.assertEqual(digest_line, self.assert_passes(ExportBuilder.text(self.lines))[0])
        tampered = list(lines)
        tampered[7] = replace_once(lines[7], '"malu"', '"malv"')
        self.assert_fails("".join(tampered[:3]) + "\n" + "".join(tampered[3:]), 9, 8, "hash does not match")
        # A BOM anywhere but before the first line, or a line of other white space, is no blank line.
        self.assert_fails(self.with_line(2, "\ufeff" + self.text_lines[2]), 3, 3, "not valid JSON")
        self.assert_fails(self.with_line(2, "\u00a0\n"), 3, 3, "line is not valid JSON")

    def test_a_digest_whose_hash_or_instant_differs(self):
        wrong_hash = '{"seq":3,"hash":"%s","recordedAt":"%s"}' % ("ab" * 32, self.lines[2]["recordedAt"])
        self.assert_fails(self.lines, 3, 3, "hash differs from the digest", "--digest", wrong_hash)
        wrong_time = '{"seq":3,"hash":"%s","recordedAt":"2024-03-05T01:12:21.250Z"}' % self.lines[2]["hash"]
        self.assert_fails(self.lines, 3, 3, "recordedAt differs from the digest", "--digest", wrong_time)

    def test_a_digest_of_a_seq_the_export_does_not_hold(self):
        digest = '{"seq":9,"hash":"%s","recordedAt":"2024-03-05T02:00:00.000Z"}' % ("ab" * 32)
        status, stdout, stderr = self.run_verifier(self.lines, "--digest", digest)
        self.assertEqual((status, stdout), (1, ""))
        self.assertIn("export.jsonl: the digest names seq 9, but the export holds seq 1-8", stderr)
        status, _, stderr = self.run_verifier(self.lines[4:], "--digest", digest_of(self.lines[2]))
        self.assertEqual(status, 1)
        self.assertIn("the export holds seq 5-8", stderr)


class UsageTests(VerifierTestCase):

    def test_bad_options_and_files_exit_2(self):
        lines = good_chain().lines
        for options in (["--prev-hash", "xyz"], ["--digest", "{not json"], ["--digest", '{"seq":1}'],
                        ["--digest", '{"seq":1,"hash":"%s","recordedAt":"yesterday"}' % ("ab" * 32)],
                        ["--digest", str(self.directory / "no-such-digest.json")], ["--no-such-option"]):
            with self.subTest(options=options):
                status, stdout, _ = self.run_verifier(lines, *options)
                self.assertEqual((status, stdout), (2, ""))
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertEqual(verifier.main([str(self.directory / "missing.jsonl")]), 2)
        self.assertIn("cannot read", stderr.getvalue())


class CommandLineTests(unittest.TestCase):
    """The script itself, run as an auditor would run it."""

    def run_script(self, arguments, stdin_bytes):
        environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        return subprocess.run([str(VERIFIER_PATH), *arguments], input=stdin_bytes, capture_output=True,
                              env=environment, timeout=60)

    def test_the_script_is_executable_and_reads_stdin(self):
        self.assertTrue(os.access(VERIFIER_PATH, os.X_OK))
        self.assertTrue(VERIFIER_PATH.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n"))
        chain = good_chain()
        text = ExportBuilder.text(chain.lines).encode("utf-8")
        for arguments in ([], ["-"]):
            with self.subTest(arguments=arguments):
                result = self.run_script(arguments, text)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stdout.decode("utf-8"), digest_of(chain.lines[-1], chain.lines) + "\n")
                self.assertIn("verified 8 records", result.stderr.decode("utf-8"))

    def test_a_failure_exits_1_and_names_stdin(self):
        lines = good_chain().lines
        text = ExportBuilder.text(lines[:1] + lines[2:]).encode("utf-8")
        result = self.run_script([], text)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.decode("utf-8"), "<stdin>:2: seq 3: seq is 3, expected 2\n")

    def test_wrong_usage_exits_2(self):
        self.assertEqual(self.run_script(["--prev-hash"], b"").returncode, 2)


# --------------------------------------------------------------------------
# Year-end returns (--returns DIR)

class ReturnsTests(VerifierTestCase):
    """A directory of returns as `sunledger report` writes it, stamped through seq 6 of the good chain."""

    def write_returns(self, lines, through=6, root=None, stamp_row_seq=None, leave_out=None):
        directory = self.directory / "returns"
        directory.mkdir(exist_ok=True)
        record = lines[through - 1]
        root = root or mth([bytes.fromhex(line["hash"]) for line in lines[:through]]).hex()
        stamp = {"program": "sunledger", "year": 2024, "asOf": "2024-12-31", "knownAt": None,
                 "throughSeq": through, "headHash": record["hash"], "recordedAt": record["recordedAt"],
                 "merkleRoot": root}
        csv_text = ("\ufeff持证残疾人口 Certified persons,2024年度 year 2024\r\n"
                    "统计标记 stamp,截至记录 through seq %d,记录哈希 head hash %s,默克尔根 Merkle root %s\r\n"
                    "街镇代码 unit code,街镇 unit\r\nall,全区\r\n"
                    % (stamp_row_seq or through, stamp["headHash"], root))
        contents = {"01-population.csv": csv_text.encode("utf-8"),
                    "report.json": json.dumps({"stamp": stamp, "tables": []}).encode("utf-8")}
        files = []
        for name, content in contents.items():
            files.append({"name": name, "bytes": len(content), "sha256": sha256_hex(content)})
            if name != leave_out:
                (directory / name).write_bytes(content)
        (directory / "manifest.json").write_text(json.dumps({"stamp": stamp, "files": files}), encoding="utf-8")
        return str(directory)

    def test_returns_stamped_by_the_export_pass(self):
        lines = good_chain().lines
        _, stderr = self.assert_passes(lines, "--returns", self.write_returns(lines))
        self.assertIn("returns of 2024 in", stderr)
        self.assertIn("2 files as manifest.json lists them, stamped through seq 6 of this export", stderr)

    def test_a_stamp_whose_merkle_root_is_not_the_exports_fails(self):
        lines = good_chain().lines
        status, _, stderr = self.run_verifier(lines, "--returns", self.write_returns(lines, root="ab" * 32))
        self.assertEqual(status, 1)
        self.assertIn("the Merkle root of seq 1-6 is", stderr)

    def test_a_stamp_row_that_states_another_seq_fails(self):
        lines = good_chain().lines
        status, _, stderr = self.run_verifier(lines, "--returns", self.write_returns(lines, stamp_row_seq=5))
        self.assertEqual(status, 1)
        self.assertIn("01-population.csv: its stamp row does not state through seq 6", stderr)

    def test_a_listed_file_that_is_missing_fails(self):
        lines = good_chain().lines
        returns = self.write_returns(lines, leave_out="report.json")
        status, _, stderr = self.run_verifier(lines, "--returns", returns)
        self.assertEqual(status, 1)
        self.assertIn("report.json: listed in manifest.json, cannot be read", stderr)

    def test_returns_take_no_digest(self):
        lines = good_chain().lines
        status, _, stderr = self.run_verifier(lines, "--returns", self.write_returns(lines),
                                              "--digest", digest_of(lines[5]))
        self.assertEqual(status, 2)
        self.assertIn("--returns DIR takes no --bundle, --digest or --prev-hash", stderr)


if __name__ == "__main__":
    unittest.main()


# --------------------------------------------------------------------------
# The Merkle tree and its proofs (events.md §7)

class MerkleTests(VerifierTestCase):

    leaves = [hashlib.sha256(b"record %d" % i).digest() for i in range(1, 41)]

    def test_a_digest_whose_merkle_root_is_not_the_records_fails(self):
        chain = good_chain()
        wrong = digest_of(chain.lines[2])[:-1] + ',"merkleRoot":"%s"}' % ("ab" * 32)
        self.assert_fails(chain.lines, 3, 3, "not the digest's merkleRoot", "--digest", wrong)

    def test_the_root_is_rfc_6962s_for_every_size(self):
        for n in range(0, len(self.leaves) + 1):
            frontier = verifier.MerkleFrontier()
            for leaf in self.leaves[:n]:
                frontier.append(leaf)
            self.assertEqual(frontier.root(), mth(self.leaves[:n]).hex(), n)
            self.assertEqual(verifier.merkle_root(self.leaves[:n]), mth(self.leaves[:n]), n)

    def test_every_audit_path_holds_and_a_changed_one_does_not(self):
        for n in range(1, len(self.leaves) + 1):
            root = mth(self.leaves[:n])
            for m in range(n):
                path = audit_path(m, self.leaves[:n])
                self.assertTrue(verifier.verify_inclusion(m, n, self.leaves[m], path, root), (m, n))
                other = self.leaves[(m + 1) % n] if n > 1 else hashlib.sha256(b"other").digest()
                self.assertEqual(verifier.verify_inclusion(m, n, other, path, root), n == 1 and other == self.leaves[m])
                if path:
                    tampered = path[:-1] + [bytes(32)]
                    self.assertFalse(verifier.verify_inclusion(m, n, self.leaves[m], tampered, root), (m, n))
                    self.assertFalse(verifier.verify_inclusion(m, n, self.leaves[m], path[:-1], root), (m, n))
                self.assertFalse(verifier.verify_inclusion(m, n, self.leaves[m], path, bytes(32)), (m, n))

    def test_every_consistency_proof_holds_and_a_changed_one_does_not(self):
        for n in range(0, 33):
            for m in range(0, n + 1):
                proof = consistency(m, self.leaves[:n]) if 0 < m < n else []
                first, second = mth(self.leaves[:m]), mth(self.leaves[:n])
                self.assertTrue(verifier.verify_consistency(m, n, proof, first, second), (m, n))
                if proof:
                    self.assertFalse(verifier.verify_consistency(m, n, proof[:-1] + [bytes(32)], first, second))
                    self.assertFalse(verifier.verify_consistency(m, n, proof, bytes(32), second), (m, n))
                if 0 < m < n:
                    self.assertFalse(verifier.verify_consistency(m, n, proof, first, bytes(32)), (m, n))
