import LedgerDomain

/// A social service project (助残社会化项目) while it runs.
struct ProjectState {
    let key: Int
    let unit: Int
    let launched: Int
    let launchedAt: Int64
    let actor: Int
    /// How well it is run, 0–100: its evaluations scatter around it.
    let quality: Int
    var eliminated = false
}

/// A volunteer while they serve.
struct VolunteerState {
    let key: Int
    let unit: Int
    let registered: Int
    let registeredAt: Int64
    /// The last day they serve.
    let until: Int
    /// Service logs a month, in tenths.
    let level: Int
}

extension DistrictSimulation {
    // MARK: cases

    /// Opens a case for `person` with a worker of their unit, plans its
    /// reassignment (a worker leaves, or the case moves to another unit) and
    /// its closing; a case outlives its person only briefly, and is withdrawn
    /// or referred when they leave.
    mutating func openCase(
        for person: PersonState, key personKey: Int, service: CaseServiceType, opened: Int, closes: Int
    ) {
        guard opened <= lastDay, opened >= Int(person.registered), opened <= Int(person.leave) else { return }
        let year = SynthesisCalendar.components(opened).year
        let number = DistrictSimulation.next(&caseNumbers, year: year, from: numberingYear)
        let key = year * 10_000_000 + number
        var unit = Int(person.residence)
        var worker = worker(unit)
        let openedAt = clerkRecording(opened, after: person.registrationRecordedAt)
        plan(
            .caseOpened, key: key, day: opened, recordedAt: openedAt, actor: worker, orgUnit: unit, a: Int64(personKey),
            b: Int64(service.cataloguePosition) | Int64(worker) << 8)
        var closed = closes
        var outcome = random.pick(choices.caseOutcome)
        if Int(person.leave) < closed {
            closed = Int(person.leave) + random.between(5, 40)
            outcome = person.departure == .deceased ? .withdrawn : .referred
        }
        if random.chance(0.12) && closed - opened >= 3 {
            let day = random.between(opened + 1, closed - 1)
            if random.chance(0.25) { unit = random.pick(units.choice) }
            worker = self.worker(unit)
            plan(
                .caseReassigned, key: key, day: day, recordedAt: clerkRecording(day, after: openedAt), actor: worker,
                orgUnit: unit, a: Int64(unit), b: Int64(worker))
        }
        if closed <= lastDay {
            plan(
                .caseClosed, key: key, day: closed, recordedAt: clerkRecording(closed, after: openedAt), actor: worker,
                orgUnit: unit, a: Int64(outcome.cataloguePosition))
        }
    }

    // MARK: the call centre

