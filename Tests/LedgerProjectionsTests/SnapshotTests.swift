import LedgerDomain
import LedgerProjections
import LedgerValues
import PropertyBased
import Testing

/// What reading `bytes` as a snapshot fails with, or nil when they read.
private func fault(_ bytes: [UInt8]) -> SnapshotError.Fault? {
    do {
        _ = try KPIProjection(snapshot: bytes)
        return nil
    } catch {
        return error.fault
    }
}

/// A small ledger touching every kind of fact the fold keeps: two units, two
/// workers, a person with a job, services, a doctor and care; a case, a call,
/// a project with an evaluation and an adoption, a volunteer, a rights case and
/// legal education.
private func smallLedger() -> TestLedger {
    var ledger = TestLedger()
    ledger.register("P1", on: "2024-01-10", born: "1968-02-29", category: .mental)
    ledger.register("P2", on: "2024-01-11", residence: "malu")
    ledger.add(
        "person-P1", "2024-02-01",
        .needsAssessed(NeedsAssessment(workCapacity: .partial, inEducation: false, needs: [.rehab, .assistiveDevice])))
    ledger.add(
        "person-P1", "2024-02-03",
        .employmentStarted(EmploymentStart(employmentID: "j1", form: .flexible, employer: "e")))
    ledger.add("person-P1", "2024-03-01", .rehabServiceDelivered(RehabService(serviceKind: .other)))
    ledger.add("person-P1", "2024-03-02", .familyDoctorContracted)
    ledger.add("person-P1", "2024-03-03", .careEnrolled(CareEnrolment(facility: "f")))
    ledger.add("person-P1", "2024-03-04", .trainingCompleted(Training(programme: .smartSkills, hours: 2)))
    ledger.add("person-P2", "2024-03-05", .personMoved(Move(residence: "anting")), unit: "malu")
    ledger.add(
        "case-K1", "2024-02-10", .caseOpened(CaseOpening(personID: "P1", serviceType: .care, worker: "w1")))
    ledger.add("case-K1", "2024-02-20", .caseReassigned(CaseReassignment(worker: "w2", unit: "malu")))
    ledger.add("call-C1", "2024-02-11", .callReceived(CallReceipt(topic: .policy, channel: .oneNetwork)), unit: "malu")
    ledger.add(
        "project-J1", "2024-01-15",
        .projectLaunched(ProjectLaunch(title: "t", operator: "o", category: .rehab, budgetYuan: 10)))
    ledger.add("project-J1", "2024-03-01", .projectEvaluated(ProjectEvaluation(year: 2024, score: 80)))
    ledger.add("project-J1", "2024-03-01", .projectAdopted(Adoption(company: "c", amountYuan: 500)))
    ledger.add(
        "volunteer-V1", "2024-01-20", .volunteerRegistered(VolunteerRegistration(partyMember: true, alliance: .kunshan))
    )
    ledger.add(
        "volunteer-V1", "2024-02-20", .volunteerServiceLogged(VolunteerService(minutes: 90, activity: "a")),
        unit: "malu")
    ledger.add("rights-R1", "2024-02-12", .rightsCaseOpened(RightsCaseOpening(kind: .legalAid)))
    ledger.add("org-anting", "2024-02-14", .legalEducationHeld(LegalEducation(attendees: 40, topic: "t")))
    return ledger
}

/// The days on which the figures of the small ledger are compared.
private let smallLedgerDays = ["2023-12-31", "2024-01-10", "2024-02-29", "2024-03-04", "2024-12-31", "2025-06-30"].map(
    day)

