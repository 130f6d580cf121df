import Foundation
import LedgerDomain
import LedgerSeeds

/// The district as the generator sees it: the twelve units with their weights
/// and Chinese names from `seeds/units.json`, in the file's order, and the
/// district itself last (index 12), which may record events but is no residence.
struct DistrictUnits {
    /// Unit codes as bytes; index `district` is the district's own code.
    let codes: [[UInt8]]
    /// Chinese names, same indices.
    let names: [[UInt8]]
    /// Each unit's share of the persons (the seed weights over their sum).
    let shares: [Double]
    /// The twelve units drawn by their weights.
    let choice: Weighted<Int>
    /// Index of the district (after the twelve units).
    let district: Int

    /// The number of units a person may live in.
    var count: Int { district }

    /// Reads `seeds/units.json` (or its `$SUNLEDGER_SEEDS` override).
    static func load() throws -> DistrictUnits {
        struct File: Decodable {
            struct Unit: Decodable {
                let code: String
                let name: String
                let weight: Int
            }
            struct District: Decodable {
                let code: String
                let name: String
            }
            let district: District
            let units: [Unit]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: try Seeds.data(named: "units.json"))
        } catch {
            throw AppError.seeds("cannot read the units and their weights from seeds/units.json: \(error)")
        }
        guard !file.units.isEmpty, file.units.allSatisfy({ $0.weight > 0 }) else {
            throw AppError.seeds("seeds/units.json: every unit needs a positive weight")
        }
        let total = Double(file.units.map(\.weight).reduce(0, +))
        return DistrictUnits(
            codes: file.units.map { Array($0.code.utf8) } + [Array(file.district.code.utf8)],
            names: file.units.map { Array($0.name.utf8) } + [Array(file.district.name.utf8)],
            shares: file.units.map { Double($0.weight) / total },
            choice: Weighted(file.units.indices.map { ($0, file.units[$0].weight) }),
            district: file.units.count)
    }
}

/// How the federation's work grew from 2016 to 2025: a rate that starts at
/// one value and reaches another, linearly, the years outside held at the ends.
/// The end values are what the 14th five-year plan aimed at (kpis.md targets),
/// mostly reached, not always.
enum DistrictTrend {
    /// 0 in 2016 (and before), 1 in 2025 (and after).
    static func progress(_ year: Int) -> Double { min(1, max(0, Double(year - 2016) / 9)) }

    /// The rate of `year` on the way from `start` (2016) to `end` (2025).
    static func rate(_ year: Int, from start: Double, to end: Double) -> Double {
        start + (end - start) * progress(year)
    }

    /// Share of persons needing rehabilitation who are served in a year (rehab_coverage).
    static func rehabilitation(_ year: Int) -> Double { rate(year, from: 0.70, to: 0.91) }
    /// Share of persons needing a device who are fitted after their assessment.
    static func devices(_ year: Int) -> Double { rate(year, from: 0.72, to: 0.93) }
    /// Share of persons who take the year's free health check-up.
    static func healthChecks(_ year: Int) -> Double { rate(year, from: 0.58, to: 0.86) }
    /// Share of persons under a family-doctor contract (Shanghai's "1+1+1" signing).
    static func familyDoctors(_ year: Int) -> Double { rate(year, from: 0.30, to: 0.88) }
    /// Share of older persons with mental disabilities in care.
    static func elderlyMentalCare(_ year: Int) -> Double { rate(year, from: 0.50, to: 0.80) }
    /// Share of call-centre contacts made online (online, 一网通办, 政策助手).
    static func onlineContacts(_ year: Int) -> Double { rate(year, from: 0.18, to: 0.66) }
    /// Share of contacts answered within three days.
    static func callsOnTime(_ year: Int) -> Double { rate(year, from: 0.85, to: 0.95) }
    /// Share of contacts handled by the units' sub-centres rather than the district's centre.
    static func callsInUnits(_ year: Int) -> Double { rate(year, from: 0.20, to: 0.60) }
    /// Share of rights cases closed within 15 days.
    static func rightsOnTime(_ year: Int) -> Double { rate(year, from: 0.84, to: 0.95) }
    /// Contacts per registered person per year.
    static func contactsPerPerson(_ year: Int) -> Double { rate(year, from: 0.30, to: 0.60) }
    /// 智慧助我行 trainings per registered person per year (none before 2019).
    static func smartTraining(_ year: Int) -> Double {
        switch year {
        case ..<2019: 0
        case 2019: 0.015
        case 2020: 0.03
        default: 0.055
        }
    }
}

