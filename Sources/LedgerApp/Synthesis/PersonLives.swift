import LedgerDomain

/// One person of the register, as much as their stream needs from one month
/// to the next. Days are day numbers; 0 means "none planned".
struct PersonState {
    var birth: Int32
    var registered: Int32
    /// The day they leave the register (`PersonDeregistered`), drawn ahead; `Int32.max` if they stay.
    var leave: Int32 = .max
    var nextAssessment: Int32 = 0
    var pendingDevice: Int32 = 0
    var pendingHomeModification: Int32 = 0
    var healthCheck: Int32 = 0
    /// A planned family-doctor contract (or its end, when one is active).
    var doctorChange: Int32 = 0
    /// A planned care enrolment (or its end, when enrolled).
    var careChange: Int32 = 0
    var employmentStart: Int32 = 0
    var registrationRecordedAt: Int64 = 0
    var employmentRecordedAt: Int64 = 0
    /// Surname, first and second given character (0: none), one byte each.
    var name: UInt32
    var birthYear: Int16
    var birthMonthDay: Int16
    /// Characters 15–17 of the ID number.
    var idSerial: Int16 = 0
    var sex: UInt8
    var category: UInt8
    var grade: UInt8
    var residence: UInt8
    var capacity: UInt8
    /// Needs of the latest assessment, one bit per `Need` in catalogue order.
    var needs: UInt8 = 0
    var leaveReason: UInt8 = 0
    var employments: UInt8 = 0
    var inEducation = false
    var employed = false
    var doctor = false
    var care = false
    var homeModified = false
    /// Lasting leanings, 0–255: how likely this person is to need or take a service.
    var needTrait: UInt8
    var deviceNeedTrait: UInt8
    var rehabTrait: UInt8
    var deviceTrait: UInt8
    var healthTrait: UInt8
    var doctorTrait: UInt8
    var careTrait: UInt8

    /// Completed years in the middle of `month` of `year`.
    func age(year: Int, month: Int) -> Int {
        year - Int(birthYear) - (month * 100 + 15 < Int(birthMonthDay) ? 1 : 0)
    }

    func needs(_ need: Need) -> Bool { needs & Catalogue.bit(need) != 0 }

    var disability: DisabilityCategory { Catalogue.categories[Int(category)] }
    var workCapacity: WorkCapacity { Catalogue.capacities[Int(capacity)] }
    var departure: DeregistrationReason { Catalogue.departures[Int(leaveReason)] }
}

/// A lasting leaning below `rate`: the same persons keep taking a service
/// year after year, and more of them as the rate grows.
@inline(__always)
private func leans(_ trait: UInt8, below rate: Double) -> Bool { Double(trait) < 256 * rate }

extension DistrictSimulation {
    // MARK: the register

