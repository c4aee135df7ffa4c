import Foundation

/// A byte size as a user writes it on a command line: `4096`, `16M`, `64MiB`, `1G`, `2T`.
public enum ByteSize {
    /// The suffixes and their factors (binary multiples; case does not matter; `B` is bytes).
    static let units: [(suffix: String, factor: UInt64)] = [
        ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40), ("pib", 1 << 50), ("eib", 1 << 60),
        ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40), ("p", 1 << 50), ("e", 1 << 60), ("b", 1),
    ]

    /// Why a text is not a size.
    public enum Problem: Error, Hashable, Sendable, CustomStringConvertible {
        /// Not a decimal number with an optional suffix.
        case notASize
        /// A size of 2^64 bytes or more (a 64-bit byte count cannot hold it).
        case tooLarge

        /// What is wrong and what is accepted, in words.
        public var description: String {
            switch self {
            case .notASize:
                "not a size: use a decimal number of bytes with an optional K, M, G, T, P or E suffix (binary multiples; KiB … EiB too)"
            case .tooLarge: "too large: a size is at most 18446744073709551615 bytes (16 EiB - 1)"
            }
        }
    }

    /// The bytes that `text` names (surrounding spaces ignored).
    /// - Throws: ``ByteSize/Problem``: `notASize` or `tooLarge`.
    public static func parse(_ text: String) throws(Problem) -> UInt64 {
        let lower = text.lowercased().trimmingPrefixAndSuffix(" ")
        var digits = Substring(lower)
        var factor: UInt64 = 1
        if let unit = units.first(where: { lower.hasSuffix($0.suffix) }) {
            digits = digits.dropLast(unit.suffix.count)
            factor = unit.factor
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .notASize
        }
        guard let value = UInt64(digits) else { throw .tooLarge }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
        if overflow { throw .tooLarge }
        return bytes
    }

    /// `text` as a message may quote it: whole up to 32 characters, else its first 32 and "…".
    public static func quoted(_ text: some StringProtocol) -> String {
        text.count <= 32 ? String(text) : String(text.prefix(32)) + "…"
    }
}

extension String {
    fileprivate func trimmingPrefixAndSuffix(_ character: Character) -> Substring {
        var text = Substring(self)
        while text.first == character { text = text.dropFirst() }
        while text.last == character { text = text.dropLast() }
        return text
    }
}

/// What a user asks to boot, as `gmem run` takes it (sizes as text, a timeout in seconds, a
/// built-in image or the path of an ELF file), turned into a checked ``MachineConfig`` by
/// ``config()``: every value is range-checked and a bad one is a ``MachineError`` naming it.
public struct MachineRequest: Sendable {
    /// The guest's name in reports: a built-in guest's name, or the ELF file's path.
    public var name: String
    /// A built-in guest's image; nil to load the static x86-64 ELF64 executable at `name`
    /// (only its headers and the segments that fit in guest memory are read).
    public var builtInImage: [UInt8]?
    /// The names of the built-in guests, for the message when `name` is neither one nor a file.
    public var builtInNames: [String] = []
    /// Guest RAM, as ``ByteSize`` reads it: a multiple of 2 MiB, 4 MiB to 4 GiB.
    public var memory = "16M"
    /// Number of vCPUs, 1 to 64.
    public var vcpus = 1
    /// The wall-clock limit in seconds, 0.001 to ``maximumTimeoutSeconds``.
    public var timeoutSeconds: Double = 30
    /// The guest's parameter; nil for ``defaultParameter``.
    public var parameter: UInt32?
    /// The parameter when `parameter` is nil (and `parameterIsMemoryMiB` is false).
    public var defaultParameter: UInt32 = 1
    /// Whether the default parameter is the RAM size in MiB (the release guest finds its extra
    /// region there).
    public var parameterIsMemoryMiB = false
    /// Extra regions after RAM, each as ``ByteSize`` reads it (a multiple of 2 MiB).
    public var extraRegions: [String] = []
    /// The extra regions' sizes when `extraRegions` is empty.
    public var defaultExtraRegions: [UInt64] = []
    /// Whether the report measures each region's resident bytes (``MachineConfig/measuresResidency``).
    public var measuresResidency = true

    /// The longest timeout (1e9 s, about 31.7 years): beyond it a deadline is not a deadline,
    /// and the timeout in nanoseconds stays below 2^63.
    public static let maximumTimeoutSeconds: Double = 1e9

