import RESP

/// Every error reply Needletail sends, worded byte for byte as Redis 7.0 words it. Handlers
/// write them with `CommandContext.error(_:)`, which also counts them for INFO errorstats.
public enum Errors {
    public static let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
    public static let notInteger = "ERR value is not an integer or out of range"
    public static let outOfRange = "ERR value is out of range"
    public static let notFloat = "ERR value is not a valid float"
    public static let syntax = "ERR syntax error"
    public static let noSuchKey = "ERR no such key"
    public static let dbIndexOutOfRange = "ERR DB index is out of range"
    public static let sameObject = "ERR source and destination objects are the same"
    public static let overflow = "ERR increment or decrement would overflow"
    public static let floatOverflow = "ERR increment would produce NaN or Infinity"
    public static let stringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    public static let offsetOutOfRange = "ERR offset is out of range"
    public static let bitOffset = "ERR bit offset is not an integer or out of range"
    public static let bitValue = "ERR bit is not an integer or out of range"
    public static let invalidCursor = "ERR invalid cursor"
    public static let noAuth = "NOAUTH Authentication required."
    public static let wrongPass = "WRONGPASS invalid username-password pair or user is disabled."
    public static let authWithoutPassword = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    public static let helloNoAuth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
    public static let unsupportedProtocol = "NOPROTO unsupported protocol version"
    public static let protocolVersionNotInteger = "ERR Protocol version is not an integer or out of range"
    public static let badClientName = "ERR Client names cannot contain spaces, newlines or special characters."
    public static let expireFlagsNXXX = "ERR NX and XX, GT or LT options at the same time are not compatible"
    public static let expireFlagsGTLT = "ERR GT and LT options at the same time are not compatible"
    public static let invalidFirstDB = "ERR invalid first DB index"
    public static let invalidSecondDB = "ERR invalid second DB index"
    public static let bitopNot = "ERR BITOP NOT must be called with a single source key."
    public static let bitposBit = "ERR The bit argument must be 1 or 0."
    public static let bitfieldType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    public static let bitfieldReadOnly = "ERR BITFIELD_RO only supports the GET subcommand"
    public static let bitfieldOverflow = "ERR Invalid OVERFLOW type specified"
    public static let lcsLengthAndIndexes = "ERR If you want both the length and indexes, please just use IDX."
    public static let lcsWrongType = "ERR The specified keys must contain string values"
    public static let noConfigFile = "ERR The server is running without a config file"
    public static let debugNotAllowed = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
    public static let noKeyArguments = "ERR The command has no key arguments"
    public static let invalidCommandArguments = "ERR Invalid arguments specified for command"
    public static let invalidCommandName = "ERR Invalid command specified"
    public static let maxClients = "ERR max number of clients reached"
    public static let keyNotFound = "ERR no such key"
    public static let timeoutNotFloat = "ERR timeout is not a float or out of range"
    public static let notInTransaction = "ERR Command not allowed inside a transaction"
    public static let outOfMemory = "OOM command not allowed when used memory > 'maxmemory'."
    public static let loading = "LOADING Redis is loading the dataset in memory"
    public static let replicaTouchesKeyspace = "ERR Replica can't interact with the keyspace"

    public static func onlySubscribeCommands(_ command: String) -> String {
        "ERR Can't execute '\(command)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    }

    public static func wrongArity(_ fullName: String) -> String {
        "ERR wrong number of arguments for '\(fullName)' command"
    }

    public static func invalidExpireTime(_ command: String) -> String {
        "ERR invalid expire time in '\(command)' command"
    }

    public static func unknownSubcommand(_ subcommand: UnsafeRawBufferPointer, of container: String) -> [UInt8] {
        Array("ERR unknown subcommand '".utf8) + formatted(subcommand, limit: 128) + Array("'. Try \(container.uppercased()) HELP.".utf8)
    }

    /// A subcommand called with arguments it does not take.
    public static func subcommandSyntax(_ subcommand: UnsafeRawBufferPointer, of container: String) -> [UInt8] {
        Array("ERR unknown subcommand or wrong number of arguments for '".utf8) + formatted(subcommand, limit: 128)
            + Array("'. Try \(container.uppercased()) HELP.".utf8)
    }

    public static func helloOption(_ option: String) -> String {
        "ERR Syntax error in HELLO option '\(option)'"
    }

    /// `ERR unknown command 'name', with args beginning with: 'a' 'b' `, arguments quoted until 128 characters.
    public static func unknownCommand(_ arguments: Arguments) -> [UInt8] {
        var args: [UInt8] = []
        var index = 1
        while index < arguments.count && args.count < 128 {
            args += [UInt8(ascii: "'")] + formatted(arguments[index], limit: 128 - args.count) + Array("' ".utf8)
            index += 1
        }
        return Array("ERR unknown command '".utf8) + formatted(arguments[0], limit: 128)
            + Array("', with args beginning with: ".utf8) + args
    }

    /// A client's argument as Redis's `%.<limit>s` prints it into a message: its bytes
    /// unchanged, at most `limit` of them, up to the first NUL.
    static func formatted(_ bytes: UnsafeRawBufferPointer, limit: Int) -> [UInt8] {
        Array(bytes.prefix(limit).prefix { $0 != 0 })
    }
}