    /// A person drawn for the register: `registeredOn` a day for a newcomer,
    /// nil for someone certified before the ledger opened.
    mutating func makePerson(registeredOn newcomerDay: Int?) -> PersonState {
        let category = random.pick(choices.category)
        let grade = random.pick(choices.grades[category.cataloguePosition])
        let ages: Weighted<Int> =
            switch (newcomerDay == nil, category) {
            case (true, .intellectual): choices.registerAgesIntellectual
            case (true, .mental): choices.registerAgesMental
            case (true, _): choices.registerAges
            case (false, .intellectual): choices.newcomerAgesIntellectual
            case (false, .mental): choices.newcomerAgesMental
            case (false, _): choices.newcomerAges
            }
        let band = choices.ageBands[random.pick(ages)]
        let age = newcomerDay != nil && band.0 == 1 ? random.between(0, 6) : random.between(band.0, band.1)
        let reference = newcomerDay ?? firstDay
        var birth = max(reference - age * 365 - age / 4 - random.below(365), SynthesisCalendar.day(1900, 1, 1))
        if newcomerDay != nil { birth = min(birth, reference - 30) }
        let registered: Int
        if let newcomerDay {
            registered = newcomerDay
        } else {
            let earliest = max(birth + 30, firstDay - 30 * 365)
            registered = earliest < firstDay - 1 ? random.between(earliest, firstDay - 1) : firstDay - 1
        }
        let born = SynthesisCalendar.components(birth)
        let male = random.chance(0.53)
        let secondGiven = random.chance(0.7) ? UInt32(1 + random.below(words.givenCharacters.count)) : 0
        var person = PersonState(
            birth: Int32(birth), registered: Int32(registered),
            name: UInt32(random.below(words.surnames.count)) | UInt32(random.below(words.givenCharacters.count)) << 8
                | secondGiven << 16,
            birthYear: Int16(born.year), birthMonthDay: Int16(born.month * 100 + born.day),
            sex: male ? UInt8(Sex.male.cataloguePosition) : UInt8(Sex.female.cataloguePosition),
            category: UInt8(category.cataloguePosition), grade: UInt8(grade),
            residence: UInt8(random.pick(units.choice)), capacity: 0,
            needTrait: UInt8(truncatingIfNeeded: random.next()),
            deviceNeedTrait: UInt8(truncatingIfNeeded: random.next()),
            rehabTrait: UInt8(truncatingIfNeeded: random.next()),
            deviceTrait: UInt8(truncatingIfNeeded: random.next()),
            healthTrait: UInt8(truncatingIfNeeded: random.next()),
            doctorTrait: UInt8(truncatingIfNeeded: random.next()),
            careTrait: UInt8(truncatingIfNeeded: random.next()))
        // Characters 15–16 name the police station; the 17th is odd for men, even for women.
        repeat {
            person.idSerial = Int16(random.below(100) * 10 + 2 * random.below(5) + (male ? 1 : 0))
        } while !idNumbers.insert(Int64(birth) * 1000 + Int64(person.idSerial)).inserted
        person.capacity = UInt8(drawCapacity(age: age, grade: grade).cataloguePosition)
        person.inEducation = (3...15).contains(age) ? random.chance(0.9) : (16...22).contains(age) && random.chance(0.3)
        drawDeparture(&person)
        if newcomerDay == nil { drawOpeningState(&person, age: age) }
        return person
    }

    /// Work capacity at `age` for `grade`: children and older persons mostly none.
    mutating func drawCapacity(age: Int, grade: Int) -> WorkCapacity {
        if age < 16 { return .none }
        if age >= 60 { return random.chance(0.8) ? .none : .partial }
        return random.pick(choices.capacity[grade - 1])
    }

    /// Whether and when the person leaves the register: death (most likely
    /// when old or severely disabled), moving out of the district, or a
    /// certificate revoked on review.
    private mutating func drawDeparture(_ person: inout PersonState) {
        let registered = Int(person.registered)
        let startYear = max(fromYear, SynthesisCalendar.components(registered).year)
        guard startYear <= toYear else { return }
        for year in startYear...toYear {
            let age = year - Int(person.birthYear)
            var death: Double =
                switch age {
                case ..<16: 0.002
                case ..<45: 0.003
                case ..<60: 0.006
                case ..<70: 0.012
                case ..<80: 0.028
                case ..<90: 0.075
                default: 0.17
                }
            if person.grade <= 2 { death *= 1.3 }
            let reason: DeregistrationReason
            if random.chance(death) {
                reason = .deceased
            } else if random.chance(age < 60 ? 0.006 : 0.003) {
                reason = .movedOut
            } else if random.chance(0.0008) {
                reason = .certificateRevoked
            } else {
                continue
            }
            let earliest = max(SynthesisCalendar.day(year, 1, 1), registered + 30, firstDay + 7)
            let latest = min(SynthesisCalendar.day(year, 12, 31), lastDay)
            guard earliest <= latest else { continue }
            person.leave = Int32(random.between(earliest, latest))
            person.leaveReason = UInt8(reason.cataloguePosition)
            return
        }
    }

    /// What a person certified before the ledger opened already had: a job,
    /// a family doctor, a place in care.
    private mutating func drawOpeningState(_ person: inout PersonState, age: Int) {
        let registered = Int(person.registered)
        if (16...59).contains(age), person.workCapacity != .none, !person.inEducation,
            random.chance(person.workCapacity == .full ? 0.55 : 0.38)
        {
            let earliest = max(registered, Int(person.birth) + 16 * 365 + 4, firstDay - 12 * 365)
            if earliest < firstDay {
                person.employed = true
                person.employmentStart = Int32(random.between(earliest, firstDay - 1))
            }
        }
        person.doctor = leans(person.doctorTrait, below: DistrictTrend.familyDoctors(fromYear - 1))
        if careEligible(person, age: age) {
            person.care = leans(person.careTrait, below: careRate(person, age: age, year: fromYear - 1))
        }
    }

