import LedgerDomain

/// Writing a planned event as one compact line of the interchange form
/// (events.md §1): `id`, `stream`, `type`, `occurredAt`, `recordedAt` (UTC,
/// milliseconds), `actor`, `orgUnit`, `data` and, where the type carries it,
/// `pii`. Keys and codes are appended as bytes; free text comes from
/// `DistrictWords`, which holds nothing that JSON would need to escape.
extension DistrictSimulation {
    mutating func writeLine(_ event: PlannedEvent) {
        written += 1
        let position = Int(event.type)
        typeCounts[position] += 1
        out.text(#"{"id":"e"#)
        out.padded(Int64(written), width: 9)
        out.text(#"","stream":""#)
        writeStream(event)
        out.text(#"","type":""#)
        out.bytes(codes.eventTypes[position])
        out.text(#"","occurredAt":""#)
        dates.write(Int(event.occurredAt), into: &out)
        out.text(#"","recordedAt":""#)
        dates.writeInstant(event.recordedAt, into: &out)
        out.text(#"","actor":""#)
        out.bytes(staff.codes[Int(event.actor)])
        out.text(#"","orgUnit":""#)
        out.bytes(units.codes[Int(event.orgUnit)])
        out.text(#"","data":"#)
        writeData(event)
        out.text("}\n")
    }

    private mutating func writeStream(_ event: PlannedEvent) {
        let key = event.key
        switch Catalogue.eventTypes[Int(event.type)].kind {
        case .person:
            out.text("person-")
            writePersonKey(key)
        case .case:
            out.text("case-C")
            out.decimal(key / 10_000_000)
            out.byte(0x2D)
            out.padded(key % 10_000_000, width: 5)
        case .call:
            out.text("call-")
            let (year, month, day) = SynthesisCalendar.components(Int(key / 100_000))
            out.decimal(Int64(year))
            out.twoDigits(month)
            out.twoDigits(day)
            out.byte(0x2D)
            out.padded(key % 100_000, width: 4)
        case .project:
            out.text("project-PJ")
            out.decimal(key / 100_000)
            out.byte(0x2D)
            out.padded(key % 100_000, width: 3)
        case .volunteer:
            out.text("volunteer-V")
            out.padded(key, width: 5)
        case .rights:
            out.text("rights-R")
            out.decimal(key / 10_000_000)
            out.byte(0x2D)
            out.padded(key % 10_000_000, width: 4)
        case .org:
            out.text("org-")
            out.bytes(units.codes[Int(key)])
        }
    }

    private mutating func writePersonKey(_ key: Int64) {
        out.byte(0x50)
        out.padded(key, width: personKeyWidth)
    }

    // swift-format-ignore
    private mutating func writeData(_ event: PlannedEvent) {
        let a = event.a
        let b = event.b
        switch Catalogue.eventTypes[Int(event.type)] {
        case .personRegistered:
            let person = people[Int(event.key) - 1]
            out.text(#"{"sex":""#)
            out.bytes(codes.sex[Int(person.sex)])
            out.text(#"","birthDate":""#)
            dates.write(Int(person.birth), into: &out)
            out.text(#"","category":""#)
            out.bytes(codes.category[Int(a >> 8 & 0xFF)])
            out.text(#"","grade":"#)
            out.decimal(a >> 16 & 0xFF)
            out.text(#","residence":""#)
            out.bytes(units.codes[Int(a & 0xFF)])
            out.text(#""},"pii":{"name":""#)
            writeName(Int64(person.name))
            out.text(#"","idNumber":""#)
            writeIDNumber(person)
            if a & 1 << 24 != 0 {
                out.text(#"","phone":""#)
                writePhone(UInt64(event.key) &* 0x1_0000_0001)
            }
            if a & 1 << 25 != 0 {
                out.text(#"","address":""#)
                writeAddress(UInt64(event.key) &* 0x2_0000_0003, unit: Int(a & 0xFF))
            }
            out.text(#""}"#)
        case .personReassessed:
            out.text(#"{"category":""#)
            out.bytes(codes.category[Int(a & 0xFF)])
            out.text(#"","grade":"#)
            out.decimal(a >> 8 & 0xFF)
            out.byte(0x7D)
        case .personMoved:
            out.text(#"{"residence":""#)
            out.bytes(units.codes[Int(a)])
            out.text(#""}"#)
        case .personPiiCorrected:
            out.text(#"{},"pii":{"#)
            var separator = false
            if a & 1 != 0 {
                out.text(#""name":""#)
                writeName(a >> 16)
                out.byte(0x22)
                separator = true
            }
            if a & 2 != 0 {
                if separator { out.byte(0x2C) }
                out.text(#""phone":""#)
                writePhone(UInt64(b) &* 0x3_0000_0007)
                out.byte(0x22)
                separator = true
            }
            if a & 4 != 0 {
                if separator { out.byte(0x2C) }
                out.text(#""address":""#)
                writeAddress(UInt64(b) &* 0x4_0000_0009, unit: Int(a >> 8 & 0xFF))
                out.byte(0x22)
            }
            out.byte(0x7D)
        case .personPiiErased:
            out.text(#"{"reason":""#)
            out.bytes(words.erasureReasons[Int(a)])
            out.text(#""}"#)
        case .personDeregistered:
            out.text(#"{"reason":""#)
            out.bytes(codes.deregistrationReason[Int(a)])
            out.text(#""}"#)
        case .needsAssessed:
            out.text(#"{"workCapacity":""#)
            out.bytes(codes.workCapacity[Int(a & 0xF)])
            out.text(a & 1 << 4 != 0 ? #"","inEducation":true,"needs":["# : #"","inEducation":false,"needs":["#)
            var first = true
            for (position, code) in codes.needs.enumerated() where a >> 8 & (1 << Int64(position)) != 0 {
                if !first { out.byte(0x2C) }
                out.byte(0x22)
                out.bytes(code)
                out.byte(0x22)
                first = false
            }
            out.text("]}")
        case .employmentStarted:
            out.text(#"{"employmentId":"emp-"#)
            out.padded(a, width: 2)
            out.text(#"","form":""#)
            let form = Int(b & 0xFF)
            out.bytes(codes.employmentForm[form])
            out.text(#"","employer":""#)
            writeEmployer(form: Catalogue.employmentForms[form], code: b)
            out.text(#""}"#)
        case .employmentEnded:
            out.text(#"{"employmentId":"emp-"#)
            out.padded(a, width: 2)
            out.text(#"","reason":""#)
            out.bytes(codes.employmentEndReason[Int(b)])
            out.text(#""}"#)
        case .trainingCompleted:
            out.text(#"{"programme":""#)
            out.bytes(codes.programme[Int(a)])
            out.text(#"","hours":"#)
            out.decimal(b)
            out.byte(0x7D)
        case .rehabServiceDelivered:
            out.text(#"{"serviceKind":""#)
            out.bytes(codes.serviceKind[Int(a)])
            out.text(#""}"#)
        case .assistiveDeviceFitted:
            out.text(#"{"deviceKind":""#)
            out.bytes(codes.deviceKind[Int(a)])
            out.text(#""}"#)
        case .homeModificationCompleted:
            out.text(#"{"programme":""#)
            out.bytes(codes.homeModificationProgramme[Int(a)])
            out.text(#"","costYuan":"#)
            out.decimal(b)
            out.byte(0x7D)
        case .healthCheckCompleted, .familyDoctorContracted, .familyDoctorContractEnded, .careEnded:
            out.text("{}")
        case .careEnrolled:
            out.text(#"{"facility":""#)
            out.bytes(units.names[Int(a & 0xFF)])
            out.bytes(words.careFacilities[Int(a >> 8 & 0xFF)])
            out.text(#""}"#)
        case .caseOpened:
            out.text(#"{"personId":""#)
            writePersonKey(a)
            out.text(#"","serviceType":""#)
            out.bytes(codes.serviceType[Int(b & 0xFF)])
            out.text(#"","worker":""#)
            out.bytes(staff.codes[Int(b >> 8)])
            out.text(#""}"#)
        case .caseReassigned:
            out.text(#"{"worker":""#)
            out.bytes(staff.codes[Int(b)])
            out.text(#"","unit":""#)
            out.bytes(units.codes[Int(a)])
            out.text(#""}"#)
        case .caseClosed:
            out.text(#"{"outcome":""#)
            out.bytes(codes.outcome[Int(a)])
            out.text(#""}"#)
        case .callReceived:
            out.text(#"{"topic":""#)
            out.bytes(codes.topic[Int(a & 0xF)])
            out.text(#"","channel":""#)
            out.bytes(codes.channel[Int(a >> 4 & 0xF)])
            if a & 1 << 8 != 0 {
                out.text(#"","personId":""#)
                writePersonKey(b)
            }
            out.text(#""}"#)
        case .callResolved:
            out.text(a != 0 ? #"{"satisfied":true}"# : #"{"satisfied":false}"#)
        case .projectLaunched:
            let unit = Int(a >> 8 & 0xFF)
            out.text(#"{"title":""#)
            out.bytes(units.names[unit])
            out.text("“")
            out.bytes(words.projectThemes[Int(a & 0xFF)])
            out.text("”助残服务项目")
            out.text(#"","operator":""#)
            out.bytes(words.operators[Int(a >> 16 & 0xFF)])
            out.text(#"","category":""#)
            out.bytes(codes.projectCategory[Int(a >> 24 & 0xFF)])
            out.text(#"","budgetYuan":"#)
            out.decimal(b)
            out.byte(0x7D)
        case .projectEvaluated:
            out.text(#"{"year":"#)
            out.decimal(a)
            out.text(#","score":"#)
            out.decimal(b)
            out.byte(0x7D)
        case .projectAdopted:
            out.text(#"{"company":"上海"#)
            out.bytes(words.employerWords[Int(a & 0xFF)])
            out.bytes(words.companyTrades[Int(a >> 8 & 0xFF)])
            out.text(#"有限公司","amountYuan":"#)
            out.decimal(b)
            out.byte(0x7D)
        case .projectEliminated:
            out.text(#"{"reason":""#)
            out.decimal(b / 1000)
            out.text("年度绩效评估得分")
            out.decimal(b % 1000)
            out.text(a == 0 ? "分，未达要求，予以淘汰" : "分，服务周期届满，项目结项")
            out.text(#""}"#)
        case .volunteerRegistered:
            out.text(a & 1 != 0 ? #"{"partyMember":true,"alliance":""# : #"{"partyMember":false,"alliance":""#)
            out.bytes(codes.alliance[Int(a >> 1 & 0x7)])
            out.text(#""}"#)
            let personal = a >> 4 & 0xF
            if personal != 0 {
                out.text(#","pii":{"name":""#)
                writeName(a >> 8)
                if personal & 2 != 0 {
                    out.text(#"","phone":""#)
                    writePhone(UInt64(b) &* 0x5_0000_000B)
                }
                out.text(#""}"#)
            }
        case .volunteerServiceLogged:
            out.text(#"{"minutes":"#)
            out.decimal(a)
            out.text(#","activity":""#)
            out.bytes(words.volunteerActivities[Int(b)])
            out.text(#""}"#)
        case .rightsCaseOpened:
            out.text(#"{"kind":""#)
            out.bytes(codes.rightsKind[Int(a & 0xF)])
            if a & 1 << 4 != 0 {
                out.text(#"","personId":""#)
                writePersonKey(b)
            }
            out.text(#""}"#)
        case .rightsCaseClosed:
            out.text(#"{"resolution":""#)
            out.bytes(codes.resolution[Int(a)])
            out.text(#""}"#)
        case .legalEducationHeld:
            out.text(#"{"attendees":"#)
            out.decimal(a)
            out.text(#","topic":""#)
            out.bytes(words.legalTopics[Int(b)])
            out.text(#""}"#)
        }
    }

    /// Surname and one or two given characters.
    private mutating func writeName(_ code: Int64) {
        out.bytes(words.surnames[Int(code & 0xFF)])
        out.bytes(words.givenCharacters[Int(code >> 8 & 0xFF)])
        let second = Int(code >> 16 & 0xFF)
        if second > 0 { out.bytes(words.givenCharacters[second - 1]) }
    }

    /// The GB 11643 number: region 310114, birth date, serial (sex in its
    /// last digit) and the check character of `IDNumber`.
    private mutating func writeIDNumber(_ person: PersonState) {
        let (year, month, day) = SynthesisCalendar.components(Int(person.birth))
        var digits: [UInt8] = Array("310114".utf8)
        func append(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                digits.append(0x30 + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        append(year, 4)
        append(month, 2)
        append(day, 2)
        append(Int(person.idSerial), 3)
        let check = IDNumber.checkCharacter(for: digits)!
        digits.append(check.asciiValue!)
        out.bytes(digits)
    }

    /// A mobile number made up from `seed`.
    private mutating func writePhone(_ seed: UInt64) {
        let mixed = SeededRandom.scramble(seed)
        out.bytes(words.mobilePrefixes[Int(mixed % UInt64(words.mobilePrefixes.count))])
        out.padded(Int64((mixed >> 16) % 100_000_000), width: 8)
    }

    /// A made-up address in `unit`: a real road of the district, an invented lane, number and flat.
    private mutating func writeAddress(_ seed: UInt64, unit: Int) {
        let mixed = SeededRandom.scramble(seed)
        out.text("上海市嘉定区")
        out.bytes(units.names[unit])
        out.bytes(words.roads[Int(mixed % UInt64(words.roads.count))])
        out.decimal(Int64(1 + (mixed >> 8) % 999))
        out.text("弄")
        out.decimal(Int64(1 + (mixed >> 20) % 60))
        out.text("号")
        out.decimal(Int64(1 + (mixed >> 28) % 18) * 100 + Int64(1 + (mixed >> 36) % 4))
        out.text("室")
    }

    private mutating func writeEmployer(form: EmploymentForm, code: Int64) {
        let unit = Int(code >> 32 & 0xFF)
        switch form {
        case .auxiliary:
            out.bytes(units.names[unit])
            out.text("阳光工场")
        case .publicWelfarePost:
            out.bytes(units.names[unit])
            out.bytes(words.welfarePosts[Int(code >> 24 & 0xFF)])
        case .agricultural:
            out.bytes(units.names[unit])
            out.text("蔬果专业合作社")
        case .selfEmployed:
            out.text("个体工商户（")
            out.bytes(words.employerTrades[Int(code >> 16 & 0xFF)])
            out.text("）")
        case .concentrated:
            out.text("上海")
            out.bytes(words.employerWords[Int(code >> 8 & 0xFF)])
            out.text("福利")
            out.bytes(words.employerTrades[Int(code >> 16 & 0xFF)])
            out.text("厂")
        case .proportional, .flexible:
            out.text("上海")
            out.bytes(words.employerWords[Int(code >> 8 & 0xFF)])
            out.bytes(words.employerTrades[Int(code >> 16 & 0xFF)])
            out.text("有限公司")
        }
    }
}
