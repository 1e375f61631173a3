import RESP

/// Every error reply Needletail sends, worded byte for byte as Redis 7.0 words it. Handlers
/// write them with `CommandContext.error(_:)`, which also counts them for INFO errorstats.
public enum Errors {
    public static let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
    public static let notInteger = "ERR value is not an integer or out of range"
    public static let outOfRange = "ERR value is out of range"
    public static let outOfIntRange = "ERR value is out of range, value must between -2147483648 and 2147483647"
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
    public static let notBusy = "NOTBUSY No scripts in execution right now."
    public static let busyKey = "BUSYKEY Target key name already exists."
    public static let backgroundSaveInProgress = "ERR Background save already in progress"
    public static let saveFailed = "ERR"
    public static let badDumpPayload = "ERR DUMP payload version or checksum are wrong"
    public static let badDataFormat = "ERR Bad data format"
    public static let invalidTTL = "ERR Invalid TTL value, must be >= 0"
    public static let invalidIdleTime = "ERR Invalid IDLETIME value, must be >= 0"
    public static let invalidFrequency = "ERR Invalid FREQ value, must be >= 0 and <= 255"
    public static let debugNotAllowed = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
    public static let noKeyArguments = "ERR The command has no key arguments"
    public static let invalidCommandArguments = "ERR Invalid arguments specified for command"
    public static let invalidCommandName = "ERR Invalid command specified"
    public static let maxClients = "ERR max number of clients reached"
    /// What a client from outside the host reads, under `protected-mode` without a password.
    public static let protectedMode = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside."
    public static let keyNotFound = "ERR no such key"
    public static let timeoutNotFloat = "ERR timeout is not a float or out of range"
    public static let notInTransaction = "ERR Command not allowed inside a transaction"
    public static let outOfMemory = "OOM command not allowed when used memory > 'maxmemory'."
    public static let loading = "LOADING Redis is loading the dataset in memory"
    public static let diskWriteError = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."
    public static let notEnoughReplicas = "NOREPLICAS Not enough good replicas to write."
    public static let readOnlyReplica = "READONLY You can't write against a read only replica."
    public static let masterDown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    public static let replicaTouchesKeyspace = "ERR Replica can't interact with the keyspace"