    /// Whether care is for this person: older persons with mental
    /// disabilities (the district's indicator), and severe intellectual,
    /// mental or multiple disability (阳光心园 day care, 托养).
    func careEligible(_ person: PersonState, age: Int) -> Bool {
        let category = person.disability
        if category == .mental && age >= 60 { return true }
        return person.grade <= 2 && (category == .intellectual || category == .mental || category == .multiple)
            && person.needs(.care)
    }

    func careRate(_ person: PersonState, age: Int, year: Int) -> Double {
        person.disability == .mental && age >= 60 ? DistrictTrend.elderlyMentalCare(year) : 0.35
    }

    /// The `a` of a `PersonRegistered`: residence, category, grade, and which
    /// optional personal data the registration carries.
    private mutating func registrationPayload(_ person: PersonState, phone: Double, address: Double) -> Int64 {
        Int64(person.residence) | Int64(person.category) << 8 | Int64(person.grade) << 16
            | (random.chance(phone) ? 1 << 24 : 0) | (random.chance(address) ? 1 << 25 : 0)
    }

    /// Imports a person of the old register in the first weeks of the first
    /// year: their registration (dated with their certificate) and what they
    /// already had.
    mutating func migrate(_ index: Int) {
        var person = people[index]
        let key = index + 1
        let day = migrationDays[random.below(migrationDays.count)]
        var recorded = SynthesisCalendar.instant(day, second: 32_400 + random.below(28_800)) + Int64(random.below(1000))
        person.registrationRecordedAt = recorded
        let unit = Int(person.residence)
        plan(
            .personRegistered, key: key, day: Int(person.registered), recordedAt: recorded, actor: staff.migration,
            orgUnit: unit, a: registrationPayload(person, phone: 0.8, address: 0.7))
        if person.employed {
            recorded += Int64(random.between(1_000, 60_000))
            person.employments = 1
            person.employmentRecordedAt = recorded
            plan(
                .employmentStarted, key: key, day: Int(person.employmentStart), recordedAt: recorded,
                actor: staff.migration, orgUnit: unit, a: 1, b: drawEmployer(person))
        }
        if person.doctor {
            recorded += Int64(random.between(1_000, 60_000))
            let contracted = random.between(max(Int(person.registered), firstDay - 365), firstDay - 1)
            plan(
                .familyDoctorContracted, key: key, day: contracted, recordedAt: recorded, actor: staff.migration,
                orgUnit: unit)
        }
        if person.care {
            recorded += Int64(random.between(1_000, 60_000))
            let enrolled = random.between(max(Int(person.registered), firstDay - 3 * 365), firstDay - 1)
            plan(
                .careEnrolled, key: key, day: enrolled, recordedAt: recorded, actor: staff.migration, orgUnit: unit,
                a: drawFacility(person))
        }
        person.nextAssessment = Int32(random.between(firstDay + 45, SynthesisCalendar.day(fromYear, 11, 30)))
        onRegister += 1
        people[index] = person
    }

    /// Registers a newly certified person on their day.
    mutating func register(_ index: Int) {
        var person = people[index]
        let unit = Int(person.residence)
        let recorded = clerkRecording(Int(person.registered))
        person.registrationRecordedAt = recorded
        plan(
            .personRegistered, key: index + 1, day: Int(person.registered), recordedAt: recorded, actor: clerk(unit),
            orgUnit: unit, a: registrationPayload(person, phone: 0.9, address: 0.8))
        person.nextAssessment = Int32(Int(person.registered) + random.between(3, 40))
        onRegister += 1
        people[index] = person
    }

    // MARK: a month of a life