@Suite("snapshots of the KPI fold")
struct SnapshotTests {
    @Test(
        "a snapshot reads back to a fold with the same bytes, figures and caseload, for any prefix of a history",
        arguments: foldSeeds)
    func roundTrip(seed: UInt64) throws {
        var random = generator(seed)
        let events = randomHistory(events: 600, using: &random)
        let days = asOfDays(for: events, using: &random)
        for count in [0, 1, 9, 150, 333, 600] {
            let original = KPIProjection(events.prefix(count))
            let bytes = original.snapshot()
            let copy = try KPIProjection(snapshot: bytes)
            #expect(copy.snapshot() == bytes, "seed \(seed), N \(count)")
            #expect(copy.throughSeq == original.throughSeq)
            #expect(copy.lastRecordedAt == original.lastRecordedAt)
            #expect(original.differences(from: copy) == [], "seed \(seed), N \(count)")
            for d in days {
                #expect(copy.figures(asOf: d) == original.figures(asOf: d), "seed \(seed), N \(count), D \(d)")
                #expect(copy.caseload(asOf: d) == original.caseload(asOf: d), "seed \(seed), N \(count), D \(d)")
            }
        }
    }

    @Test("folding on from a snapshot read back gives what folding on from the original gives", arguments: foldSeeds)
    func foldingOnAfterReading(seed: UInt64) throws {
        var random = generator(seed)
        let events = randomHistory(events: 600, using: &random)
        let days = asOfDays(for: events, using: &random)
        for split in [1, 40, 200, 450, 599] {
            var original = KPIProjection(events.prefix(split))
            var copy = try KPIProjection(snapshot: original.snapshot())
            for event in events.dropFirst(split) {
                original.apply(event)
                copy.apply(event)
            }
            #expect(copy.snapshot() == original.snapshot(), "seed \(seed), split \(split)")
            #expect(original.differences(from: copy) == [], "seed \(seed), split \(split)")
            for d in days {
                #expect(copy.figures(asOf: d) == original.figures(asOf: d), "seed \(seed), split \(split), D \(d)")
                #expect(copy.caseload(asOf: d) == original.caseload(asOf: d), "seed \(seed), split \(split), D \(d)")
            }
        }
    }

    @Test(
        "after reading, new units and workers get the next numbers, open jobs end, earlier dates of a year and late reports land where they belong"
    )
    func foldingOnKeepsNumberingAndOrder() throws {
        var ledger = smallLedger()
        let read = ledger.events.count
        ledger.add("person-P2", "2024-02-01", .personMoved(Move(residence: "xuhang")), unit: "xuhang")
        ledger.add("person-P1", "2024-02-15", .rehabServiceDelivered(RehabService(serviceKind: .other)))
        ledger.add("person-P1", "2024-01-20", .familyDoctorContractEnded)
        ledger.add("person-P1", "2024-04-01", .employmentEnded(EmploymentEnd(employmentID: "j1", reason: .other)))
        ledger.add("person-P1", "2024-04-02", .personDeregistered(Deregistration(reason: .movedOut)))
        ledger.add("case-K1", "2024-02-15", .caseReassigned(CaseReassignment(worker: "w3", unit: "jiading")))
        ledger.add("call-C1", "2024-02-13", .callResolved(CallResolution(satisfied: true)))
        ledger.add("project-J1", "2024-02-01", .projectEvaluated(ProjectEvaluation(year: 2024, score: 70)))
        ledger.add("project-J1", "2024-03-01", .projectAdopted(Adoption(company: "d", amountYuan: 200)))
        ledger.add("rights-R1", "2024-02-20", .rightsCaseClosed(RightsCaseClosing(resolution: .mediated)))
        ledger.add(
            "volunteer-V1", "2024-02-20", .volunteerServiceLogged(VolunteerService(minutes: 30, activity: "a")),
            unit: "malu")

        var original = ledger.projection(through: read)
        var copy = try KPIProjection(snapshot: original.snapshot())
        for event in ledger.events.dropFirst(read) {
            original.apply(event)
            copy.apply(event)
            #expect(copy.snapshot() == original.snapshot(), "after seq \(event.seq)")
        }
        #expect(original.differences(from: copy) == [])
        for d in smallLedgerDays {
            #expect(copy.figures(asOf: d) == original.figures(asOf: d), "D \(d)")
            #expect(copy.caseload(asOf: d) == original.caseload(asOf: d), "D \(d)")
        }
        #expect(copy.caseload(asOf: day("2024-02-16")).byWorker == ["w3": 1])
    }