    /// The month's contacts with the call centre (呼叫中心): by phone, online,
    /// through 一网通办 (from 2018) and the 政策助手 policy assistant (from
    /// 2021); answered by the district's centre or, more and more, by the
    /// units' sub-centres; mostly resolved within three days.
    mutating func receiveContacts(_ month: MonthWindow) {
        let year = month.year
        let expected = DistrictTrend.contactsPerPerson(year) * Double(onRegister) * Double(month.days) / 365
        let count = random.count(mean: expected * (0.85 + 0.3 * random.fraction()))
        guard count > 0 else { return }
        var perDay = [Int](repeating: 0, count: month.days)
        let onlineChannels: Weighted<CallChannel> =
            switch year {
            case ..<2018: Weighted([(.online, 1)])
            case ..<2021: Weighted([(.online, 60), (.oneNetwork, 40)])
            default: Weighted([(.online, 40), (.oneNetwork, 35), (.policyAssistant, 25)])
            }
        // Drawn first and sorted, so that contacts are numbered in the order they came in.
        var arrivals: [(day: Int, online: Bool, millisecond: Int)] = []
        arrivals.reserveCapacity(count)
        for _ in 0..<count {
            let online = random.chance(DistrictTrend.onlineContacts(year))
            let second = online ? random.between(25_200, 82_800) : random.between(30_600, 63_000)
            arrivals.append((month.first + random.below(month.days), online, second * 1000 + random.below(1000)))
        }
        arrivals.sort { ($0.day, $0.millisecond) < ($1.day, $1.millisecond) }
        for (day, online, millisecond) in arrivals {
            let channel: CallChannel = online ? random.pick(onlineChannels) : .phone
            let received = SynthesisCalendar.instant(day, second: 0) + Int64(millisecond)
            let topic = random.pick(choices.topic)
            var unit = random.chance(DistrictTrend.callsInUnits(year)) ? random.pick(units.choice) : units.district
            var caller: Int?
            if random.chance(0.6), let index = someRegisteredPerson(on: day, before: received) {
                caller = index
                if unit != units.district { unit = Int(people[index].residence) }
            }
            perDay[day - month.first] += 1
            let key = day * 100_000 + perDay[day - month.first]
            let actor =
                unit == units.district ? staff.agents.lowerBound + random.below(staff.agents.count) : clerk(unit)
            plan(
                .callReceived, key: key, day: day, recordedAt: received, actor: actor, orgUnit: unit,
                a: Int64(topic.cataloguePosition) | Int64(channel.cataloguePosition) << 4
                    | (caller == nil ? 0 : 1 << 8),
                b: Int64((caller ?? -1) + 1))
            guard random.chance(0.985) else { continue }
            let lag: Int
            if random.chance(DistrictTrend.callsOnTime(year)) {
                let draw = random.below(100)
                lag = draw < 60 ? 0 : draw < 80 ? 1 : draw < 92 ? 2 : 3
            } else {
                lag = random.between(4, 20)
            }
            let resolved = day + lag
            guard resolved <= lastDay else { continue }
            let candidate =
                lag == 0
                ? received + Int64(random.between(300, 14_400)) * 1000
                : SynthesisCalendar.instant(resolved, second: random.between(30_600, 63_000))
                    + Int64(random.below(1000))
            plan(
                .callResolved, key: key, day: resolved, recordedAt: settle(candidate, day: resolved, after: received),
                actor: actor, orgUnit: unit, a: random.chance(DistrictTrend.rate(year, from: 0.9, to: 0.96)) ? 1 : 0)
        }
    }

    // MARK: rights

    /// The month's rights cases (维权): complaints, legal aid, petitions, most
    /// of them about a registered person, mostly closed within 15 days.
    mutating func openRightsCases(_ month: MonthWindow) {
        let expected = 0.007 * Double(onRegister) * Double(month.days) / 365
        var days: [Int] = []
        for _ in 0..<random.count(mean: expected) { days.append(month.first + random.below(month.days)) }
        days.sort()
        for day in days {
            let kind = random.pick(choices.rightsKind)
            var dependency: Int64 = 0
            var personKey = 0
            var unit = random.chance(0.4) ? units.district : random.pick(units.choice)
            if random.chance(0.8), let index = someRegisteredPerson(on: day, before: .max) {
                personKey = index + 1
                dependency = people[index].registrationRecordedAt
                unit = random.chance(0.7) ? Int(people[index].residence) : units.district
            }
            let number = DistrictSimulation.next(&rightsNumbers, year: month.year, from: numberingYear)
            let key = month.year * 10_000_000 + number
            let actor = clerk(unit)
            let openedAt = clerkRecording(day, after: dependency)
            plan(
                .rightsCaseOpened, key: key, day: day, recordedAt: openedAt, actor: actor, orgUnit: unit,
                a: Int64(kind.cataloguePosition) | (personKey == 0 ? 0 : 1 << 4), b: Int64(personKey))
            guard random.chance(0.985) else { continue }
            let closed =
                day
                + (random.chance(DistrictTrend.rightsOnTime(month.year))
                    ? random.between(1, 15) : random.between(16, 75))
            if closed <= lastDay {
                plan(
                    .rightsCaseClosed, key: key, day: closed, recordedAt: clerkRecording(closed, after: openedAt),
                    actor: actor, orgUnit: unit, a: Int64(random.pick(choices.rightsResolution).cataloguePosition))
            }
        }
    }

    // MARK: projects

    /// Imports the projects running when the ledger opened.
    mutating func migrateProjects() {
        let count = max(3, Int((45 * scale).rounded()))
        for _ in 0..<count {
            let launched = random.between(firstDay - 3 * 365, firstDay - 30)
            let day = migrationDays[random.below(migrationDays.count)]
            let recorded =
                SynthesisCalendar.instant(day, second: 32_400 + random.below(28_800)) + Int64(random.below(1000))
            launchProject(on: launched, recordedAt: recorded, actor: staff.migration)
        }
    }