    /// Everything that happens to `person` in `month`, up to their leaving.
    mutating func live(_ person: inout PersonState, key: Int, month: MonthWindow) {
        let first = max(month.first, Int(person.registered))
        let last = min(month.last, Int(person.leave))
        guard first <= last else { return }
        let year = month.year
        let age = person.age(year: year, month: month.month)
        if month.month == 1 || Int(person.registered) >= month.first {
            planYear(&person, from: first, year: year, age: age)
        }
        func due(_ day: Int32) -> Bool { day != 0 && Int(day) >= first && Int(day) <= last }

        if due(person.nextAssessment) {
            assess(&person, key: key, day: Int(person.nextAssessment), age: age, year: year)
            person.nextAssessment += Int32(random.between(355, 375))
        }
        if due(person.pendingDevice) {
            let kind = random.pick(choices.deviceKind[Int(person.category)])
            personEvent(
                .assistiveDeviceFitted, person, key: key, day: Int(person.pendingDevice),
                a: Int64(kind.cataloguePosition), districtShare: 0.15)
            person.pendingDevice = 0
        }
        if due(person.pendingHomeModification) {
            let government = random.chance(0.88)
            let programme: HomeModificationProgramme = government ? .governmentProject : .other
            let cost = government ? random.between(30, 200) * 100 : random.between(5, 600) * 100
            personEvent(
                .homeModificationCompleted, person, key: key, day: Int(person.pendingHomeModification),
                a: Int64(programme.cataloguePosition), b: Int64(cost))
            person.pendingHomeModification = 0
            person.homeModified = true
        }
        if due(person.healthCheck) {
            exchangeEvent(.healthCheckCompleted, person, key: key, day: Int(person.healthCheck))
            person.healthCheck = 0
        }
        if due(person.doctorChange) {
            exchangeEvent(
                person.doctor ? .familyDoctorContractEnded : .familyDoctorContracted, person, key: key,
                day: Int(person.doctorChange))
            person.doctor.toggle()
            person.doctorChange = 0
            if !person.doctor { person.doctorTrait = UInt8(truncatingIfNeeded: random.next()) }
        }
        if due(person.careChange) {
            if person.care {
                personEvent(.careEnded, person, key: key, day: Int(person.careChange))
            } else {
                personEvent(.careEnrolled, person, key: key, day: Int(person.careChange), a: drawFacility(person))
            }
            person.care.toggle()
            person.careChange = 0
        }

        // Rehabilitation: several sessions a year for those who need it and take it up.
        let needsRehab = person.needs(.rehab)
        let rehabChance =
            needsRehab ? (leans(person.rehabTrait, below: DistrictTrend.rehabilitation(year)) ? 0.36 : 0.01) : 0.006
        if random.chance(rehabChance), let day = month.day(from: first, to: last, &random) {
            let kind = random.pick(choices.rehabKind[Int(person.category)])
            personEvent(
                .rehabServiceDelivered, person, key: key, day: day, a: Int64(kind.cataloguePosition),
                districtShare: 0.12)
        }

        work(&person, key: key, month: month, first: first, last: last, age: age)
        train(person, key: key, month: month, first: first, last: last, age: age)

        // Now and then: a reassessment, a move, new contact details, an erasure, a case.
        if random.chance(0.02 / 12), let day = month.day(from: first, to: last, &random) {
            reassess(&person, key: key, day: day)
        }
        if random.chance(0.012 / 12), Int(person.leave) > last, let day = month.day(from: first, to: last, &random) {
            move(&person, key: key, day: day)
        }
        if random.chance(0.02 / 12), let day = month.day(from: first, to: last, &random) {
            correctPersonalData(person, key: key, day: day, moved: false)
        }
        if random.chance(0.001 / 12), let day = month.day(from: first, to: last, &random) {
            let reason = random.below(2)
            personEvent(.personPiiErased, person, key: key, day: day, a: Int64(reason))
        }
        if random.chance(0.012 / 12), let day = month.day(from: first, to: last, &random) {
            let service: CaseServiceType = random.chance(0.4) ? .rights : .other
            openCase(for: person, key: key, service: service, opened: day, closes: day + random.between(10, 120))
        }
        if Int(person.leave) <= month.last { leave(&person, key: key) }
    }

    /// Plans the year's check-up, family-doctor contract and care from the
    /// persons' leanings and the year's rates.
    private mutating func planYear(_ person: inout PersonState, from first: Int, year: Int, age: Int) {
        let yearEnd = SynthesisCalendar.day(year, 12, 31)
        if random.chance(0.1) { person.healthTrait = UInt8(truncatingIfNeeded: random.next()) }
        person.healthCheck = 0
        if leans(person.healthTrait, below: DistrictTrend.healthChecks(year)) {
            let from = max(first, SynthesisCalendar.day(year, 3, 1))
            let to = SynthesisCalendar.day(year, 11, 30)
            person.healthCheck = Int32(from <= to ? random.between(from, to) : random.between(first, yearEnd))
        }
        if person.doctorChange == 0 {
            if !person.doctor && leans(person.doctorTrait, below: DistrictTrend.familyDoctors(year)) {
                person.doctorChange = Int32(random.between(first, min(yearEnd, first + 240)))
            } else if person.doctor && random.chance(0.025) {
                person.doctorChange = Int32(random.between(first, yearEnd))
            }
        }
        if person.careChange == 0 {
            if !person.care && careEligible(person, age: age)
                && leans(person.careTrait, below: careRate(person, age: age, year: year))
            {
                person.careChange = Int32(random.between(first, min(yearEnd, first + 240)))
            } else if person.care && random.chance(0.03) {
                person.careChange = Int32(random.between(first, yearEnd))
            }
        }
    }

