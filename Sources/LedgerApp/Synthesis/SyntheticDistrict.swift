import LedgerDomain
import LedgerValues

/// A realistic synthetic district for trying the ledger at scale: the register
/// of disabled persons of a district like Jiading over a span of years, with
/// their assessments, services, jobs, cases, call-centre contacts, rights
/// cases, projects, volunteers and legal education, as interchange-form lines
/// (events.md §1) in the order they were recorded.
///
/// Every line passes every rule of events.md §6, so a fresh ledger imports the
/// whole file; the same request gives the same bytes on any machine (one
/// seeded generator, integer arithmetic, no clock, no hashing order).
public struct SyntheticDistrict: Sendable {
    /// Person streams in the file: everyone on the register at some time in
    /// the years (about 70% already registered when the ledger opens, the
    /// rest newly certified later; some leave on the way).
    public let persons: Int
    /// The seed of the generator.
    public let seed: UInt64
    /// The first and last calendar year simulated.
    public let fromYear: Int
    public let toYear: Int

    /// The largest district the generator makes (ID numbers must stay unique
    /// per birth date and sex).
    public static let maximumPersons = 5_000_000
    /// The earliest first year: persons up to about a hundred years old need
    /// birth dates from 1900 on.
    public static let earliestYear = 2001
    /// The latest last year: dates and instants must lie before 2101.
    public static let latestYear = 2099
    /// The first year by default: the ledger opened in 2016.
    public static let defaultFromYear = 2016
    /// The number of persons by default: about 33,000 certified disabled persons live in Jiading.
    public static let defaultPersons = 33_000

    /// A request for `persons` persons, years `fromYear` through `toYear`.
    /// Throws `AppError.usage` naming what is out of range.
    public init(persons: Int, seed: UInt64, fromYear: Int, toYear: Int) throws {
        guard (1...SyntheticDistrict.maximumPersons).contains(persons) else {
            throw AppError.usage("--persons must be 1 to \(SyntheticDistrict.maximumPersons) (got \(persons))")
        }
        guard (SyntheticDistrict.earliestYear...SyntheticDistrict.latestYear).contains(fromYear),
            (SyntheticDistrict.earliestYear...SyntheticDistrict.latestYear).contains(toYear)
        else {
            throw AppError.usage(
                "--from and --to must be years \(SyntheticDistrict.earliestYear)–\(SyntheticDistrict.latestYear) (got \(fromYear), \(toYear))"
            )
        }
        guard fromYear <= toYear else {
            throw AppError.usage("--from (\(fromYear)) must not be after --to (\(toYear))")
        }
        self.persons = persons
        self.seed = seed
        self.fromYear = fromYear
        self.toYear = toYear
    }

    /// The last year by default: the year before the current year in Shanghai
    /// (UTC+8) at `now`, so that every event of the file is in the past.
    public static func defaultToYear(now: Instant = .now()) -> Int { now.localDate.year - 1 }

    /// Generates the district and hands its lines to `deliver` in blocks of
    /// about a megabyte (each block ends with a whole line). Memory holds the
    /// persons' state and the events not yet written, never the whole file.
    /// Reads the units and their weights from `seeds/units.json`.
    @discardableResult
    public func write(to deliver: (UnsafeRawBufferPointer) throws -> Void) throws -> SynthesisSummary {
        let units = try DistrictUnits.load()
        var simulation = DistrictSimulation(
            persons: persons, seed: seed, fromYear: fromYear, toYear: toYear, units: units)
        defer { simulation.release() }
        try simulation.run(deliver)
        return SynthesisSummary(
            events: simulation.written,
            persons: simulation.people.count,
            registeredAtEnd: simulation.people.reduce(0) { $0 + ($1.leave == .max ? 1 : 0) },
            eventsByType: zip(Catalogue.eventTypes, simulation.typeCounts).map { ($0, $1) })
    }
}

/// What a generated file holds.
public struct SynthesisSummary: Sendable {
    /// Lines written.
    public let events: Int
    /// Person streams.
    public let persons: Int
    /// Persons still on the register at the end of the last year.
    public let registeredAtEnd: Int
    /// Lines per event type, in catalogue order.
    public let eventsByType: [(type: EventType, count: Int)]
}
