import RESP

/// The command table: every family's commands, found by name without allocating. The families
/// of this module come first; the layers above (persistence, replication) add theirs.
public final class CommandTable: Sendable {
    /// This module's families, each one file declaring its commands.
    public static let coreFamilies: [[Command]] = [
        ConnectionCommands.table,
        ClientCommands.table,
        KeyCommands.table,
        ExpiryCommands.table,
        StringCommands.table,
        BitmapCommands.table,
        ListCommands.table,
        HashCommands.table,
        SetCommands.table,
        SortedSetCommands.table,
        SortCommands.table,
        BlockingPopCommands.table,
        TransactionCommands.table,
        MonitorCommands.table,
        ServerCommands.table,
        ConfigCommands.table,
        DebugCommands.table,
        MemoryCommands.table,
        IntrospectionCommands.table,
        PubSubCommands.table,
        ScriptCommands.table,
    ]

    /// Top-level commands, in table order.
    public let commands: [Command]
    /// Every command and subcommand, in table order.
    public let all: [Command]
    /// Above every ordinal of the table's commands: the size of per-command statistics.
    public let ordinalLimit: Int
    /// The table's commands by `Command.ordinal` (nil for ordinals of no command here).
    private let byOrdinal: [Command?]
    /// Open-addressing index from lower-cased name to position in `commands` (-1 = empty).
    private let slots: [Int]
    /// Every command's lower-cased name, back to back; `nameStarts[i] ..< nameStarts[i + 1]` is command i's.
    private let names: [UInt8]
    private let nameStarts: [Int]
    /// `commands`, unretained, for the request path (`commands` keeps them alive).
    private let references: ContiguousArray<Unmanaged<Command>>

    public init(adding families: [[Command]] = []) {
        let commands = (Self.coreFamilies + families).flatMap { $0 }
        let all = commands.flatMap { [$0] + $0.subcommands }
        ordinalLimit = (all.map(\.ordinal).max() ?? 0) + 1
        var byOrdinal = [Command?](repeating: nil, count: ordinalLimit)
        for command in all { byOrdinal[command.ordinal] = command }
        self.commands = commands
        self.all = all
        self.byOrdinal = byOrdinal
        references = ContiguousArray(commands.map { Unmanaged.passUnretained($0) })
        let lowercasedNames = commands.map { Array($0.name.lowercased().utf8) }
        names = lowercasedNames.flatMap { $0 }
        nameStarts = lowercasedNames.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        var capacity = 16
        while capacity < commands.count * 3 { capacity *= 2 }
        var slots = [Int](repeating: -1, count: capacity)
        for (index, name) in lowercasedNames.enumerated() {
            var slot = name.withUnsafeBytes { Self.hash($0) } & (capacity - 1)
            precondition(!lowercasedNames[..<index].contains(name), "command \(commands[index].name) declared twice")
            while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = index
        }
        self.slots = slots
    }

    /// The command with this ordinal (one of this table's).
    public func command(ordinal: Int) -> Command {
        byOrdinal[ordinal]!
    }

    /// The position in `commands` of the command named `name`, in any letter case.
    public func lookup(_ name: UnsafeRawBufferPointer) -> Int? {
        guard name.count <= 32 else { return nil }
        let mask = slots.count - 1
        var slot = Self.hash(name) & mask
        return names.withUnsafeBytes { names in
            while true {
                let index = slots[slot]
                if index < 0 { return nil }
                let start = nameStarts[index], end = nameStarts[index + 1]
                if name.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: names[start ..< end])) { return index }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The command named `name`, borrowed without reference counting (the request path).
    @inline(__always)
    func find(_ name: UnsafeRawBufferPointer) -> Unmanaged<Command>? {
        lookup(name).map { references[$0] }
    }

    public func lookup(_ name: String) -> Command? {
        var name = name
        return name.withUTF8 { bytes in lookup(UnsafeRawBufferPointer(bytes)).map { commands[$0] } }
    }

    /// Case-folding FNV-1a.
    private static func hash(_ name: UnsafeRawBufferPointer) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name {
            let folded = byte >= 65 && byte <= 90 ? byte | 0x20 : byte
            hash = (hash ^ UInt64(folded)) &* 0x100_0000_01b3
        }
        return Int(truncatingIfNeeded: hash >> 1)
    }
}
