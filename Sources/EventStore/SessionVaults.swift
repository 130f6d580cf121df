import LedgerValues

/// The vault slot of each stream given personal data in one append session,
/// and the seqs of the vault entries the session put for it: what a later
/// event of the stream must find before the session's stream index entries
/// are put (see `AppendSession`).
///
/// An import that registers a great many persons holds one stream here for
/// each, so each takes a few dozen bytes: its name's UTF-8 bytes in one array
/// shared by all, its slot and the place of its latest entry, and its entries
/// as a list linked from the latest back. A dictionary of names held an
/// allocation for most names (a person's name is longer than the 15 bytes a
/// `String` holds inline) and another for each stream's seqs.
struct SessionVaults {
    /// The names' UTF-8 bytes, one after another.
    private var nameBytes: [UInt8] = []
    /// Where each stream's name ends in `nameBytes`; it starts where the one before ends.
    private var nameEnds: [Int] = []
    /// Each stream's slot; `SessionVaults.forgotten` once its personal data is erased.
    private var slots: [UInt64] = []
    /// The place in `entries` of each stream's latest entry; -1 for none.
    private var latestEntries: [Int32] = []
    /// Every entry noted: its seq, and the place of the stream's entry before it (-1 for none).
    private var entries: [(seq: Int64, previous: Int32)] = []
    private var places = HashPlaces()

    /// The slot of a stream whose personal data was erased in the session:
    /// it has none, and finds its slot as a stream never seen would.
    private static let forgotten = UInt64.max

    /// No streams yet.
    init() {}

    /// How many streams are held.
    var count: Int { slots.count }

    /// The slot of `stream`, if the session has given it one and not erased it since.
    func slot(of stream: String) -> UInt64? {
        guard let place = place(of: stream), slots[place] != SessionVaults.forgotten else { return nil }
        return slots[place]
    }

    /// Gives `stream` `slot`.
    mutating func setSlot(_ slot: UInt64, for stream: String) {
        precondition(slot != SessionVaults.forgotten, "slot \(slot) is not a slot of the key file")
        if let place = place(of: stream) {
            slots[place] = slot
            return
        }
        do {
            // Let go of before the arrays grow, which would copy them otherwise.
            let (bytes, ends) = (nameBytes, nameEnds)
            places.add(hash: SessionVaults.hash(stream), place: ends.count) {
                SessionVaults.name(at: $0, bytes, ends).withUnsafeBufferPointer(SessionVaults.hash)
            }
        }
        nameBytes.append(contentsOf: stream.utf8)
        nameEnds.append(nameBytes.count)
        slots.append(slot)
        latestEntries.append(-1)
    }

    /// Notes the vault entry of record `seq`, of `stream`, which has a slot.
    mutating func noteEntry(seq: Int64, of stream: String) {
        guard let place = place(of: stream) else { preconditionFailure("\(stream) has no slot in this session") }
        precondition(entries.count < Int(Int32.max), "a session notes fewer than 2^31 vault entries")
        entries.append((seq, latestEntries[place]))
        latestEntries[place] = Int32(entries.count - 1)
    }

    /// The seqs of `stream`'s entries noted in the session, latest first;
    /// the stream keeps no slot and no entries after.
    mutating func forget(_ stream: String) -> [Int64] {
        guard let place = place(of: stream) else { return [] }
        var seqs: [Int64] = []
        var entry = latestEntries[place]
        while entry >= 0 {
            seqs.append(entries[Int(entry)].seq)
            entry = entries[Int(entry)].previous
        }
        slots[place] = SessionVaults.forgotten
        latestEntries[place] = -1
        return seqs
    }

    private func place(of stream: String) -> Int? {
        var stream = stream
        return stream.withUTF8 { name in
            places.place(hash: SessionVaults.hash(name)) {
                SessionVaults.name(at: $0, nameBytes, nameEnds).elementsEqual(name)
            }
        }
    }

    /// The bytes of the name at `place`.
    private static func name(at place: Int, _ bytes: [UInt8], _ ends: [Int]) -> ArraySlice<UInt8> {
        bytes[(place == 0 ? 0 : ends[place - 1])..<ends[place]]
    }

    private static func hash(_ stream: String) -> Int {
        var stream = stream
        return stream.withUTF8 { hash($0) }
    }

    private static func hash(_ name: UnsafeBufferPointer<UInt8>) -> Int { KeyedHash.hash(UnsafeRawBufferPointer(name)) }
}