    /// Launches a project on `day` (a fifth run by the district, the rest by units).
    private mutating func launchProject(on day: Int, recordedAt: Int64? = nil, actor: Int? = nil) {
        let unit = random.chance(0.2) ? units.district : random.pick(units.choice)
        let year = SynthesisCalendar.components(day).year
        let number = DistrictSimulation.next(&projectNumbers, year: year, from: numberingYear)
        let key = year * 100_000 + number
        let recorded = recordedAt ?? clerkRecording(day)
        let recorder = actor ?? clerk(unit)
        let category = random.pick(choices.projectCategory)
        plan(
            .projectLaunched, key: key, day: day, recordedAt: recorded, actor: recorder, orgUnit: unit,
            a: Int64(random.below(words.projectThemes.count)) | Int64(unit) << 8
                | Int64(random.below(words.operators.count)) << 16 | Int64(category.cataloguePosition) << 24,
            b: Int64(random.between(5, 80) * 10_000))
        projects.append(
            ProjectState(
                key: key, unit: unit, launched: day, launchedAt: recorded, actor: clerk(unit),
                quality: random.between(62, 92)))
        if day >= firstDay { planProject(projects.count - 1, year: year) }
    }

    /// The year's new projects, and for every running one its adoption by a
    /// company (爱心企业认领), its evaluation and, for the weakest or those at the
    /// end of their cycle, elimination (项目淘汰).
    mutating func planProjects(_ year: Int) {
        for index in projects.indices where !projects[index].eliminated {
            planProject(index, year: year)
        }
        let launches = max(1, random.count(mean: 14 * scale))
        for _ in 0..<launches {
            launchProject(on: random.between(SynthesisCalendar.day(year, 2, 15), SynthesisCalendar.day(year, 10, 31)))
        }
    }

    private mutating func planProject(_ index: Int, year: Int) {
        let project = projects[index]
        let yearStart = SynthesisCalendar.day(year, 1, 1)
        let adoptionFrom = max(project.launched + 10, yearStart + 14)
        let adoptionTo = SynthesisCalendar.day(year, 10, 31)
        if adoptionFrom <= adoptionTo && random.chance(0.3) {
            let day = random.between(adoptionFrom, adoptionTo)
            plan(
                .projectAdopted, key: project.key, day: day, recordedAt: clerkRecording(day, after: project.launchedAt),
                actor: project.actor, orgUnit: project.unit,
                a: Int64(random.below(words.employerWords.count)) | Int64(random.below(words.companyTrades.count)) << 8,
                b: Int64(random.between(1, 18) * 10_000))
        }
        guard project.launched <= SynthesisCalendar.day(year, 9, 30) else { return }
        let evaluated =
            random.chance(0.9)
            ? random.between(SynthesisCalendar.day(year, 11, 10), SynthesisCalendar.day(year, 12, 28))
            : random.between(SynthesisCalendar.day(year + 1, 1, 5), SynthesisCalendar.day(year + 1, 2, 20))
        let score = min(99, max(40, project.quality + random.between(-14, 9)))
        plan(
            .projectEvaluated, key: project.key, day: evaluated,
            recordedAt: clerkRecording(evaluated, after: project.launchedAt), actor: project.actor,
            orgUnit: project.unit, a: Int64(year), b: Int64(score))
        let lowScore = score < 65 && random.chance(0.7)
        let cycleEnded = !lowScore && evaluated - project.launched > 3 * 365 && random.chance(0.22)
        guard lowScore || cycleEnded else { return }
        projects[index].eliminated = true
        let day = evaluated + random.between(15, 45)
        plan(
            .projectEliminated, key: project.key, day: day, recordedAt: clerkRecording(day, after: project.launchedAt),
            actor: project.actor, orgUnit: project.unit, a: lowScore ? 0 : 1, b: Int64(year * 1000 + score))
    }

    // MARK: volunteers

    /// Imports the volunteers registered before the ledger opened.
    mutating func migrateVolunteers() {
        let count = max(3, Int((420 * scale).rounded()))
        for _ in 0..<count {
            let registered = random.between(firstDay - 4 * 365, firstDay - 7)
            let day = migrationDays[random.below(migrationDays.count)]
            let recorded =
                SynthesisCalendar.instant(day, second: 32_400 + random.below(28_800)) + Int64(random.below(1000))
            registerVolunteer(on: registered, recordedAt: recorded, actor: staff.migration)
        }
    }

