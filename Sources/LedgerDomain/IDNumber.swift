import LedgerValues

/// The citizen ID number of GB 11643: six digits of region, eight of birth
/// date, three of sequence (the last odd for men, even for women) and a check
/// character by ISO 7064 MOD 11-2.
public enum IDNumber {
    private static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let checkCharacters = Array("10X98765432".utf8)

    /// The check character the first 17 digits call for, or nil when they are not 17 digits.
    public static func checkCharacter(for digits: some Collection<UInt8>) -> Character? {
        guard digits.count == 17 else { return nil }
        var sum = 0
        for (digit, weight) in zip(digits, weights) {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            sum += Int(digit - UInt8(ascii: "0")) * weight
        }
        return Character(Unicode.Scalar(checkCharacters[sum % 11]))
    }

    /// Whether `text` is a well-formed ID number with the right check character.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 18, let check = checkCharacter(for: bytes[..<17]) else { return false }
        return Character(Unicode.Scalar(bytes[17])) == check
    }

    /// What is wrong with `text` as the ID number of a person born on
    /// `birthDate` of sex `sex` (events.md §6 rule 6), in a clerk's words, each
    /// message quoting the number masked.
    public static func problems(_ text: String, birthDate: LocalDate?, sex: Sex?) -> [String] {
        var masked: String { Echo.bare(Masking.keep(text, first: 6, last: 4)) }
        let bytes = Array(text.utf8)
        let digits = bytes.prefix(17)
        guard bytes.count == 18, digits.allSatisfy({ (0x30...0x39).contains($0) }),
            let check = checkCharacter(for: digits)
        else {
            return ["must be 18 characters, 17 digits then a digit or X (got \(masked))"]
        }
        var problems: [String] = []
        let given = Character(Unicode.Scalar(bytes[17]))
        if given != check {
            problems.append(
                "fails the GB 11643 check (ISO 7064 MOD 11-2): its last character must be \(check), not \(given) (got \(masked))"
            )
        }
        if let birthDate {
            var written: [UInt8] = []
            birthDate.write(into: &written)
            let expected = written.filter { $0 != UInt8(ascii: "-") }
            if !bytes[6..<14].elementsEqual(expected) {
                problems.append("characters 7–14 must be the birth date \(birthDate) as YYYYMMDD (got \(masked))")
            }
        }
        if let sex {
            let odd = (bytes[16] - UInt8(ascii: "0")) % 2 == 1
            if odd != (sex == .male) {
                problems.append(
                    "its 17th digit must be \(sex == .male ? "odd for M" : "even for F"), as data.sex says (got \(masked))"
                )
            }
        }
        return problems
    }
}