    @Test("a person's dates out of their order, or two first dates of one year, are refused")
    func personDatesInOrder() throws {
        var ledger = TestLedger()
        ledger.register("P1", on: "2021-01-01")
        ledger.add("person-P1", "2021-03-01", .rehabServiceDelivered(RehabService(serviceKind: .other)))
        ledger.add("person-P1", "2022-03-11", .rehabServiceDelivered(RehabService(serviceKind: .other)))
        let bytes = ledger.projection(through: ledger.events.count).snapshot()
        // The rehabilitation dates: a count of 2, then 59 and 434 days after the
        // registration, zigzag LEB128 (118; 868 in two bytes).
        let dates: [UInt8] = [2, 118, 0xE4, 0x06]
        let found = try #require(
            (0...(bytes.count - dates.count)).first { bytes[$0..<$0 + dates.count].elementsEqual(dates) })
        #expect(fault(bytes) == nil)
        func with(_ second: [UInt8]) -> [UInt8] {
            var changed = bytes
            changed.replaceSubrange(found + 2..<found + 4, with: second)
            return changed
        }
        // 69 days after (2021-03-11, zigzag 138): a second first date of 2021.
        #expect(fault(with([0x8A, 0x01])) == .malformed)
        // 100 days before (2020-09-23, zigzag 199): before the first.
        #expect(fault(with([0xC7, 0x01])) == .malformed)
        // 424 days after (2022-03-01, zigzag 848): a first date of 2022, read back.
        #expect(fault(with([0xD0, 0x06])) == nil)
    }

    @Test("the same events give the same bytes, however often folded", arguments: foldSeeds.prefix(2))
    func sameEventsSameBytes(seed: UInt64) {
        var random = generator(seed)
        let events = randomHistory(events: 400, using: &random)
        let first = KPIProjection(events)
        var second = KPIProjection()
        for event in events { second.apply(event) }
        #expect(first.snapshot() == first.snapshot())
        #expect(first.snapshot() == second.snapshot())
    }

    @Test("the order in which unrelated streams were folded does not show in the bytes")
    func dictionaryOrderDoesNotLeak() throws {
        let units = ["anting", "malu", "jiading", "xuhang"]
        func ledger(_ order: [Int]) -> TestLedger {
            var ledger = TestLedger()
            // Every unit and worker is numbered first, in one order, as numbering follows first sight.
            for unit in units { ledger.register("U-\(unit)", residence: unit) }
            for worker in ["w1", "w2"] {
                ledger.add(
                    "case-W\(worker)", "2023-01-01",
                    .caseOpened(CaseOpening(personID: "P", serviceType: .other, worker: worker)))
            }
            for i in order {
                let unit = units[i % units.count]
                let date = LocalDate(year: 2024, month: 1, day: 1)!.adding(days: i % 97).description
                ledger.register("P\(i)", on: date, born: "19\(10 + i % 89)-03-04", residence: unit)
                ledger.add(
                    "case-K\(i)", date,
                    .caseOpened(CaseOpening(personID: "P\(i)", serviceType: .rehab, worker: i % 3 == 0 ? "w1" : "w2")),
                    unit: unit)
                ledger.add("call-C\(i)", date, .callReceived(CallReceipt(topic: .other, channel: .phone)), unit: unit)
                ledger.add(
                    "project-J\(i)", date,
                    .projectLaunched(ProjectLaunch(title: "t", operator: "o", category: .other, budgetYuan: 1)),
                    unit: unit)
                ledger.add(
                    "project-J\(i)", date, .projectAdopted(Adoption(company: "c", amountYuan: Int64(i))), unit: unit)
                ledger.add(
                    "volunteer-V\(i)", date,
                    .volunteerRegistered(VolunteerRegistration(partyMember: i % 2 == 0, alliance: .taicang)),
                    unit: unit)
                ledger.add(
                    "volunteer-V\(i)", date,
                    .volunteerServiceLogged(VolunteerService(minutes: Int64(i + 1), activity: "a")), unit: unit)
                ledger.add("rights-R\(i)", date, .rightsCaseOpened(RightsCaseOpening(kind: .petition)), unit: unit)
                ledger.add(
                    "org-\(unit)", date, .legalEducationHeld(LegalEducation(attendees: Int64(i), topic: "t")),
                    unit: unit)
            }
            return ledger
        }
        let forwards = ledger(Array(0..<300)).projection
        let backwards = ledger((0..<300).reversed()).projection
        #expect(forwards.snapshot() == backwards.snapshot())
        #expect(forwards.differences(from: backwards) == [])
        let mixed = ledger((0..<300).map { ($0 * 7) % 300 }).projection
        #expect(mixed.snapshot() == forwards.snapshot())
    }

    @Test("streams are written in the order of their names' UTF-8 bytes, however long, in any script")
    func namesInByteOrder() throws {
        let long = "person-" + String(repeating: "x", count: 30)
        let keys = [
            long + "b", long + "a", long, long + "ab", "person-x", "person-\u{FF}", "person-z", "person-安亭", "person-Z",
            "person-" + String(repeating: "x", count: 17), "person-" + String(repeating: "x", count: 17) + "\u{0}",
        ]
        func ledger(_ keys: [String]) -> TestLedger {
            var ledger = TestLedger()
            ledger.register("first")
            for key in keys {
                ledger.add(
                    key, "2024-01-02",
                    .personRegistered(
                        PersonRegistration(
                            sex: .male, birthDate: day("1970-01-01"), category: .visual, grade: .one,
                            residence: "anting")))
            }
            return ledger
        }
        let bytes = ledger(keys).projection.snapshot()
        #expect(ledger(keys.reversed()).projection.snapshot() == bytes)
        let copy = try KPIProjection(snapshot: bytes)
        #expect(copy.snapshot() == bytes)

        /// Where `name`, with its length before it, is in the snapshot.
        func place(_ name: String) throws -> Int {
            let needle = [UInt8(name.utf8.count)] + Array(name.utf8)
            return try #require(
                bytes.indices.first { bytes[$0...].starts(with: needle) }, "\(name) not in the snapshot")
        }
        let places = try keys.map(place)
        let byBytes = keys.indices.sorted { keys[$0].utf8.lexicographicallyPrecedes(keys[$1].utf8) }
        #expect(byBytes.map { places[$0] } == places.sorted())
    }

    @Test("a snapshot starts with the tag SLKP and version 1")
    func tagAndVersion() {
        #expect(KPIProjection().snapshot().prefix(5) == [0x53, 0x4C, 0x4B, 0x50, 1])
        #expect(smallLedger().projection.snapshot().prefix(5) == [0x53, 0x4C, 0x4B, 0x50, 1])
    }

    @Test("every prefix shorter than the whole snapshot is refused as truncated", arguments: foldSeeds.prefix(2))
    func everyPrefixIsTruncated(seed: UInt64) {
        var random = generator(seed)
        let bytes = KPIProjection(randomHistory(events: 200, using: &random)).snapshot()
        #expect(bytes.count > 1000)
        for count in 0..<bytes.count {
            let prefix = Array(bytes.prefix(count))
            #expect(fault(prefix) == .truncated, "prefix of \(count) of \(bytes.count) bytes")
        }
        #expect(fault(bytes) == nil)
        #expect(fault(smallLedger().projection.snapshot()) == nil)
    }

    @Test("a wrong tag or version byte is refused")
    func wrongTagOrVersion() {
        let bytes = smallLedger().projection.snapshot()
        for version: UInt8 in [0, 2, 0xFF] {
            var changed = bytes
            changed[4] = version
            #expect(fault(changed) == .unsupportedVersion(version))
        }
        var changed = bytes
        changed[0] = UInt8(ascii: "X")
        #expect(fault(changed) == .notASnapshot)
        #expect(fault(Array(#"{"seq":1}"#.utf8)) == .notASnapshot)
        #expect(fault([0x53, 0x4C, 0x4B]) == .truncated)
        #expect(fault([]) == .truncated)
    }

    @Test("bytes after the snapshot's end are refused")
    func trailingBytes() {
        let bytes = smallLedger().projection.snapshot()
        #expect(fault(bytes + [0]) == .trailingBytes(1))
        #expect(fault(bytes + [1, 2, 3]) == .trailingBytes(3))
        #expect(fault(KPIProjection().snapshot() + [0]) == .trailingBytes(1))
    }

    @Test("a code that no category, service type or alliance has is refused, naming the stream")
    func unknownEnumerationValues() throws {
        /// The one byte in which the snapshots of the two ledgers differ.
        func differingByte(_ a: TestLedger, _ b: TestLedger) throws -> (bytes: [UInt8], position: Int) {
            let x = a.projection.snapshot()
            let y = b.projection.snapshot()
            try #require(x.count == y.count)
            let positions = x.indices.filter { x[$0] != y[$0] }
            try #require(positions.count == 1)
            return (x, positions[0])
        }
        var visual = TestLedger()
        visual.register("P1", category: .visual)
        var hearing = TestLedger()
        hearing.register("P1", category: .hearing)
        var rehab = TestLedger()
        rehab.add("case-K1", "2024-01-01", .caseOpened(CaseOpening(personID: "P", serviceType: .rehab, worker: "w")))
        var care = TestLedger()
        care.add("case-K1", "2024-01-01", .caseOpened(CaseOpening(personID: "P", serviceType: .care, worker: "w")))
        var jiading = TestLedger()
        jiading.add(
            "volunteer-V1", "2024-01-01",
            .volunteerRegistered(VolunteerRegistration(partyMember: false, alliance: .jiading)))
        var taicang = TestLedger()
        taicang.add(
            "volunteer-V1", "2024-01-01",
            .volunteerRegistered(VolunteerRegistration(partyMember: false, alliance: .taicang)))

        for (a, b, stream, what) in [
            (visual, hearing, "person-P1", "disability category"), (rehab, care, "case-K1", "service type"),
            (jiading, taicang, "volunteer-V1", "alliance"),
        ] {
            var (bytes, position) = try differingByte(a, b)
            for code: UInt8 in [7, 0x7F] {
                bytes[position] = code
                let error = try #require(throws: SnapshotError.self) { try KPIProjection(snapshot: bytes) }
                #expect(error.fault == .unknownValue)
                #expect(error.stream == stream)
                #expect(error.offset == position)
                #expect(error.description.contains("\(what) code \(code)"), "\(error)")
            }
        }
    }

    @Test("every table's streams are read back under their whole names; a name of another kind among them is refused")
    func streamKinds() throws {
        var ledger = TestLedger()
        ledger.register("P1", on: "2024-01-10")
        ledger.add("call-C9", "2024-03-06", .callReceived(CallReceipt(topic: .other, channel: .phone)))
        ledger.add("case-K1", "2024-01-01", .caseOpened(CaseOpening(personID: "P", serviceType: .rehab, worker: "w")))
        ledger.add(
            "project-J1", "2024-01-15",
            .projectLaunched(ProjectLaunch(title: "t", operator: "o", category: .rehab, budgetYuan: 10)))
        ledger.add(
            "volunteer-V1", "2024-01-20",
            .volunteerRegistered(VolunteerRegistration(partyMember: false, alliance: .kunshan)))
        ledger.add("rights-R1", "2024-02-12", .rightsCaseOpened(RightsCaseOpening(kind: .legalAid)))
        let bytes = ledger.projection.snapshot()
        let streams = [
            ("person-P1", "person"), ("call-C9", "call"), ("case-K1", "case"), ("project-J1", "project"),
            ("volunteer-V1", "volunteer"), ("rights-R1", "rights"),
        ]
        // The tables key them without their kind; the snapshot names them whole.
        for (name, _) in streams {
            #expect(bytes.firstRange(of: Array(name.utf8)) != nil, "\(name)")
        }
        #expect(try KPIProjection(snapshot: bytes).snapshot() == bytes)

        for (name, kind) in streams {
            // The same length, so that only the kind is wrong: `Xerson-P1`.
            let renamed = "X" + name.dropFirst()
            var changed = bytes
            let range = try #require(changed.firstRange(of: Array(name.utf8)))
            changed.replaceSubrange(range, with: Array(renamed.utf8))
            let error = try #require(throws: SnapshotError.self) { try KPIProjection(snapshot: changed) }
            #expect(error.fault == .malformed, "\(name)")
            #expect(error.stream == renamed)
            #expect(error.description.contains("not a \(kind) stream"), "\(error)")
        }
    }

    @Test("a snapshot with any one byte changed is refused, or reads back to those very bytes")
    func changedBytesAreRefusedOrCanonical() throws {
        let bytes = smallLedger().projection.snapshot()
        var read = 0
        for position in bytes.indices {
            for value: UInt8 in [0, 1, 2, 0x7F, 0x80, 0xFF, bytes[position] ^ 1] where value != bytes[position] {
                var changed = bytes
                changed[position] = value
                guard let copy = try? KPIProjection(snapshot: changed) else { continue }
                read += 1
                #expect(copy.snapshot() == changed, "byte \(position) set to \(value)")
                for d in smallLedgerDays { _ = copy.figures(asOf: d) }
            }
        }
        #expect(read > 0)
    }

    @Test("differences are empty for equal folds, and name what differs")
    func differencesNameWhatDiffers() {
        let ledger = smallLedger()
        #expect(ledger.projection.differences(from: ledger.projection) == [])
        #expect(KPIProjection().differences(from: KPIProjection()) == [])

        // One more event on a stream: the stream's facts, and the seq and time of the last record.
        var more = ledger
        more.add("person-P2", "2024-03-06", .healthCheckCompleted)
        let lines = ledger.projection.differences(from: more.projection)
        #expect(lines.contains("throughSeq \(ledger.events.count) against \(more.events.count)"))
        #expect(lines.contains("person-P2: facts differ (health checks)"))
        #expect(lines.count == 3, "\(lines)")

        // A stream in one fold only.
        var call = ledger
        call.add("call-C9", "2024-03-06", .callReceived(CallReceipt(topic: .other, channel: .phone)))
        #expect(call.projection.differences(from: ledger.projection).contains("stream call-C9 only in the first"))
        #expect(ledger.projection.differences(from: call.projection).contains("stream call-C9 only in the second"))

        // The same events but one amount: the sum of its day and unit.
        var adopted = ledger
        adopted.add("project-J1", "2024-03-07", .projectAdopted(Adoption(company: "c", amountYuan: 700)))
        var other = ledger
        other.add("project-J1", "2024-03-07", .projectAdopted(Adoption(company: "c", amountYuan: 500)))
        #expect(
            other.projection.differences(from: adopted.projection) == [
                "adoptions on 2024-03-07 in unit 0 (anting): 500 against 700"
            ])

        // Many differences: at most `limit` lines.
        var many = ledger
        for i in 0..<30 { many.register("Q\(i)") }
        #expect(ledger.projection.differences(from: many.projection).count == 20)
        #expect(ledger.projection.differences(from: many.projection, limit: 5).count == 5)
    }
}