    private mutating func registerVolunteer(on day: Int, recordedAt: Int64? = nil, actor: Int? = nil) {
        volunteerCount += 1
        let unit = random.pick(units.choice)
        let year = SynthesisCalendar.components(day).year
        // The Jiading–Kunshan–Taicang alliance (嘉昆太) brings volunteers from 2021.
        let alliance: Alliance =
            year < 2021 ? .jiading : random.pick(Weighted([(.jiading, 78), (.kunshan, 12), (.taicang, 10)]))
        let party = random.chance(0.32)
        let draw = random.below(100)
        let personal: Int64 = draw < 70 ? 3 : draw < 85 ? 1 : 0
        let name =
            Int64(random.below(words.surnames.count)) | Int64(random.below(words.givenCharacters.count)) << 8
            | Int64(1 + random.below(words.givenCharacters.count)) << 16
        let recorded = recordedAt ?? clerkRecording(day)
        plan(
            .volunteerRegistered, key: volunteerCount, day: day, recordedAt: recorded, actor: actor ?? clerk(unit),
            orgUnit: unit, a: (party ? 1 : 0) | Int64(alliance.cataloguePosition) << 1 | personal << 4 | name << 8,
            b: Int64(volunteerCount))
        volunteers.append(
            VolunteerState(
                key: volunteerCount, unit: unit, registered: day, registeredAt: recorded,
                until: day + random.between(2 * 365, 10 * 365), level: random.pick(choices.volunteerLevel)))
    }

    /// The month's new volunteers and the service of those still active,
    /// synchronised from the volunteer platform.
    mutating func serveAsVolunteers(_ month: MonthWindow) {
        let joining = random.count(mean: 190 * scale / 12)
        for _ in 0..<joining { registerVolunteer(on: month.first + random.below(month.days)) }
        var index = 0
        while index < volunteers.count {
            let volunteer = volunteers[index]
            if volunteer.until < month.first {
                volunteers.swapAt(index, volunteers.count - 1)
                volunteers.removeLast()
                continue
            }
            index += 1
            let logs = random.count(mean: Double(volunteer.level) / 10)
            for _ in 0..<logs {
                guard let day = month.day(from: volunteer.registered, to: volunteer.until, &random) else { break }
                let draw = random.below(100)
                let unit = draw < 85 ? volunteer.unit : draw < 92 ? units.district : random.pick(units.choice)
                plan(
                    .volunteerServiceLogged, key: volunteer.key, day: day,
                    recordedAt: platformRecording(day, after: volunteer.registeredAt), actor: staff.volunteerPlatform,
                    orgUnit: unit, a: Int64(random.pick(choices.minutes)),
                    b: Int64(random.below(words.volunteerActivities.count)))
            }
        }
    }

    // MARK: legal education

    /// The year's legal-education sessions (普法) of each unit and of the
    /// district, most around 3 March (学雷锋), the national day of help for the
    /// disabled in May and the constitution week in December.
    mutating func planLegalEducation(_ year: Int) {
        for unit in 0...units.district {
            let district = unit == units.district
            let mean = district ? 5 * scale : units.shares[unit] * 55 * scale
            for _ in 0..<random.count(mean: mean) {
                let draw = random.below(100)
                let day: Int
                if draw < 15 {
                    day = random.between(SynthesisCalendar.day(year, 3, 1), SynthesisCalendar.day(year, 3, 20))
                } else if draw < 30 {
                    day = random.between(SynthesisCalendar.day(year, 5, 8), SynthesisCalendar.day(year, 5, 25))
                } else if draw < 40 {
                    day = random.between(SynthesisCalendar.day(year, 11, 28), SynthesisCalendar.day(year, 12, 10))
                } else {
                    day = random.between(SynthesisCalendar.day(year, 1, 8), SynthesisCalendar.day(year, 12, 20))
                }
                let attendees = district ? random.between(120, 600) : random.between(15, 160)
                plan(
                    .legalEducationHeld, key: unit, day: day, recordedAt: clerkRecording(day), actor: clerk(unit),
                    orgUnit: unit, a: Int64(attendees), b: Int64(random.below(words.legalTopics.count)))
            }
        }
    }
}
