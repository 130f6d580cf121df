"""Tests of tools/gen-events: determinism, and that every line is valid.

Run from the repository root:  python3 -m unittest discover -s tools/tests -v

The validity test re-implements the rules of shared/spec/events.md §6 (1-7)
independently of the generator, for a fresh ledger, and checks a 20,000-event
sample line by line; an error names the line, the field and the rule, as the
ledger would. Standard library only.
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[1] / "gen-events"
SAMPLE_EVENTS = 20_000

# --------------------------------------------------------------------------
# The contract, restated from shared/spec/events.md.

ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")
ACTOR_RE = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
EMPLOYMENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
WORKER_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INSTANT_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})")
KINDS = ("person", "case", "call", "project", "volunteer", "rights", "org")
TWELVE = ("xinchenglu", "zhenxin", "jiadingzhen", "nanxiang", "anting", "malu",
          "xuhang", "huating", "waigang", "jiangqiao", "juyuan", "industrial")
UNITS = TWELVE + ("jiading",)
TOP_LEVEL = {"id", "stream", "type", "occurredAt", "recordedAt", "actor",
             "orgUnit", "expectedVersion", "data", "pii"}
REQUIRED = {"id", "stream", "type", "occurredAt", "actor", "orgUnit", "data"}


def enum(*values):
    return ("enum", values)


CATEGORY = enum("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
GRADE = ("int", 1, 4)
TEXT = ("text",)
PERSON_ID = ("pattern", KEY_RE)

# type -> (stream kind, role, data fields {name: (rule, required)}, pii)
# pii: None (not allowed), or (required fields, optional fields, non-empty subset rule)
CATALOGUE = {
    "PersonRegistered": ("person", "opener", {
        "sex": enum("M", "F"), "birthDate": ("date",), "category": CATEGORY,
        "grade": GRADE, "residence": enum(*TWELVE)},
        ({"name", "idNumber"}, {"phone", "address"}, False)),
    "PersonReassessed": ("person", None, {"category": CATEGORY, "grade": GRADE}, None),
    "PersonMoved": ("person", None, {"residence": enum(*TWELVE)}, None),
    "PersonPiiCorrected": ("person", None, {}, (set(), {"name", "phone", "address"}, True)),
    "PersonPiiErased": ("person", None, {"reason": TEXT}, None),
    "PersonDeregistered": ("person", "closer", {
        "reason": enum("deceased", "moved_out", "certificate_revoked")}, None),
    "NeedsAssessed": ("person", None, {
        "workCapacity": enum("full", "partial", "none"), "inEducation": ("bool",),
        "needs": ("needs",)}, None),
    "EmploymentStarted": ("person", None, {
        "employmentId": ("pattern", EMPLOYMENT_ID_RE),
        "form": enum("concentrated", "proportional", "self_employed", "flexible",
                     "auxiliary", "public_welfare_post", "agricultural"),
        "employer": TEXT}, None),
    "EmploymentEnded": ("person", None, {
        "employmentId": ("pattern", EMPLOYMENT_ID_RE),
        "reason": enum("resigned", "dismissed", "contract_ended", "retired", "other")}, None),
    "TrainingCompleted": ("person", None, {
        "programme": enum("vocational", "internship", "smart_skills"),
        "hours": ("int", 1, 2000)}, None),
    "RehabServiceDelivered": ("person", None, {"serviceKind": enum(
        "physical_therapy", "speech_therapy", "cognitive_training",
        "psychiatric_support", "community_rehab", "other")}, None),
    "AssistiveDeviceFitted": ("person", None, {"deviceKind": enum(
        "wheelchair", "hearing_aid", "visual_aid", "prosthesis_orthosis",
        "daily_living_aid", "other")}, None),
    "HomeModificationCompleted": ("person", None, {
        "programme": enum("government_project", "other"),
        "costYuan": ("int", 0, 10_000_000)}, None),
    "HealthCheckCompleted": ("person", None, {}, None),
    "FamilyDoctorContracted": ("person", None, {}, None),
    "FamilyDoctorContractEnded": ("person", None, {}, None),
    "CareEnrolled": ("person", None, {"facility": TEXT}, None),
    "CareEnded": ("person", None, {}, None),
    "CaseOpened": ("case", "opener", {
        "personId": PERSON_ID,
        "serviceType": enum("rehab", "employment", "assistive_device",
                            "home_modification", "care", "rights", "other"),
        "worker": ("pattern", WORKER_RE)}, None),
    "CaseReassigned": ("case", None, {
        "worker": ("pattern", WORKER_RE), "unit": enum(*TWELVE)}, None),
    "CaseClosed": ("case", "closer", {"outcome": enum("resolved", "referred", "withdrawn")}, None),
    "CallReceived": ("call", "opener", {
        "topic": enum("policy", "employment", "rehab", "assistive_device", "complaint", "other"),
        "channel": enum("phone", "online", "one_network", "policy_assistant"),
        "personId?": PERSON_ID}, None),
    "CallResolved": ("call", "closer", {"satisfied": ("bool",)}, None),
    "ProjectLaunched": ("project", "opener", {
        "title": TEXT, "operator": TEXT,
        "category": enum("life_service", "rehab", "employment", "culture_sports", "other"),
        "budgetYuan": ("int", 0, 100_000_000)}, None),
    "ProjectEvaluated": ("project", None, {"year": ("year",), "score": ("int", 0, 100)}, None),
    "ProjectAdopted": ("project", None, {
        "company": TEXT, "amountYuan": ("int", 1, 100_000_000)}, None),
    "ProjectEliminated": ("project", "closer", {"reason": TEXT}, None),
    "VolunteerRegistered": ("volunteer", "opener", {
        "partyMember": ("bool",), "alliance": enum("jiading", "kunshan", "taicang")},
        (set(), {"name", "phone"}, False)),
    "VolunteerServiceLogged": ("volunteer", None, {
        "minutes": ("int", 1, 1440), "activity": TEXT}, None),
    "RightsCaseOpened": ("rights", "opener", {
        "kind": enum("complaint", "legal_aid", "petition"), "personId?": PERSON_ID}, None),
    "RightsCaseClosed": ("rights", "closer", {
        "resolution": enum("resolved", "mediated", "referred", "rejected")}, None),
    "LegalEducationHeld": ("org", None, {
        "attendees": ("int", 1, 100_000), "topic": TEXT}, None),
}
OPENER_OF = {kind: t for t, (kind, role, _, _) in CATALOGUE.items() if role == "opener"}
NEEDS = ("rehab", "assistive_device", "home_modification", "employment", "care")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def gb11643_valid(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(number[:17], WEIGHTS))
    return number[17] == "10X98765432"[total % 11]


def real_date(text) -> datetime.date | None:
    if not isinstance(text, str) or not DATE_RE.fullmatch(text):
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2100 else None


def instant_ms(text) -> int | None:
    """Milliseconds since 1970 of an RFC 3339 instant (fraction truncated)."""
    m = INSTANT_RE.fullmatch(text) if isinstance(text, str) else None
    if not m:
        return None
    day = real_date(m[1])
    if day is None or int(m[2]) > 23 or int(m[3]) > 59 or int(m[4]) > 59:
        return None
    offset = 0
    if m[6] != "Z":
        sign = 1 if m[6][0] == "+" else -1
        offset = sign * (int(m[6][1:3]) * 3600 + int(m[6][4:6]) * 60)
    seconds = ((day.toordinal() - 719163) * 86400 + int(m[2]) * 3600
               + int(m[3]) * 60 + int(m[4]) - offset)
    millis = int((m[5] or ".0")[1:4].ljust(3, "0"))
    return seconds * 1000 + millis


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Ledger:
    """What a fresh ledger remembers while it checks lines one after another."""

    def __init__(self, clock_ms: int) -> None:
        self.clock_ms = clock_ms
        self.ids: set[str] = set()
        self.last_ms = None
        self.streams: dict[str, dict] = {}

    def check(self, e) -> list[str]:
        """The rules `e` breaks (empty: stored). Stops at the first rule group that fails."""
        errors = self.shape(e)
        if errors:
            return errors
        # 2. identity: a fresh ledger fed unique ids sees no duplicates.
        if e["id"] in self.ids:
            return [f"id: duplicate {e['id']}"]
        # 3. time
        ms = instant_ms(e["recordedAt"])
        occurred = real_date(e["occurredAt"])
        local = datetime.date.fromordinal(719163 + (ms // 1000 + 8 * 3600) // 86400)
        if occurred > local:
            errors.append("occurredAt: after the local date of recordedAt")
        if self.last_ms is not None and ms < self.last_ms:
            errors.append("recordedAt: before the last stored recordedAt")
        if ms > self.clock_ms + 300_000:
            errors.append("recordedAt: in the future")
        # 4. stream order
        kind, key = e["stream"].split("-", 1)
        etype = e["type"]
        role = CATALOGUE[etype][1]
        s = self.streams.get(e["stream"])
        if s is None:
            if kind in OPENER_OF and etype != OPENER_OF[kind]:
                errors.append(f"type: a {kind} stream must open with {OPENER_OF[kind]}")
        elif role == "opener":
            errors.append("type: an opener must be the stream's first event")
        if role == "closer" and s is not None and s["closed"] is not None:
            errors.append("type: the stream is already closed")
        version = 0 if s is None else s["version"]
        if "expectedVersion" in e and e["expectedVersion"] != version:
            errors.append(f"expectedVersion: is {e['expectedVersion']}, stream at {version}")
        if kind == "org" and e["orgUnit"] != key:
            errors.append("orgUnit: must equal the org stream's unit")
        # 5. effective dates
        if s is not None:
            if s["opened"] is not None and occurred < s["opened"]:
                errors.append("occurredAt: before the stream's opener")
            if role == "closer" and occurred < s["latest"]:
                errors.append("occurredAt: a closer dated before an event of its stream")
            if s["closed"] is not None and occurred > s["closed"]:
                errors.append("occurredAt: dated after the stream's closer")
        # 6. person rules
        data = e["data"]
        if etype == "PersonRegistered":
            birth = real_date(data["birthDate"])
            number = e["pii"]["idNumber"]
            if birth > occurred:
                errors.append("data.birthDate: after the registration")
            if not gb11643_valid(number):
                errors.append("pii.idNumber: not a valid GB 11643 number")
            elif number[6:14] != data["birthDate"].replace("-", ""):
                errors.append("pii.idNumber: birth date differs from birthDate")
            elif int(number[16]) % 2 != (1 if data["sex"] == "M" else 0):
                errors.append("pii.idNumber: sex digit differs from sex")
        employments = s["employments"] if s is not None else {}
        if etype == "EmploymentStarted" and data["employmentId"] in employments:
            errors.append("data.employmentId: not new to the stream")
        if etype == "EmploymentEnded":
            started = employments.get(data["employmentId"])
            if started is None or started[1]:
                errors.append("data.employmentId: not started, or already ended")
            elif occurred < started[0]:
                errors.append("occurredAt: an employment ended before it started")
        # 7. references
        if "personId" in data and f"person-{data['personId']}" not in self.streams:
            errors.append("data.personId: no such person stored")
        if errors:
            return errors
        # Stored.
        self.ids.add(e["id"])
        self.last_ms = ms
        if s is None:
            s = self.streams[e["stream"]] = {
                "version": 0, "opened": occurred if role == "opener" else None,
                "latest": occurred, "closed": None, "employments": {}}
        s["version"] += 1
        s["latest"] = max(s["latest"], occurred)
        if role == "closer":
            s["closed"] = occurred
        if etype == "EmploymentStarted":
            s["employments"][data["employmentId"]] = (occurred, False)
        elif etype == "EmploymentEnded":
            s["employments"][data["employmentId"]] = (employments[data["employmentId"]][0], True)
        return []

    def shape(self, e) -> list[str]:
        """Rule 1: keys, patterns, catalogue fields, kinds, ranges, enumerations."""
        if not isinstance(e, dict):
            return ["line: not a JSON object"]
        errors = [f"{k}: unknown key" for k in e if k not in TOP_LEVEL]
        errors += [f"{k}: missing" for k in REQUIRED if k not in e]
        if errors:
            return errors
        if not isinstance(e["id"], str) or not ID_RE.fullmatch(e["id"]):
            errors.append("id: pattern")
        stream = e["stream"]
        kind, _, key = stream.partition("-") if isinstance(stream, str) else ("", "", "")
        if kind not in KINDS or not KEY_RE.fullmatch(key):
            return errors + ["stream: pattern"]
        if e["type"] not in CATALOGUE or CATALOGUE[e["type"]][0] != kind:
            return errors + ["type: not a type of the stream's kind"]
        occurred = real_date(e["occurredAt"])
        if occurred is None:
            errors.append("occurredAt: not a real date")
        if "recordedAt" not in e or instant_ms(e["recordedAt"]) is None:
            errors.append("recordedAt: not an RFC 3339 instant (required by this test)")
        if not isinstance(e["actor"], str) or not ACTOR_RE.fullmatch(e["actor"]):
            errors.append("actor: pattern")
        if e["orgUnit"] not in UNITS:
            errors.append("orgUnit: not a unit")
        if "expectedVersion" in e and not (is_int(e["expectedVersion"]) and e["expectedVersion"] >= 0):
            errors.append("expectedVersion: not an integer >= 0")
        _, _, fields, pii_rule = CATALOGUE[e["type"]]
        data = e["data"]
        if not isinstance(data, dict):
            return errors + ["data: not an object"]
        allowed = {name.rstrip("?") for name in fields}
        errors += [f"data.{k}: unknown field" for k in data if k not in allowed]
        for name, rule in fields.items():
            field = name.rstrip("?")
            if field not in data:
                if not name.endswith("?"):
                    errors.append(f"data.{field}: missing")
                continue
            problem = field_problem(rule, data[field], occurred)
            if problem:
                errors.append(f"data.{field}: {problem}")
        if "pii" in e:
            if pii_rule is None:
                errors.append("pii: not allowed on this type")
            else:
                required, optional, non_empty = pii_rule
                pii = e["pii"]
                if not isinstance(pii, dict):
                    errors.append("pii: not an object")
                else:
                    errors += [f"pii.{k}: unknown field" for k in pii if k not in required | optional]
                    errors += [f"pii.{k}: missing" for k in required if k not in pii]
                    errors += [f"pii.{k}: not a non-empty string" for k, v in pii.items()
                               if not isinstance(v, str) or not v]
                    if non_empty and not pii:
                        errors.append("pii: empty")
        elif pii_rule is not None and (pii_rule[0] or pii_rule[2]):
            errors.append("pii: required")
        return errors


def field_problem(rule, value, occurred) -> str | None:
    kind = rule[0]
    if kind == "enum":
        return None if isinstance(value, str) and value in rule[1] else f"not one of {rule[1]}"
    if kind == "int":
        return None if is_int(value) and rule[1] <= value <= rule[2] else f"not in {rule[1]}..{rule[2]}"
    if kind == "bool":
        return None if isinstance(value, bool) else "not a boolean"
    if kind == "date":
        return None if real_date(value) else "not a real date"
    if kind == "text":
        return None if isinstance(value, str) and 1 <= len(value) <= 128 else "not 1-128 characters"
    if kind == "pattern":
        return None if isinstance(value, str) and rule[1].fullmatch(value) else "pattern"
    if kind == "year":
        top = occurred.year if occurred else 2100
        return None if is_int(value) and 1990 <= value <= top else "not in 1990..year of occurredAt"
    if kind == "needs":
        if not isinstance(value, list) or not all(isinstance(v, str) and v in NEEDS for v in value):
            return "not an array of needs"
        return None if len(set(value)) == len(value) else "needs not distinct"
    raise AssertionError(rule)


# --------------------------------------------------------------------------

def generate(*args: str, env: dict | None = None) -> bytes:
    result = subprocess.run([sys.executable, str(GENERATOR), *args], check=True,
                            capture_output=True, env=env)
    return result.stdout


class GenEventsTest(unittest.TestCase):
    sample: bytes
    events: list[dict]

    @classmethod
    def setUpClass(cls) -> None:
        cls.sample = generate("--events", str(SAMPLE_EVENTS), "--seed", "7")
        cls.events = [json.loads(line) for line in cls.sample.splitlines()]

    def test_writes_exactly_n_lines(self):
        self.assertEqual(len(self.events), SAMPLE_EVENTS)
        self.assertTrue(self.sample.endswith(b"\n"))
        self.assertEqual(generate("--events", "0", "--seed", "1"), b"")
        self.assertEqual(len(generate("--events", "37", "--seed", "1").splitlines()), 37)
        # More persons than lines: still exactly N valid lines.
        small = generate("--events", "50", "--seed", "3", "--persons", "200")
        self.assertEqual(len(small.splitlines()), 50)
        self.assertValid(small)

    def test_same_seed_gives_same_bytes_whatever_the_hash_seed(self):
        env1 = dict(os.environ, PYTHONHASHSEED="1")
        env2 = dict(os.environ, PYTHONHASHSEED="2")
        first = generate("--events", str(SAMPLE_EVENTS), "--seed", "7", env=env1)
        second = generate("--events", str(SAMPLE_EVENTS), "--seed", "7", env=env2)
        self.assertEqual(first, self.sample)
        self.assertEqual(second, self.sample)

    def test_different_seed_gives_different_bytes(self):
        other = generate("--events", str(SAMPLE_EVENTS), "--seed", "8")
        self.assertNotEqual(other, self.sample)

    def test_id_numbers_have_valid_check_characters(self):
        numbers = [e["pii"]["idNumber"] for e in self.events if e["type"] == "PersonRegistered"]
        self.assertGreater(len(numbers), 100)
        for number in numbers:
            self.assertTrue(gb11643_valid(number), number)
            self.assertTrue(number.startswith("310114"), number)
        self.assertEqual(len(set(numbers)), len(numbers), "id numbers repeat")
        # The check itself, on the spec's worked examples.
        self.assertTrue(gb11643_valid("310114198002290025"))
        self.assertFalse(gb11643_valid("310114198002290026"))

    def test_recorded_at_never_decreases_and_stays_before_2026(self):
        instants = [instant_ms(e["recordedAt"]) for e in self.events]
        self.assertTrue(all(a <= b for a, b in zip(instants, instants[1:])))
        self.assertLess(instants[-1], instant_ms("2026-01-01T00:00:00Z"))

    def test_ids_are_unique_and_sequential(self):
        ids = [e["id"] for e in self.events]
        self.assertEqual(len(set(ids)), len(ids))
        self.assertEqual(ids[0], "ev-000000001")
        self.assertEqual(ids[-1], f"ev-{SAMPLE_EVENTS:09d}")

    def test_every_catalogue_type_appears(self):
        seen = collections.Counter(e["type"] for e in self.events)
        self.assertEqual(sorted(set(CATALOGUE) - set(seen)), [])

    def test_occurred_at_within_2016_to_2025(self):
        days = [e["occurredAt"] for e in self.events]
        self.assertGreaterEqual(min(days), "2016-01-01")
        self.assertLessEqual(max(days), "2025-12-31")

    def test_some_events_are_recorded_weeks_late(self):
        late = 0
        for e in self.events:
            recorded = datetime.date.fromisoformat(e["recordedAt"][:10])
            if (recorded - datetime.date.fromisoformat(e["occurredAt"])).days >= 14:
                late += 1
        self.assertTrue(0.03 < late / len(self.events) < 0.09, late / len(self.events))

    def test_pii_only_on_types_that_list_it(self):
        for e in self.events:
            if "pii" in e:
                self.assertIn(e["type"], ("PersonRegistered", "PersonPiiCorrected",
                                          "VolunteerRegistered"))

    def test_every_line_passes_every_validation_rule(self):
        self.assertValid(self.sample)

    def test_the_restated_rules_refuse_what_the_spec_refuses(self):
        # The check above is only as strict as these: digits of other
        # scripts and a trailing line break must not pass for ASCII.
        self.assertEqual(instant_ms("2024-01-01T00:00:00Z"), 1704067200000)
        self.assertIsNone(instant_ms("2024-01-01T\u0661\u0662:00:00Z"))
        self.assertIsNone(instant_ms("2024-01-01T00:00:00+\u0660\u0668:00"))
        self.assertIsNone(real_date("\u0662\u0660\u0662\u0664-01-01"))
        self.assertIsNone(ID_RE.fullmatch("ev-1\n"))

    def assertValid(self, raw: bytes) -> None:
        ledger = Ledger(clock_ms=instant_ms("2026-01-01T00:00:00Z"))
        failures = []
        for number, line in enumerate(raw.splitlines(), 1):
            event = json.loads(line)
            for error in ledger.check(event):
                failures.append(f"line {number}: {error}")
        self.assertEqual(failures[:20], [])


if __name__ == "__main__":
    unittest.main()