/// The words the generator writes: fictitious names from small tables of
/// common surnames and given-name characters, and the free text of projects,
/// employers, facilities, activities and topics, in the federation's words
/// (seed-article.txt). None holds a quote, a backslash or a control character,
/// so they go into JSON as they are.
struct DistrictWords {
    let surnames: [[UInt8]]
    let givenCharacters: [[UInt8]]
    let roads: [[UInt8]]
    let mobilePrefixes: [[UInt8]]
    let employerWords: [[UInt8]]
    let employerTrades: [[UInt8]]
    let welfarePosts: [[UInt8]]
    let careFacilities: [[UInt8]]
    let projectThemes: [[UInt8]]
    let operators: [[UInt8]]
    let companyTrades: [[UInt8]]
    let volunteerActivities: [[UInt8]]
    let legalTopics: [[UInt8]]
    let erasureReasons: [[UInt8]]

    init() {
        func characters(_ text: String) -> [[UInt8]] { text.map { Array(String($0).utf8) } }
        func words(_ list: [String]) -> [[UInt8]] {
            list.map { word in
                precondition(!word.utf8.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }, "plain text only")
                return Array(word.utf8)
            }
        }
        surnames = characters(
            "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟秦顾钱严戴施倪龚邵汤毛")
        givenCharacters = characters(
            "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文辉建国红梅林斌波宇浩凯婷雪琳晨欣怡佳俊峰萍燕鹏飞亮颖慧蓉倩海云春东晓荣志新德庆根宝凤珍琴瑶嘉逸诚卫忠民菊妹龙")
        roads = words([
            "博乐路", "城中路", "清河路", "叶城路", "塔城路", "沪宜公路", "曹安公路", "墨玉路", "嘉松北路", "胜辛路",
            "宝安公路", "陈翔路", "金沙江西路", "澄浏公路", "伊宁路", "洪德路", "阿克苏路", "裕民南路", "双丁路", "合作路",
        ])
        mobilePrefixes = words([
            "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
            "158", "159", "177", "180", "181", "186", "187", "188", "189", "199",
        ])
        employerWords = words([
            "嘉立", "安捷", "汇鑫", "博润", "菊盛", "恒达", "申嘉", "协力", "远景", "明德", "同创", "佳禾", "旭光", "瑞丰",
            "永信", "华泰",
        ])
        employerTrades = words([
            "汽车配件", "物流", "电子科技", "食品", "物业管理", "保洁服务", "印刷包装", "家政服务", "餐饮管理", "园林绿化",
            "信息技术", "纺织",
        ])
        welfarePosts = words(["社区事务受理服务中心", "城市网格化管理中心", "社区文化活动中心", "公共文明引导站"])
        careFacilities = words(["阳光心园", "社区养护院", "日间照料中心", "精神康复养护站", "长者照护之家", "阳光家园"])
        projectThemes = words([
            "阳光家园", "助残驿站", "康复到家", "融合就业", "无障碍出行", "心智障碍者日间照料", "听障儿童语训", "盲人数字阅读",
            "残健融合运动", "智慧助我行", "居家托养", "家门口的康复站", "辅具服务社", "益创空间", "助残集市", "阳光四叶草",
        ])
        operators = words([
            "嘉定区助残志愿者协会", "上海慧心社工师事务所", "嘉定区阳光社会服务中心", "上海安康公益发展中心", "嘉定区乐群社工服务社",
            "上海同心助残服务中心", "嘉定区手拉手社区服务中心", "上海明睿康复服务社", "阳光四叶草助残志愿服务中心",
        ])
        companyTrades = words(["汽车", "房地产开发", "电子", "医药", "建设工程", "物流", "精密机械", "食品"])
        volunteerActivities = words([
            "助残陪护", "康复站协助", "助盲出行", "上门探访", "助残集市", "阳光心园活动", "无障碍环境督导", "残健融合运动会服务",
            "智慧助我行课堂助教", "手语翻译", "助残理发", "政策宣传", "表率直通车党员助残", "嘉昆太联合助残活动",
        ])
        legalTopics = words([
            "《残疾人保障法》宣讲", "《无障碍环境建设法》解读", "残疾人就业权益保护", "遗产继承与监护制度", "防范电信诈骗",
            "法律援助申请指南", "《上海市残疾人权益保障条例》学习", "宪法宣传周专场", "明理·同心·自强主题教育", "崇法善治专题讲座",
        ])
        erasureReasons = words(["本人申请删除个人信息", "监护人申请删除个人信息", "迁出本区后申请删除个人信息"])
    }
}