    /// The yearly needs assessment, and what follows from it: a device to fit,
    /// works in the home, and cases for the needs a worker takes up.
    private mutating func assess(_ person: inout PersonState, key: Int, day: Int, age: Int, year: Int) {
        if (3...15).contains(age) {
            person.inEducation = random.chance(0.9)
        } else if (16...22).contains(age) {
            person.inEducation = random.chance(person.inEducation ? 0.7 : 0.05)
        } else {
            person.inEducation = false
        }
        if age == 16 || age == 60 || random.chance(0.12) {
            person.capacity = UInt8(drawCapacity(age: age, grade: Int(person.grade)).cataloguePosition)
        }
        if random.chance(0.1) { person.needTrait = UInt8(truncatingIfNeeded: random.next()) }
        if random.chance(0.1) { person.deviceNeedTrait = UInt8(truncatingIfNeeded: random.next()) }
        let category = person.disability
        let severe = person.grade <= 2
        var needs: UInt8 = 0
        var rehab: Double =
            switch category {
            case .mental, .multiple: 0.75
            case .intellectual: 0.7
            case .speech: 0.6
            case .physical: 0.55
            case .hearing: 0.45
            case .visual: 0.4
            }
        if severe { rehab += 0.12 }
        if age < 16 { rehab += 0.15 }
        if leans(person.needTrait, below: rehab) { needs |= Catalogue.bit(.rehab) }
        var device: Double =
            switch category {
            case .hearing, .multiple: 0.5
            case .visual: 0.45
            case .physical: 0.4
            case .speech: 0.15
            case .intellectual: 0.08
            case .mental: 0.05
            }
        if age >= 60 { device += 0.1 }
        if leans(person.deviceNeedTrait, below: device) { needs |= Catalogue.bit(.assistiveDevice) }
        let bodily = category == .physical || category == .visual || category == .multiple
        if !person.homeModified && random.chance(bodily && severe ? 0.15 : 0.015) {
            needs |= Catalogue.bit(.homeModification)
        }
        let canWork = (16...59).contains(age) && person.workCapacity != .none && !person.inEducation
        if canWork && random.chance(person.employed ? 0.04 : 0.65) { needs |= Catalogue.bit(.employment) }
        let careNeed: Double =
            if category == .mental && age >= 60 {
                0.75
            } else if severe && (category == .intellectual || category == .mental || category == .multiple) {
                0.45
            } else if severe && age >= 80 {
                0.3
            } else {
                0.02
            }
        if random.chance(person.needs(.care) ? max(careNeed, 0.85) : careNeed) { needs |= Catalogue.bit(.care) }
        person.needs = needs
        let assessment = Int64(person.capacity) | (person.inEducation ? 1 << 4 : 0) | Int64(needs) << 8
        personEvent(.needsAssessed, person, key: key, day: day, a: assessment)

        if person.needs(.assistiveDevice) && person.pendingDevice == 0
            && leans(person.deviceTrait, below: DistrictTrend.devices(year))
        {
            let fitted = day + random.between(7, 75)
            person.pendingDevice = Int32(fitted)
            if random.chance(0.1) {
                openCase(
                    for: person, key: key, service: .assistiveDevice, opened: day + random.between(2, 6),
                    closes: fitted + random.between(2, 15))
            }
        }
        if person.needs(.homeModification) && person.pendingHomeModification == 0 && random.chance(0.55) {
            let completed = day + random.between(30, 150)
            person.pendingHomeModification = Int32(completed)
            openCase(
                for: person, key: key, service: .homeModification, opened: day + random.between(5, 20),
                closes: completed + random.between(3, 20))
        }
        if person.needs(.care) && !person.care && random.chance(0.25) {
            let opened = day + random.between(3, 20)
            openCase(for: person, key: key, service: .care, opened: opened, closes: opened + random.between(20, 120))
        }
        if person.needs(.rehab) && random.chance(0.05) {
            let opened = day + random.between(3, 20)
            openCase(for: person, key: key, service: .rehab, opened: opened, closes: opened + random.between(30, 180))
        }
        if person.needs(.employment) && !person.employed && random.chance(0.22) {
            let opened = day + random.between(3, 30)
            openCase(
                for: person, key: key, service: .employment, opened: opened, closes: opened + random.between(60, 240))
        }
    }