    /// A request for the guest called `name`: a built-in one when `builtInImage` is given,
    /// else the ELF file at the path `name`; every other value at its default.
    public init(name: String, builtInImage: [UInt8]?) {
        self.name = name
        self.builtInImage = builtInImage
    }

    /// The checked configuration: sizes parsed, the timeout in range, the configuration
    /// validated (``MachineConfig/validate()``), and a file image loaded.
    /// - Throws: ``MachineError`` `invalidConfiguration` naming the value out of range, or
    ///   `image` when the file cannot be read or is not a loadable guest image.
    public func config() throws(MachineError) -> MachineConfig {
        let bytes: UInt64
        do { bytes = try ByteSize.parse(memory) } catch {
            throw .invalidConfiguration("memory size '\(ByteSize.quoted(memory))' is \(error)")
        }
        guard timeoutSeconds.isFinite, timeoutSeconds >= 0.001, timeoutSeconds <= Self.maximumTimeoutSeconds else {
            throw .invalidConfiguration(
                "the timeout must be between 0.001 and \(Int(Self.maximumTimeoutSeconds)) seconds (got \(timeoutSeconds))"
            )
        }
        var extras: [UInt64] = []
        for text in extraRegions {
            do { extras.append(try ByteSize.parse(text)) } catch {
                throw .invalidConfiguration("extra region size '\(ByteSize.quoted(text))' is \(error)")
            }
        }
        if extras.isEmpty { extras = defaultExtraRegions }
        let parameter =
            self.parameter ?? (parameterIsMemoryMiB ? UInt32(clamping: bytes >> 20) : defaultParameter)
        var config = MachineConfig(
            name: name, image: builtInImage ?? [], memorySize: bytes, vcpus: vcpus,
            timeout: .nanoseconds(Int64(timeoutSeconds * 1e9)), parameter: parameter)
        config.extraRegions = extras
        config.measuresResidency = measuresResidency
        try config.validate()
        if builtInImage == nil {
            guard HostFile.linkStatus(of: name) != nil else {
                throw .invalidConfiguration(
                    "'\(ByteSize.quoted(name))' is neither a built-in guest (\(builtInNames.joined(separator: ", "))) nor a file"
                )
            }
            do { config.parsedImage = try ELFImage.load(path: name, memorySize: bytes, vcpus: vcpus) } catch {
                throw .image(error)
            }
        }
        return config
    }
}

extension RestoreOptions {
    /// The longest timeout of a restored run, in seconds (a day).
    public static let maximumTimeoutSeconds: Double = 86_400

    /// Options for restoring `clones` machines at once (1 to ``Snapshot/maximumClones``), each
    /// run limited to `timeoutSeconds` (0.001 to ``maximumTimeoutSeconds``; nil: 30 s per clone
    /// per host CPU, since the clones share the CPUs), residency measured.
    /// - Throws: ``SnapshotError`` `unsupported` naming the value out of range.
    public init(clones: Int, timeoutSeconds: Double?) throws(SnapshotError) {
        // The clone count first: the default timeout is computed from it (Int.max clones overflowed there).
        guard (1...Snapshot.maximumClones).contains(clones) else {
            throw .unsupported("--clones must be between 1 and \(Snapshot.maximumClones) (got \(clones))")
        }
        let cpus = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let timeout = timeoutSeconds ?? 30 * Double((clones + cpus - 1) / cpus)
        guard timeout >= 0.001, timeout.isFinite, timeout <= Self.maximumTimeoutSeconds else {
            throw .unsupported("--timeout must be from 0.001 to 86400 seconds (got \(timeout))")
        }
        self.init()
        self.timeout = .milliseconds(Int64(timeout * 1000))
        measuresResidency = true
    }
}

extension SnapshotTrigger {
    /// The trigger a user wrote as `exits=N` or `ms=T` (``init(parsing:)``); nil text is
    /// ``guestRequest`` (a snapshot only when the guest asks).
    /// - Throws: ``SnapshotError`` `unsupported` quoting the text and what is accepted.
    public init(argument text: String?) throws(SnapshotError) {
        guard let text else {
            self = .guestRequest
            return
        }
        guard let parsed = SnapshotTrigger(parsing: text) else {
            throw .unsupported(
                "cannot read --snapshot-at '\(ByteSize.quoted(text))': use exits=N (N ≥ 1) or ms=T (0 to 86400000)")
        }
        self = parsed
    }
}