/// The catalogue's codes as bytes, taken from the `LedgerDomain` enumerations
/// (never retyped): a payload stores a case's position, the line its code.
struct CatalogueCodes {
    let eventTypes: [[UInt8]]
    let sex = codes(Sex.self)
    let category = codes(DisabilityCategory.self)
    let workCapacity = codes(WorkCapacity.self)
    let needs = codes(Need.self)
    let employmentForm = codes(EmploymentForm.self)
    let employmentEndReason = codes(EmploymentEndReason.self)
    let programme = codes(TrainingProgramme.self)
    let serviceKind = codes(RehabServiceKind.self)
    let deviceKind = codes(DeviceKind.self)
    let serviceType = codes(CaseServiceType.self)
    let outcome = codes(CaseOutcome.self)
    let topic = codes(CallTopic.self)
    let channel = codes(CallChannel.self)
    let projectCategory = codes(ProjectCategory.self)
    let alliance = codes(Alliance.self)
    let rightsKind = codes(RightsKind.self)
    let resolution = codes(RightsResolution.self)
    let deregistrationReason = codes(DeregistrationReason.self)
    let homeModificationProgramme = codes(HomeModificationProgramme.self)

    init() {
        eventTypes = EventType.allCases.map { Array($0.rawValue.utf8) }
    }

    private static func codes<E: CatalogueEnumeration>(_: E.Type) -> [[UInt8]] {
        E.allCases.map { Array($0.rawValue.utf8) }
    }
}

extension CatalogueEnumeration {
    /// The case's position in the catalogue's list (what a payload stores).
    var cataloguePosition: Int { Self.allCases.firstIndex(of: self)! }
}

/// The catalogue's lists, made once: `allCases` builds a new array on every
/// use, too slow for the paths every person takes every month.
enum Catalogue {
    static let eventTypes = EventType.allCases
    static let categories = DisabilityCategory.allCases
    static let capacities = WorkCapacity.allCases
    static let departures = DeregistrationReason.allCases
    static let employmentForms = EmploymentForm.allCases
    /// One bit per need, by the need's position.
    static let rehabBit = needBit(.rehab)
    static let deviceBit = needBit(.assistiveDevice)
    static let homeModificationBit = needBit(.homeModification)
    static let employmentBit = needBit(.employment)
    static let careBit = needBit(.care)

    private static func needBit(_ need: Need) -> UInt8 { 1 << UInt8(need.cataloguePosition) }

    /// The bit of `need` in a person's needs.
    static func bit(_ need: Need) -> UInt8 {
        switch need {
        case .rehab: rehabBit
        case .assistiveDevice: deviceBit
        case .homeModification: homeModificationBit
        case .employment: employmentBit
        case .care: careBit
        }
    }
}

/// Who records: a unit's clerks (`clerk-anting-02`), its case workers
/// (`w-anting-03`), the call centre's agents (`agent-07`), the first import
/// of the old register (`migration`), and two data feeds: the health
/// commission's exchange (check-ups and family-doctor contracts) and the
/// volunteer platform.
struct DistrictStaff {
    /// Every actor's code; events store the index.
    private(set) var codes: [[UInt8]] = []
    let migration: Int
    let healthExchange: Int
    let volunteerPlatform: Int
    private(set) var agents: Range<Int> = 0..<0
    private(set) var clerks: [Range<Int>] = []
    private(set) var workers: [Range<Int>] = []

    init(units: DistrictUnits, persons: Int) {
        func add(_ code: String) -> Int {
            codes.append(Array(code.utf8))
            return codes.count - 1
        }
        migration = 0
        healthExchange = 1
        volunteerPlatform = 2
        codes = [Array("migration".utf8), Array("feed.health-exchange".utf8), Array("feed.volunteer-platform".utf8)]
        let agentCount = max(3, min(40, persons / 1500))
        let firstAgent = codes.count
        for n in 1...agentCount { _ = add("agent-" + DistrictStaff.twoDigits(n)) }
        agents = firstAgent..<codes.count
        let scale = Double(persons) / 33_000
        for unit in 0...units.district {
            let code = String(decoding: units.codes[unit], as: UTF8.self)
            let share = unit == units.district ? 0.2 : units.shares[unit]
            let clerkCount = max(2, min(60, Int((share * 40 * scale.squareRoot()).rounded())))
            let first = codes.count
            for n in 1...clerkCount { _ = add("clerk-\(code)-" + DistrictStaff.twoDigits(n)) }
            clerks.append(first..<codes.count)
        }
        for unit in 0..<units.district {
            let code = String(decoding: units.codes[unit], as: UTF8.self)
            // About one case worker for every 600 persons of the unit.
            let workerCount = max(2, min(99, Int((units.shares[unit] * Double(persons) / 600).rounded())))
            let first = codes.count
            for n in 1...workerCount { _ = add("w-\(code)-" + DistrictStaff.twoDigits(n)) }
            workers.append(first..<codes.count)
        }
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