    /// A month of work: a job found by those who can work (more often with an
    /// employment need on record), a job left, retirement at 60.
    private mutating func work(
        _ person: inout PersonState, key: Int, month: MonthWindow, first: Int, last: Int, age: Int
    ) {
        if person.employed {
            let reason: EmploymentEndReason
            if age >= 60 {
                reason = .retired
            } else if random.chance(1.0 / 42) {
                reason = random.pick(choices.employmentEnd)
            } else {
                return
            }
            guard let day = month.day(from: max(first, Int(person.employmentStart) + 1), to: last, &random) else {
                return
            }
            endEmployment(&person, key: key, day: day, reason: reason)
            return
        }
        guard (16...59).contains(age), person.workCapacity != .none, !person.inEducation, person.employments < 99
        else { return }
        let base = person.needs(.employment) ? 0.04 : 0.012
        guard random.chance(base * (person.workCapacity == .full ? 1.25 : 0.8)),
            let day = month.day(from: first, to: last, &random)
        else { return }
        person.employments += 1
        person.employed = true
        person.employmentStart = Int32(day)
        let employer = drawEmployer(person)
        let recorded = clerkRecording(day, after: person.registrationRecordedAt)
        person.employmentRecordedAt = recorded
        let unit = Int(person.residence)
        plan(
            .employmentStarted, key: key, day: day, recordedAt: recorded, actor: clerk(unit), orgUnit: unit,
            a: Int64(person.employments), b: employer)
    }

    private mutating func endEmployment(_ person: inout PersonState, key: Int, day: Int, reason: EmploymentEndReason) {
        let unit = Int(person.residence)
        let recorded = clerkRecording(day, after: person.employmentRecordedAt)
        plan(
            .employmentEnded, key: key, day: day, recordedAt: recorded, actor: clerk(unit), orgUnit: unit,
            a: Int64(person.employments), b: Int64(reason.cataloguePosition))
        person.employed = false
    }

    /// An employer for a new job, by its form: a company, the unit's 阳光工场,
    /// a public-welfare post of the unit, a village cooperative, self-employment.
    private mutating func drawEmployer(_ person: PersonState) -> Int64 {
        let sheltered = person.disability == .intellectual || person.disability == .mental
        let form = random.pick(sheltered ? choices.employmentFormSheltered : choices.employmentForm)
        return Int64(form.cataloguePosition) | Int64(random.below(words.employerWords.count)) << 8
            | Int64(random.below(words.employerTrades.count)) << 16 | Int64(random.below(words.welfarePosts.count))
            << 24
            | Int64(person.residence) << 32
    }

    private mutating func drawFacility(_ person: PersonState) -> Int64 {
        Int64(person.residence) | Int64(random.below(words.careFacilities.count)) << 8
    }

    /// Training: vocational courses and internships (见习) for those looking
    /// for work, and 智慧助我行 smart-skills classes for everyone from 2019.
    private mutating func train(_ person: PersonState, key: Int, month: MonthWindow, first: Int, last: Int, age: Int) {
        let seeking = (16...59).contains(age) && !person.employed && person.workCapacity != .none && !person.inEducation
        var programme: TrainingProgramme?
        if seeking && random.chance(0.08 / 12) {
            programme = .vocational
        } else if seeking && age <= 35 && random.chance(0.03 / 12) {
            programme = .internship
        } else if age >= 16 && random.chance(DistrictTrend.smartTraining(month.year) / 12) {
            programme = .smartSkills
        }
        guard let programme, let day = month.day(from: first, to: last, &random) else { return }
        let hours =
            switch programme {
            case .vocational: random.between(40, 360)
            case .internship: random.between(120, 960)
            case .smartSkills: random.between(4, 24)
            }
        personEvent(
            .trainingCompleted, person, key: key, day: day, a: Int64(programme.cataloguePosition), b: Int64(hours),
            districtShare: 0.2)
    }

