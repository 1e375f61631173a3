import Locks

/// One INFO section: its name, whether a plain INFO shows it, and its fields, measured at
/// each call.
public struct InfoSection: Sendable {
    public let name: String
    /// Shown by INFO without arguments and by `default`; every section is shown by `all`.
    public let isDefault: Bool
    public let fields: @Sendable (CommandContext) -> [(String, String)]

    public init(_ name: String, isDefault: Bool = true,
                fields: @escaping @Sendable (CommandContext) -> [(String, String)]) {
        self.name = name
        self.isDefault = isDefault
        self.fields = fields
    }

    /// The heading Redis prints: `# Server`, `# CPU`.
    var title: String {
        name == "cpu" ? "CPU" : name.prefix(1).uppercased() + name.dropFirst()
    }
}

/// The INFO sections, in the order INFO prints them. This module registers Redis's; the
/// layers above (persistence, replication) register theirs, which take the place of the
/// built-in section of the same name.
public final class InfoSections: Sendable {
    private let sections: Lock<[InfoSection]>

    init(_ builtIn: [InfoSection]) {
        sections = Lock(builtIn)
    }

    /// Replaces the section of the same name where it stands, or adds `section` at the end.
    public func register(_ section: InfoSection) {
        sections.withLock { sections in
            if let index = sections.firstIndex(where: { $0.name == section.name }) {
                sections[index] = section
            } else {
                sections.append(section)
            }
        }
    }

    /// The sections named by INFO's arguments, in print order; unknown names select nothing.
    func selected(by arguments: [String]) -> [InfoSection] {
        let all = sections.withLock { $0 }
        if arguments.isEmpty { return all.filter(\.isDefault) }
        let wanted = Set(arguments.map { $0.lowercased() })
        return all.filter { section in
            wanted.contains(section.name) || wanted.contains("all") || wanted.contains("everything")
                || (wanted.contains("default") && section.isDefault)
        }
    }

    /// INFO's text: each section's heading and `field:value` lines, a blank line between sections.
    func text(for arguments: [String], _ c: CommandContext) -> String {
        selected(by: arguments).map { section in
            "# \(section.title)\r\n" + section.fields(c).map { "\($0.0):\($0.1)\r\n" }.joined()
        }.joined(separator: "\r\n")
    }
}