    public static func onlySubscribeCommands(_ command: String) -> String {
        "ERR Can't execute '\(command)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    }

    public static let invalidLexRange = "ERR min or max not valid string range item"
    public static let invalidScoreRange = "ERR min or max is not a float"
    public static let negativeTimeout = "ERR timeout is negative"
    public static let numkeysNotPositive = "ERR numkeys should be greater than 0"
    public static let negativeLimit = "ERR LIMIT can't be negative"
    public static let execAborted = "EXECABORT Transaction discarded because of previous errors."
    public static let weightNotFloat = "ERR weight value is not a float"
    public static let outOfSymmetricRange = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    public static let notPositive = "ERR value is out of range, must be positive"
    public static let nanOrInfinity = "ERR value is NaN or Infinity"
    public static let timeoutNotInteger = "ERR timeout is not an integer or out of range"
    public static let withScoresByLex = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    public static let limitWithoutBy = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    public static let scoreNaN = "ERR resulting score is not a number (NaN)"
    public static let maxAgeNotPositive = "ERR maxage should be greater than 0"
    public static let maxAgeNotInteger = "ERR maxage is not an integer or out of range"
    public static let indexOutOfRange = "ERR index out of range"
    public static let hashValueNotInteger = "ERR hash value is not an integer"
    public static let hashValueNotFloat = "ERR hash value is not a float"
    public static let decrementOverflow = "ERR decrement would overflow"
    public static let countNotPositive = "ERR count should be greater than 0"
    public static let clientIDNotPositive = "ERR client-id should be greater than 0"
    public static let trackingModeSwitch = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."
    public static let trackingBroadcastSwitch = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."
    public static let trackingOptInAndOut = "ERR You can't specify both OPTIN mode and OPTOUT mode"
    public static let xxAndNX = "ERR XX and NX options at the same time are not compatible"
    public static let debugProtocolType = "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
    public static let watchInMulti = "ERR WATCH inside MULTI is not allowed"
    public static let noRedirectClient = "ERR The client ID you want redirect to does not exist"
    public static let lcsTooLong = "ERR String too long for LCS"
    public static let resp2NotSupported = "ERR RESP2 is not supported by this command"
    public static let rankZero = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
    public static let prefixWithoutBroadcast = "ERR PREFIX option requires BCAST mode to be enabled"
    public static let sortScoreNotDouble = "ERR One or more scores can't be converted into double"
    public static let optInOutWithBroadcast = "ERR OPTIN and OPTOUT are not compatible with BCAST"
    public static let populateTooLarge = "ERR OOM in dictTryExpand"
    public static let tooManyKeys = "ERR Number of keys can't be greater than number of args"
    public static let noSuchClient = "ERR No such client"
    public static let shutdownFailed = "ERR Errors trying to SHUTDOWN. Check logs."
    public static let noShutdown = "ERR No shutdown in progress."
    public static let nestedMulti = "ERR MULTI calls can not be nested"
    public static let negativeMaxLength = "ERR MAXLEN can't be negative"
    public static let getKeysArity = "ERR Invalid number of arguments specified for command"
    public static let invalidClientID = "ERR Invalid client ID"
    public static let lcsOutOfMemory = "ERR Insufficient memory, failed allocating transient memory for LCS"
    public static let zaddIncrPair = "ERR INCR option supports a single increment-element pair"
    public static let gtLtNX = "ERR GT, LT, and/or NX options at the same time are not compatible"
    public static let functionFlushMode = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option"
    public static let execWithoutMulti = "ERR EXEC without MULTI"
    public static let discardWithoutMulti = "ERR DISCARD without MULTI"
    public static let negativeCount = "ERR COUNT can't be negative"
    public static let unblockReason = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    public static let pauseMode = "ERR CLIENT PAUSE mode must be WRITE or ALL"
    public static let cachingNeedsOptMode = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
    public static let cachingYesNeedsOptIn = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
    public static let cachingNoNeedsOptOut = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
    public static let idleTimeUnderLFU = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    public static let frequencyWithoutLFU = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    public static let singleRedirect = "ERR A client can only redirect to a single other client"

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

    public static func unknownConfigOption(_ name: [UInt8]) -> [UInt8] {
        quoting("ERR Unknown option or number of arguments for CONFIG SET - '", name)
    }

    public static func configSetFailed(_ name: [UInt8], _ reason: String) -> [UInt8] {
        quoting("ERR CONFIG SET failed (possibly related to argument '", name, "') - \(reason)")
    }

    public static func configRewriteFailed(_ reason: String) -> String {
        "ERR Rewriting config file: \(reason)"
    }

    public static func unrecognizedOption(_ option: [UInt8]) -> [UInt8] {
        quoting("ERR Unrecognized option '", option)
    }

    public static func badLibraryAttribute(_ attribute: String) -> String {
        "ERR \(attribute) cannot contain spaces, newlines or special characters."
    }

    public static func unknownClientType(_ type: [UInt8]) -> [UInt8] {
        quoting("ERR Unknown client type '", type)
    }

    public static func noSuchUser(_ user: [UInt8]) -> [UInt8] {
        quoting("ERR No such user '", user)
    }

    public static func noInputKeys(_ command: String) -> String {
        "ERR at least 1 input key is needed for '\(command)' command"
    }

    public static func overlappingPrefix(_ prefix: [UInt8], _ clash: [UInt8], existing: Bool) -> [UInt8] {
        quoting("ERR Prefix '", prefix, "' overlaps with \(existing ? "an existing" : "another provided") prefix '")
            + quoting("", clash, "'. Prefixes for a single client must not overlap.")
    }

    public static func unsupportedOption(_ option: [UInt8]) -> [UInt8] {
        quoting("ERR Unsupported option ", option, "")
    }

    public static func helloOption(_ option: [UInt8]) -> [UInt8] {
        quoting("ERR Syntax error in HELLO option '", option)
    }

    public static func unrecognizedReplconfOption(_ option: [UInt8]) -> [UInt8] {
        quoting("ERR Unrecognized REPLCONF option: ", option, "")
    }

    /// A message quoting a client's bytes as Redis's `%s` does: unchanged up to the first NUL (never
    /// through a String, which would replace bytes that are not UTF-8).
    static func quoting(_ before: String, _ argument: [UInt8], _ after: String = "'") -> [UInt8] {
        Array(before.utf8) + argument.prefix { $0 != 0 } + Array(after.utf8)
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