    /// A new grade (mostly more severe with age) or, now and then, multiple disability.
    private mutating func reassess(_ person: inout PersonState, key: Int, day: Int) {
        if random.chance(0.15) && person.disability != .multiple {
            person.category = UInt8(DisabilityCategory.multiple.cataloguePosition)
        }
        let step = random.chance(0.7) ? -1 : 1
        person.grade = UInt8(min(4, max(1, Int(person.grade) + step)))
        personEvent(.personReassessed, person, key: key, day: day, a: Int64(person.category) | Int64(person.grade) << 8)
    }

    /// A move to another unit, recorded there; often followed by a new address.
    private mutating func move(_ person: inout PersonState, key: Int, day: Int) {
        var destination = random.pick(units.choice)
        while destination == Int(person.residence) { destination = random.pick(units.choice) }
        person.residence = UInt8(destination)
        personEvent(.personMoved, person, key: key, day: day, a: Int64(destination))
        if random.chance(0.4) {
            correctPersonalData(person, key: key, day: min(day + random.between(0, 30), Int(person.leave)), moved: true)
        }
    }

    /// New contact details: mostly a phone number, an address after a move,
    /// rarely a corrected name.
    private mutating func correctPersonalData(_ person: PersonState, key: Int, day: Int, moved: Bool) {
        var fields: Int64 = moved ? 4 : 0
        if !moved {
            if random.chance(0.75) { fields |= 2 }
            if random.chance(0.3) { fields |= 4 }
            if random.chance(0.04) || fields == 0 { fields |= 1 }
        }
        var name = Int64(person.name)
        if fields & 1 != 0 {
            name =
                Int64(person.name & 0xFF) | Int64(random.below(words.givenCharacters.count)) << 8
                | Int64(1 + random.below(words.givenCharacters.count)) << 16
        }
        personEvent(
            .personPiiCorrected, person, key: key, day: day, a: fields | Int64(person.residence) << 8 | name << 16,
            b: serial &+ 1)
    }

    /// Leaving the register: the job and care end with it, and some who move
    /// away ask for their personal data to be erased.
    private mutating func leave(_ person: inout PersonState, key: Int) {
        let day = Int(person.leave)
        let reason = person.departure
        if person.employed {
            endEmployment(&person, key: key, day: day, reason: reason == .movedOut ? .resigned : .other)
        }
        if reason == .movedOut && person.care {
            personEvent(.careEnded, person, key: key, day: day)
            person.care = false
        }
        // News of a death often reaches the office weeks later.
        let delay = reason == .deceased && random.chance(0.35) ? random.between(10, 80) : 0
        let unit = Int(person.residence)
        let recorded = clerkRecording(day, delay: delay, after: person.registrationRecordedAt)
        plan(
            .personDeregistered, key: key, day: day, recordedAt: recorded, actor: clerk(unit), orgUnit: unit,
            a: Int64(person.leaveReason))
        if reason == .movedOut && random.chance(0.1) {
            personEvent(.personPiiErased, person, key: key, day: day, a: 2)
        }
        onRegister -= 1
    }

    /// An event of a person's stream entered by a clerk of their unit (or,
    /// with `districtShare`, of the district federation's own centre).
    mutating func personEvent(
        _ type: EventType, _ person: PersonState, key: Int, day: Int, a: Int64 = 0, b: Int64 = 0,
        districtShare: Double = 0
    ) {
        let unit = districtShare > 0 && random.chance(districtShare) ? units.district : Int(person.residence)
        let recorded = clerkRecording(day, after: person.registrationRecordedAt)
        plan(type, key: key, day: day, recordedAt: recorded, actor: clerk(unit), orgUnit: unit, a: a, b: b)
    }

    /// An event of a person's stream delivered by the health commission's exchange.
    private mutating func exchangeEvent(_ type: EventType, _ person: PersonState, key: Int, day: Int) {
        let recorded = exchangeRecording(day, after: person.registrationRecordedAt)
        plan(
            type, key: key, day: day, recordedAt: recorded, actor: staff.healthExchange, orgUnit: Int(person.residence))
    }
}
