import GmemModel

/// The plain-text scenario language (docs/scenario-language.md): one action per line with
/// named objects, an optional expected outcome after `->`, `#` comments and `scenario`
/// headers. `ScenarioFormat.parse` reads it strictly (every word is accounted for, every
/// number is range-checked against the C type of its field, every name is declared before
/// use); `ScenarioFormat.text(of:)` writes it, so a generated or shrunk sequence prints as a
/// file that `gmem check` runs again.
public enum ScenarioFormat {
    /// A syntax error at a line and column of a file, naming what was expected.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The file's name (or `input`).
        public let source: String
        /// The 1-based line.
        public let line: Int
        /// The 1-based column.
        public let column: Int
        /// What was expected there, in words.
        public let message: String

        /// An error; every value is taken as given.
        public init(source: String, line: Int, column: Int, message: String) {
            self.source = source
            self.line = line
            self.column = column
            self.message = message
        }

        /// `FILE:LINE:COLUMN: message`.
        public var description: String { "\(source):\(line):\(column): \(message)" }
    }

    /// The GMEM-SPEC rule ids a scenario may cite in `rules=` (the rule registry's).
    public static var knownRules: [String] { RuleRegistry.ids }

    /// The largest number of steps one file may hold (a bound on what a file can make the
    /// checker allocate; 2^24 lines is far beyond any hand-written or generated scenario).
    public static let maximumSteps = 1 << 24

    // MARK: - Parsing

    /// Parses scenario text; steps before any `scenario` header form one scenario named
    /// after `source`. LF, CRLF and CR line ends and a leading byte-order mark are accepted.
    ///
    /// Fails on the first error: an unknown action, key, word, outcome, rule or requirement,
    /// a number out of its field's range, a name used before it is declared, an empty file,
    /// or a scenario without steps.
    /// - Throws: ``ScenarioFormat/ParseError`` at the first error, with its line and column.
    public static func parse(_ text: String, source: String = "input") throws(ParseError) -> [Scenario] {
        try parse(bytes: Array(text.utf8), source: source)
    }

    /// Parses a file's bytes as ``parse(_:source:)`` does. Outside comments only printable
    /// ASCII is accepted; a comment may hold any UTF-8, and a byte sequence that is not
    /// UTF-8 is an error at its line and column.
    /// - Throws: ``ScenarioFormat/ParseError`` at the first error (a byte that is not UTF-8 included),
    ///   with its line and column.
    public static func parse(bytes: [UInt8], source: String = "input") throws(ParseError) -> [Scenario] {
        var parser = Parser(source: source)
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var number = 0
        while true {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D { end += 1 }
            number += 1
            try parser.line(bytes[start..<end], number: number)
            guard end < bytes.count else { break }
            start = end + (bytes[end] == 0x0D && end + 1 < bytes.count && bytes[end + 1] == 0x0A ? 2 : 1)
            if start == bytes.count { break }
        }
        return try parser.finish(lines: number)
    }

    /// One word of a line and the column (1-based, in characters) where it starts. The text
    /// is a `String` of its own: a word is printable ASCII and almost always at most 15 bytes,
    /// so it is stored inline (no allocation) and compares with a literal as two integers.
    struct Word {
        let text: String
        let column: Int

        init(text: String, column: Int) {
            self.text = text
            self.column = column
        }

        init(text: Substring, column: Int) {
            self.text = String(text)
            self.column = column
        }
    }

    /// What a name is bound to at a point of a scenario.
    enum NameKind { case descriptor, mapping }

    struct Parser {
        let source: String
        var scenarios: [Scenario] = []
        var current: Scenario?
        var currentLine = 0
        var names: [String: NameKind] = [:]
        var scenarioNames: [String: Int] = [:]
        /// The line of the first step before any header (that scenario is named after the file).
        var implicitScenarioLine: Int?
        var totalSteps = 0

        init(source: String) { self.source = source }

        func error(_ line: Int, _ column: Int, _ message: String) -> ParseError {
            ParseError(source: source, line: line, column: column, message: message)
        }

        mutating func line(_ raw: ArraySlice<UInt8>, number: Int) throws(ParseError) {
            var words: [Word] = []
            var index = raw.startIndex
            var wordStart: Int?
            while index < raw.endIndex {
                let byte = raw[index]
                if byte == UInt8(ascii: "#") {
                    try checkUTF8(raw[index...], line: number, column: index - raw.startIndex + 1)
                    break
                }
                if byte == 0x20 || byte == 0x09 {
                    if let begin = wordStart {
                        words.append(
                            Word(
                                text: String(decoding: raw[begin..<index], as: UTF8.self),
                                column: begin - raw.startIndex + 1))
                        wordStart = nil
                    }
                } else if byte < 0x21 || byte >= 0x7F {
                    // The column of the first byte that is not printable ASCII (what precedes it is ASCII).
                    let column = index - raw.startIndex + 1
                    var end = index + 1
                    while end < raw.endIndex, raw[end] & 0xC0 == 0x80 { end += 1 }
                    throw error(
                        number, column,
                        "\(Self.describe(raw[index..<end])) (the language is printable ASCII words separated by spaces; '#' starts a comment)"
                    )
                } else if wordStart == nil {
                    wordStart = index
                }
                index += 1
            }
            if let begin = wordStart {
                words.append(
                    Word(
                        text: String(decoding: raw[begin..<index], as: UTF8.self),
                        column: begin - raw.startIndex + 1))
            }
            let column = index - raw.startIndex
            guard let first = words.first else { return }
            let endColumn = column + 1
            if first.text == "scenario" {
                try header(words, number: number, endColumn: endColumn)
                return
            }
            // Slices of the line's words, not copies.
            var actionWords = words[...]
            var outcomeWords: ArraySlice<Word>?
            if let arrow = words.firstIndex(where: { $0.text == "->" }) {
                actionWords = words[..<arrow]
                outcomeWords = words[(arrow + 1)...]
                if let second = outcomeWords!.first(where: { $0.text == "->" }) {
                    throw error(number, second.column, "a step has one expectation: unexpected second '->'")
                }
                guard !actionWords.isEmpty else {
                    throw error(number, words[arrow].column, "missing action before '->'")
                }
            }
            var action: Action
            var expected: Outcome?
            // The context ends before `names` is changed below (it holds a reference to it,
            // which would make that change copy the dictionary).
            do {
                let context = LineContext(source: source, names: names, line: number, endColumn: endColumn)
                action = try context.action(actionWords)
                if let outcomeWords {
                    guard let head = outcomeWords.first else {
                        throw error(
                            number, endColumn,
                            "missing outcome after '->' (expected ok, error, an errno name, value N, written, mmio, efault, SIGBUS, SIGSEGV, fault gpa=A or stat …)"
                        )
                    }
                    expected = try context.outcome(head, Array(outcomeWords.dropFirst()), action: &action)
                }
            }
            if current == nil {
                current = Scenario(name: source, rules: [], steps: [], source: source)
                currentLine = number
                implicitScenarioLine = number
            }
            totalSteps += 1
            guard totalSteps <= ScenarioFormat.maximumSteps else {
                throw error(number, 1, "more than \(ScenarioFormat.maximumSteps) steps in one file")
            }
            // The step's own text, for messages: the line is ASCII outside comments, so a
            // word's column is its byte offset plus one.
            func written(_ words: ArraySlice<Word>) -> String? {
                guard let first = words.first, let last = words.last else { return nil }
                let start = raw.startIndex + first.column - 1
                return String(
                    decoding: raw[start..<(raw.startIndex + last.column - 1 + last.text.utf8.count)], as: UTF8.self)
            }
            var step = Step(action, expect: expected, line: number)
            step.writtenAction = written(actionWords)
            step.writtenExpectation = outcomeWords.flatMap(written)
            current!.steps.append(step)
            if let name = action.binds { names[name] = action.bindsMapping ? .mapping : .descriptor }
        }

        /// What the file holds at a byte that is not printable ASCII (`bytes`: it and its UTF-8
        /// continuation bytes): a byte that starts no UTF-8 character by its value, a character by
        /// its code point, and by itself only when it shows (not a control, format or space
        /// character, which would print as nothing or as a replacement).
        static func describe(_ bytes: ArraySlice<UInt8>) -> String {
            let hexByte = { (byte: UInt8) in "0x" + String(byte, radix: 16, uppercase: true) }
            var decoder = Unicode.UTF8.ForwardParser()
            var iterator = bytes.makeIterator()
            guard case .valid(let encoded) = decoder.parseScalar(from: &iterator) else {
                return "byte \(hexByte(bytes.first ?? 0)) is not UTF-8 (a scenario file is UTF-8 text)"
            }
            let scalar = Unicode.UTF8.decode(encoded)
            let code = String(scalar.value, radix: 16, uppercase: true)
            let point = "U+" + String(repeating: "0", count: max(0, 4 - code.count)) + code
            switch scalar.properties.generalCategory {
            case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .unassigned, .surrogate,
                .privateUse, .nonspacingMark, .enclosingMark, .spacingMark:
                return "unexpected character \(point)"
            default:
                return "unexpected character \(point) '\(Character(scalar))'"
            }
        }

        /// Refuses the first byte of `comment` (which starts at `column`) that is not UTF-8,
        /// at its column in characters.
        func checkUTF8(_ comment: ArraySlice<UInt8>, line: Int, column: Int) throws(ParseError) {
            guard comment.contains(where: { $0 >= 0x80 }) else { return }
            var decoder = Unicode.UTF8.ForwardParser()
            var iterator = comment.makeIterator()
            var offset = comment.startIndex
            var characters = 0
            while true {
                switch decoder.parseScalar(from: &iterator) {
                case .valid(let encoded):
                    offset += encoded.count
                    characters += 1
                case .emptyInput:
                    return
                case .error:
                    let byte = comment[offset]
                    throw error(
                        line, column + characters,
                        "byte 0x\(String(byte, radix: 16, uppercase: true)) is not UTF-8 (a scenario file is UTF-8 text; comments may hold any character)"
                    )
                }
            }
        }

        mutating func header(_ words: [Word], number: Int, endColumn: Int) throws(ParseError) {
            try close()
            guard words.count >= 2 else { throw error(number, endColumn, "missing scenario name after 'scenario'") }
            let name = words[1]
            guard ScenarioFormat.isScenarioName(name.text[...]) else {
                throw error(
                    number, name.column,
                    "'\(echo(name.text))' is not a scenario name (\(ScenarioFormat.scenarioNameRule))")
            }
            if let previous = scenarioNames[name.text] {
                throw error(number, name.column, "scenario '\(echo(name.text))' is already defined on line \(previous)")
            }
            if let implicit = implicitScenarioLine, name.text == source {
                throw error(
                    number, name.column,
                    "scenario '\(echo(name.text))' is already the name of the steps before the first header (line \(implicit))"
                )
            }
            scenarioNames[name.text] = number
            var rules: [String] = []
            var requires: [Scenario.Requirement] = []
            var profile: String?
            var seen: Set<Substring> = []
            for word in words.dropFirst(2) {
                guard let equals = word.text.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                    throw error(
                        number, word.column,
                        "unexpected word '\(echo(word.text))' (a scenario header takes rules=ID,…, requires=NAME,… and profile=NAME)"
                    )
                }
                let key = word.text[..<equals]
                let value = word.text[word.text.utf8.index(after: equals)...]
                let valueColumn = word.column + key.utf8.count + 1
                guard seen.insert(key).inserted else { throw error(number, word.column, "\(echo(key))= given twice") }
                switch key {
                case "rules":
                    var column = valueColumn
                    for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                        guard ScenarioFormat.knownRules.contains(String(part)) else {
                            throw error(
                                number, column,
                                "unknown rule id '\(echo(part))' (a GMEM-SPEC id, \(ScenarioFormat.knownRules.first ?? "C1")–\(ScenarioFormat.knownRules.last ?? "P3")\(suggestion(String(part), ScenarioFormat.knownRules)))"
                            )
                        }
                        guard !rules.contains(String(part)) else {
                            throw error(number, column, "rule \(echo(part)) given twice in rules=")
                        }
                        rules.append(String(part))
                        column += part.utf8.count + 1
                    }
                case "requires":
                    var column = valueColumn
                    for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                        guard let requirement = Scenario.Requirement(rawValue: String(part)) else {
                            let all = Scenario.Requirement.allCases.map(\.rawValue)
                            throw error(
                                number, column,
                                "unknown requirement '\(echo(part))' (expected \(all.joined(separator: ", "))\(suggestion(String(part), all)))"
                            )
                        }
                        guard !requires.contains(requirement) else {
                            throw error(number, column, "\(echo(part)) given twice in requires=")
                        }
                        requires.append(requirement)
                        column += part.utf8.count + 1
                    }
                case "profile":
                    guard KernelProfile.named(String(value)) != nil else {
                        let all = KernelProfile.allNames
                        throw error(
                            number, valueColumn,
                            "unknown kernel profile '\(echo(value))' (expected \(all.joined(separator: " or "))\(suggestion(String(value), all)))"
                        )
                    }
                    profile = String(value)
                default:
                    throw error(
                        number, word.column,
                        "unknown key '\(echo(key))' in a scenario header (expected rules=, requires= or profile=\(suggestion(String(key), ["rules", "requires", "profile"])))"
                    )
                }
            }
            current = Scenario(
                name: String(name.text), rules: rules, requires: requires, steps: [], source: source, profile: profile)
            currentLine = number
            names = [:]
        }

        mutating func close() throws(ParseError) {
            guard let scenario = current else { return }
            guard !scenario.steps.isEmpty else {
                throw error(currentLine, 1, "scenario '\(scenario.name)' has no steps")
            }
            scenarios.append(scenario)
            current = nil
        }

        mutating func finish(lines: Int) throws(ParseError) -> [Scenario] {
            try close()
            guard !scenarios.isEmpty else {
                throw error(
                    max(lines, 1), 1,
                    "no scenario: the file holds no action (expected lines such as 'vm A' and 'gmem F A size=4K')")
            }
            return scenarios
        }
    }

    /// The C type of a numeric field: its width and signedness, for range checks.
    enum CType {
        case u64, s64, u32, s32

        var bits: Int { self == .u64 || self == .s64 ? 64 : 32 }
        var name: String {
            switch self {
            case .u64: "a 64-bit unsigned field (__u64)"
            case .s64: "a 64-bit signed field (loff_t)"
            case .u32: "a 32-bit unsigned field (__u32)"
            case .s32: "a 32-bit signed field (int)"
            }
        }
        /// Every field accepts `-2^(bits-1) … 2^bits - 1`; a value is stored as its `bits`-bit
        /// two's complement pattern, as C converts it.
        var minimum: Int128 { -(Int128(1) << (bits - 1)) }
        var maximum: Int128 { (Int128(1) << bits) - 1 }
    }

    /// The words of one action line, with the keys it may take.
    struct LineContext {
        let source: String
        /// The names bound before this line.
        let names: [String: NameKind]
        let line: Int
        let endColumn: Int

        func error(_ column: Int, _ message: String) -> ParseError {
            ParseError(source: source, line: line, column: column, message: message)
        }

        // MARK: Actions

        struct Arguments {
            let context: LineContext
            let verb: Word
            let synopsis: String
            var positional: [Word] = []
            var keyed = Keyed()

            /// The `key=value` words of a line (a few at most: searched in order).
            struct Keyed {
                var entries: [(key: String, entry: (word: Word, value: Substring, column: Int))] = []
                subscript(_ key: String) -> (word: Word, value: Substring, column: Int)? {
                    for item in entries where item.key == key { return item.entry }
                    return nil
                }
            }

            init(_ context: LineContext, _ words: ArraySlice<Word>, keys: [String], synopsis: String)
                throws(ParseError)
            {
                self.context = context
                verb = words[words.startIndex]
                self.synopsis = synopsis
                for word in words.dropFirst() {
                    if let equals = word.text.utf8.firstIndex(of: UInt8(ascii: "=")) {
                        let key = String(word.text[..<equals])
                        guard !key.isEmpty else {
                            throw context.error(word.column, "missing key before '=' in '\(echo(word.text))'")
                        }
                        guard keys.contains(key) else {
                            throw context.error(
                                word.column,
                                "unknown key '\(echo(key))' for \(verb.text) (expected \(keys.isEmpty ? "no keys" : keys.map { $0 + "=" }.joined(separator: ", "))\(suggestion(key, keys)); \(synopsis))"
                            )
                        }
                        guard keyed[key] == nil else { throw context.error(word.column, "\(echo(key))= given twice") }
                        keyed.entries.append(
                            (
                                key,
                                (
                                    word, word.text[word.text.utf8.index(after: equals)...],
                                    word.column + key.utf8.count + 1
                                )
                            ))
                    } else {
                        positional.append(word)
                    }
                }
            }

            /// Checks that no positional word is left beyond `count`.
            func expect(positional count: Int) throws(ParseError) {
                if positional.count > count {
                    let extra = positional[count]
                    throw context.error(extra.column, "unexpected word '\(echo(extra.text))' (\(synopsis))")
                }
            }

            func word(_ index: Int, _ what: String) throws(ParseError) -> Word {
                guard index < positional.count else {
                    throw context.error(context.endColumn, "missing \(what) (\(synopsis))")
                }
                return positional[index]
            }

            /// A new name bound by this action.
            func newName(_ index: Int, _ what: String) throws(ParseError) -> String {
                let word = try word(index, what)
                try context.checkIdentifier(word)
                return String(word.text)
            }

            /// A declared descriptor name.
            func descriptor(_ index: Int, _ what: String) throws(ParseError) -> String {
                try context.declared(try word(index, what), as: .descriptor, what: what)
            }

            /// A declared mapping name.
            func mapping(_ index: Int, _ what: String) throws(ParseError) -> String {
                try context.declared(try word(index, what), as: .mapping, what: what)
            }

            func has(_ key: String) -> Bool { keyed[key] != nil }

            /// The word `key=value` as the user wrote it, for a message (``echo(_:)``).
            func shown(_ key: String) -> String { echo(keyed[key]?.word.text ?? "") }

            func number(_ key: String, _ type: CType, default value: UInt64? = nil) throws(ParseError) -> UInt64 {
                guard let entry = keyed[key] else {
                    if let value { return value }
                    throw context.error(context.endColumn, "missing \(key)= (\(synopsis))")
                }
                return try context.number(entry.value, column: entry.column, type, quoted: entry.word.text)
            }

            func symbols(_ key: String, _ table: [(String, UInt64)], _ type: CType, default value: UInt64)
                throws(ParseError) -> UInt64
            {
                guard let entry = keyed[key] else { return value }
                return try context.symbols(entry.value, column: entry.column, table, type, word: entry.word)
            }

            func descriptorKey(_ key: String, what: String) throws(ParseError) -> String? {
                guard let entry = keyed[key] else { return nil }
                return try context.declared(Word(text: entry.value, column: entry.column), as: .descriptor, what: what)
            }
        }

        func checkIdentifier(_ word: Word) throws(ParseError) {
            // The line is printable ASCII (checked when it was split), so bytes are characters.
            func isLetter(_ byte: UInt8) -> Bool {
                (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            }
            let bytes = word.text.utf8
            guard let first = bytes.first, isLetter(first),
                bytes.allSatisfy({
                    isLetter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_")
                })
            else {
                throw error(word.column, "'\(echo(word.text))' is not a name (a letter, then letters, digits or '_')")
            }
        }

        func declared(_ word: Word, as kind: NameKind, what: String) throws(ParseError) -> String {
            try checkIdentifier(word)
            let name = String(word.text)
            switch names[name] {
            case .none:
                let candidates = names.filter { $0.value == kind }.map(\.key).sorted()
                throw error(
                    word.column,
                    "undeclared name '\(echo(name))': expected \(what), declared before this line\(candidates.isEmpty ? "" : " (declared: \(candidates.prefix(8).joined(separator: ", "))\(suggestion(name, candidates)))")"
                )
            case .some(let found) where found != kind:
                throw error(
                    word.column,
                    "'\(echo(name))' is \(found == .mapping ? "a host mapping" : "a descriptor"); expected \(what)")
            default:
                return name
            }
        }

        func action(_ words: ArraySlice<Word>) throws(ParseError) -> Action {
            let verb = words[words.startIndex]
            switch verb.text {
            case "vm":
                let a = try Arguments(self, words, keys: ["type"], synopsis: "vm NAME [DEVICE] [type=N]")
                try a.expect(positional: 2)
                return .createVM(
                    name: try a.newName(0, "VM name"), type: try a.number("type", .u64, default: 0),
                    device: a.positional.count > 1 ? try a.descriptor(1, "a /dev/kvm descriptor") : nil)
            case "vcpu":
                let a = try Arguments(self, words, keys: ["id"], synopsis: "vcpu NAME VM [id=N]")
                try a.expect(positional: 2)
                return .createVCPU(
                    name: try a.newName(0, "vCPU name"), vm: try a.descriptor(1, "a VM"),
                    id: try a.number("id", .u64, default: 0))
            case "stats":
                let a = try Arguments(self, words, keys: [], synopsis: "stats NAME VM|VCPU")
                try a.expect(positional: 2)
                return .createStats(name: try a.newName(0, "stats name"), of: try a.descriptor(1, "a VM or vCPU"))
            case "gmem":
                let a = try Arguments(
                    self, words, keys: ["size", "flags", "reserved"],
                    synopsis: "gmem NAME VM size=SIZE [flags=mmap|init_shared|N] [reserved=N]")
                try a.expect(positional: 2)
                return .createGuestMemfd(
                    name: try a.newName(0, "file name"), vm: try a.descriptor(1, "a VM"),
                    size: try a.number("size", .u64),
                    flags: try a.symbols("flags", ScenarioFormat.guestMemfdFlags, .u64, default: 0),
                    reserved: try a.number("reserved", .u64, default: 0))
            case "memfd":
                let a = try Arguments(self, words, keys: ["size"], synopsis: "memfd NAME size=SIZE")
                try a.expect(positional: 1)
                return .createMemfd(name: try a.newName(0, "memfd name"), size: try a.number("size", .s64))
            case "kvm":
                let a = try Arguments(self, words, keys: [], synopsis: "kvm NAME")
                try a.expect(positional: 1)
                return .openKVM(name: try a.newName(0, "descriptor name"))
            case "raw":
                let a = try Arguments(self, words, keys: ["fd"], synopsis: "raw NAME fd=N")
                try a.expect(positional: 1)
                let name = try a.newName(0, "descriptor name")
                let value = Int32(bitPattern: UInt32(truncatingIfNeeded: try a.number("fd", .s32)))
                guard value < 3 || value >= 1_000_000 else {
                    throw error(
                        a.keyed["fd"]!.column,
                        "\(a.shown("fd")): raw descriptors are 0–2, negative, or ≥ 1000000 (3–999999 belong to gmem check and the scenario's own objects; name those instead)"
                    )
                }
                return .rawDescriptor(name: name, fd: value)
            case "dup":
                let a = try Arguments(self, words, keys: [], synopsis: "dup NAME DESCRIPTOR")
                try a.expect(positional: 2)
                return .dup(name: try a.newName(0, "new name"), of: try a.descriptor(1, "a descriptor"))
            case "close":
                let a = try Arguments(self, words, keys: [], synopsis: "close DESCRIPTOR")
                try a.expect(positional: 1)
                return .close(try a.descriptor(0, "a descriptor"))
            case "reopen":
                let a = try Arguments(self, words, keys: [], synopsis: "reopen NAME DESCRIPTOR")
                try a.expect(positional: 2)
                return .reopen(name: try a.newName(0, "new name"), of: try a.descriptor(1, "a descriptor"))
            case "region":
                let a = try Arguments(
                    self, words, keys: ["slot", "gpa", "size", "file", "offset", "uaddr", "flags", "api"],
                    synopsis:
                        "region VM slot=N size=SIZE [gpa=A] [file=F [offset=O]] [uaddr=N|P[+O]] [flags=gmem|log_dirty|readonly|N] [api=1|2]"
                )
                try a.expect(positional: 1)
                let vm = try a.descriptor(0, "a VM")
                let version = try apiVersion(a)
                let file = try a.descriptorKey("file", what: "a guest_memfd (file=)")
                let flags = UInt32(
                    try a.symbols("flags", ScenarioFormat.memslotFlags, .u32, default: file == nil ? 0 : 4))
                if flags & 4 != 0, file == nil {
                    throw error(
                        a.keyed["flags"]!.column,
                        "flags=gmem needs file=F (the guest_memfd to bind; to pass fd 0 itself, declare 'raw Z fd=0' and write file=Z)"
                    )
                }
                var userspace = AddressExpression.literal(0)
                if let entry = a.keyed["uaddr"] {
                    userspace = try address(entry.value, column: entry.column, quoted: entry.word.text)
                }
                return .setRegion(
                    vm: vm, version: version, slot: UInt32(try a.number("slot", .u32)), flags: flags,
                    gpa: try a.number("gpa", .u64, default: 0), size: try a.number("size", .u64),
                    userspace: userspace, file: file, offset: try a.number("offset", .u64, default: 0))
            case "delete":
                let a = try Arguments(
                    self, words, keys: ["slot", "gpa", "api"], synopsis: "delete VM slot=N [gpa=A] [api=1|2]")
                try a.expect(positional: 1)
                return .setRegion(
                    vm: try a.descriptor(0, "a VM"), version: try apiVersion(a),
                    slot: UInt32(try a.number("slot", .u32)),
                    flags: 0, gpa: try a.number("gpa", .u64, default: 0), size: 0, userspace: .literal(0), file: nil,
                    offset: 0)
            case "fallocate":
                let a = try Arguments(
                    self, words, keys: ["mode", "offset", "len"],
                    synopsis: "fallocate F [mode=allocate|punch|N] [offset=O] len=L")
                try a.expect(positional: 1)
                return .fallocate(
                    file: try a.descriptor(0, "a file"),
                    mode: Int32(
                        bitPattern: UInt32(try a.symbols("mode", ScenarioFormat.fallocateModes, .s32, default: 1))),
                    offset: Int64(bitPattern: try a.number("offset", .s64, default: 0)),
                    length: Int64(bitPattern: try a.number("len", .s64)))
            case "fileop":
                let a = try Arguments(
                    self, words, keys: [], synopsis: "fileop F read|write|pread|pwrite|lseek|ftruncate|fsync|fchmod")
                try a.expect(positional: 2)
                let file = try a.descriptor(0, "a descriptor")
                let word = try a.word(1, "operation")
                guard let operation = ScenarioFormat.fileOperations.first(where: { $0.0 == word.text })?.1 else {
                    let all = ScenarioFormat.fileOperations.map(\.0)
                    throw error(
                        word.column,
                        "unknown file operation '\(echo(word.text))' (expected \(all.joined(separator: ", "))\(suggestion(String(word.text), all)))"
                    )
                }
                return .fileOperation(file: file, operation)
            case "mmap":
                let a = try Arguments(
                    self, words, keys: ["prot", "flags", "offset", "len"],
                    synopsis:
                        "mmap NAME F [prot=rw|r|w|x|none|N] [flags=shared|private|shared_validate|N] [offset=O] len=L")
                try a.expect(positional: 2)
                let flags = try a.symbols("flags", ScenarioFormat.mapFlags, .s32, default: 1)
                if flags & ~0xF != 0 {
                    throw error(
                        a.keyed["flags"]!.column,
                        "\(a.shown("flags")): only the mapping type (shared 1, private 2, shared_validate 3; 0–15) is taken; other mmap flags would change where or how gmem check's own process maps memory"
                    )
                }
                return .mmap(
                    name: try a.newName(0, "mapping name"), file: try a.descriptor(1, "a descriptor"),
                    protection: Int32(
                        bitPattern: UInt32(try a.symbols("prot", ScenarioFormat.protections, .s32, default: 3))),
                    flags: Int32(flags), offset: try a.number("offset", .u64, default: 0),
                    length: try a.number("len", .u64))
            case "anon":
                let a = try Arguments(
                    self, words, keys: ["len", "prot"], synopsis: "anon NAME len=L [prot=rw|r|w|x|none|N]")
                try a.expect(positional: 1)
                return .mapAnonymous(
                    name: try a.newName(0, "mapping name"), length: try a.number("len", .u64),
                    protection: Int32(
                        bitPattern: UInt32(try a.symbols("prot", ScenarioFormat.protections, .s32, default: 3))))
            case "munmap":
                let a = try Arguments(self, words, keys: ["offset", "len"], synopsis: "munmap P [offset=O] len=L")
                try a.expect(positional: 1)
                return .munmap(
                    mapping: try a.mapping(0, "a host mapping"), offset: try a.number("offset", .u64, default: 0),
                    length: try a.number("len", .u64))
            case "madvise":
                let a = try Arguments(
                    self, words, keys: ["offset", "len", "advice"],
                    synopsis:
                        "madvise P [offset=O] len=L advice=dontneed|remove|willneed|normal|random|sequential|free|N")
                try a.expect(positional: 1)
                guard a.has("advice") else { throw error(endColumn, "missing advice= (\(a.synopsis))") }
                let advice = Int32(
                    bitPattern: UInt32(try a.symbols("advice", ScenarioFormat.advices, .s32, default: 0)))
                // An advice Linux knows but the model does not describe would run on the host
                // for real (MADV_POPULATE_WRITE allocates): refused here, not guessed.
                if let known = ScenarioFormat.undescribedAdvices.first(where: { $0.1 == advice }) {
                    throw error(
                        a.keyed["advice"]?.column ?? endColumn,
                        "\(a.shown("advice")) is \(known.0), which the model does not describe (described: \(ScenarioFormat.advices.map(\.0).joined(separator: ", ")); any number Linux does not know is refused by the kernel with EINVAL)"
                    )
                }
                return .madvise(
                    mapping: try a.mapping(0, "a host mapping"), offset: try a.number("offset", .u64, default: 0),
                    length: try a.number("len", .u64), advice: advice)
            case "read":
                let a = try Arguments(
                    self, words, keys: ["offset", "width"], synopsis: "read P [offset=O] [width=1|2|4|8]")
                try a.expect(positional: 1)
                return .hostRead(
                    mapping: try a.mapping(0, "a host mapping"), offset: try a.number("offset", .u64, default: 0),
                    width: try width(a))
            case "write":
                let a = try Arguments(
                    self, words, keys: ["offset", "width", "value"],
                    synopsis: "write P [offset=O] [width=1|2|4|8] value=V")
                try a.expect(positional: 1)
                let width = try width(a)
                guard let entry = a.keyed["value"] else { throw error(endColumn, "missing value= (\(a.synopsis))") }
                let value = try accessValue(
                    entry.value, column: entry.column, width: width, quoted: entry.word.text, what: "write")
                return .hostWrite(
                    mapping: try a.mapping(0, "a host mapping"), offset: try a.number("offset", .u64, default: 0),
                    width: width, value: value)
            case "attrs":
                let a = try Arguments(
                    self, words, keys: ["gpa", "size", "attrs", "flags"],
                    synopsis: "attrs VM [gpa=A] size=S [attrs=private|none|N] [flags=N]")
                try a.expect(positional: 1)
                return .setAttributes(
                    vm: try a.descriptor(0, "a VM"), gpa: try a.number("gpa", .u64, default: 0),
                    size: try a.number("size", .u64),
                    attributes: try a.symbols("attrs", ScenarioFormat.attributeNames, .u64, default: 0),
                    flags: try a.number("flags", .u64, default: 0))
            case "guest":
                let a = try Arguments(
                    self, words, keys: ["gpa", "write"], synopsis: "guest VM|VCPU gpa=A read|write=V [private]")
                let via = try a.descriptor(0, "a VM or vCPU")
                var read = false
                var isPrivate = false
                for word in a.positional.dropFirst() {
                    switch word.text {
                    case "read" where !read: read = true
                    case "private" where !isPrivate: isPrivate = true
                    default:
                        throw error(
                            word.column,
                            "unexpected word '\(echo(word.text))' (expected read or private\(suggestion(String(word.text), ["read", "private"])); \(a.synopsis))"
                        )
                    }
                }
                if read, let write = a.keyed["write"] {
                    throw error(write.word.column, "a guest access is read or write=V, not both")
                }
                guard read || a.has("write") else {
                    throw error(endColumn, "guest needs 'read' or 'write=VALUE' (\(a.synopsis))")
                }
                let gpa = try a.number("gpa", .u64)
                guard gpa % 4096 == 0 else {
                    throw error(
                        a.keyed["gpa"]!.column, "\(a.shown("gpa")): guest accesses are 8 bytes at a page start")
                }
                return .guestAccess(
                    via: via, gpa: gpa, write: read ? nil : try a.number("write", .u64), isPrivate: isPrivate)
            case "stat":
                let a = try Arguments(self, words, keys: ["ino"], synopsis: "stat F [ino=G]")
                try a.expect(positional: 1)
                return .stat(
                    try a.descriptor(0, "a descriptor"),
                    sameInodeAs: try a.descriptorKey("ino", what: "a descriptor to compare inodes with (ino=)"))
            case "cap":
                let a = try Arguments(
                    self, words, keys: [],
                    synopsis: "cap DESCRIPTOR CAPABILITY (a KVM_CAP_ name such as guest_memfd, or a number)")
                try a.expect(positional: 2)
                let of = try a.descriptor(0, "/dev/kvm or a VM")
                let word = try a.word(1, "capability")
                var text = word.text.lowercased()
                if text.hasPrefix("kvm_cap_") { text.removeFirst(8) }
                if let entry = capabilityNames.first(where: { $0.0 == text }) {
                    return .checkExtension(of: of, capability: entry.1)
                }
                guard let first = word.text.utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
                    throw error(
                        word.column,
                        "unknown capability '\(echo(word.text))' (a KVM_CAP_ name from linux/kvm.h or a number\(suggestion(text, capabilityNames.map(\.0))))"
                    )
                }
                return .checkExtension(
                    of: of, capability: try number(word.text[...], column: word.column, .u64, quoted: word.text))
            case "alive":
                let a = try Arguments(self, words, keys: [], synopsis: "alive VM")
                try a.expect(positional: 1)
                return .alive(try a.descriptor(0, "a VM"))
            case "convert":
                let a = try Arguments(
                    self, words, keys: ["offset", "len", "to", "mode"],
                    synopsis: "convert F [offset=O] len=L to=private|shared|N [mode=zero|preserve|N]")
                try a.expect(positional: 1)
                guard a.has("to") else { throw error(endColumn, "missing to= (\(a.synopsis))") }
                return .convert(
                    file: try a.descriptor(0, "a guest_memfd"), offset: try a.number("offset", .u64, default: 0),
                    size: try a.number("len", .u64),
                    attributes: try a.symbols("to", ScenarioFormat.conversionTargets, .u64, default: 0),
                    flags: try a.symbols("mode", ScenarioFormat.contentModes, .u64, default: 0))
            case "link":
                let a = try Arguments(self, words, keys: ["vm", "flags"], synopsis: "link NAME F vm=VM [flags=N]")
                try a.expect(positional: 2)
                guard let vm = try a.descriptorKey("vm", what: "a VM (vm=)") else {
                    throw error(endColumn, "missing vm= (\(a.synopsis))")
                }
                return .link(
                    name: try a.newName(0, "file name"), file: try a.descriptor(1, "a guest_memfd"), vm: vm,
                    flags: try a.number("flags", .u64, default: 0))
            case "pin":
                let a = try Arguments(
                    self, words, keys: ["offset", "len"], synopsis: "pin P [offset=O] len=L (whole pages, at most 64K)")
                try a.expect(positional: 1)
                let offset = try a.number("offset", .u64, default: 0)
                let length = try a.number("len", .u64)
                if offset % 4096 != 0 {
                    throw error(a.keyed["offset"]!.column, "\(a.shown("offset")): pin takes whole pages")
                }
                guard length % 4096 == 0, length > 0, length <= ModelKernel.maximumPinPages << 12 else {
                    throw error(
                        a.keyed["len"]!.column,
                        "\(a.shown("len")): pin takes 1 to \(ModelKernel.maximumPinPages) whole pages (a pipe's default capacity)"
                    )
                }
                return .pin(mapping: try a.mapping(0, "a host mapping"), offset: offset, length: length)
            case "unpin":
                let a = try Arguments(self, words, keys: [], synopsis: "unpin P")
                try a.expect(positional: 1)
                return .unpin(mapping: try a.mapping(0, "a host mapping"))
            case "limit":
                let a = try Arguments(
                    self, words, keys: ["fds"], synopsis: "limit fds=N (N ≤ \(Action.maximumDescriptorLimit))")
                try a.expect(positional: 0)
                let count = try a.number("fds", .u32)
                guard count <= Action.maximumDescriptorLimit else {
                    throw error(
                        a.keyed["fds"]!.column,
                        "\(a.shown("fds")): at most \(Action.maximumDescriptorLimit) descriptors besides fds 0–2")
                }
                return .limitDescriptors(Int(count))
            default:
                throw error(
                    verb.column,
                    "unknown action '\(echo(verb.text))' (expected one of \(ScenarioFormat.actions.joined(separator: ", "))\(suggestion(String(verb.text), ScenarioFormat.actions)))"
                )
            }
        }

        func apiVersion(_ a: Arguments) throws(ParseError) -> Int {
            guard let entry = a.keyed["api"] else { return 2 }
            guard entry.value == "1" || entry.value == "2" else {
                throw error(
                    entry.column,
                    "api=\(echo(entry.value)): expected 1 (KVM_SET_USER_MEMORY_REGION) or 2 (KVM_SET_USER_MEMORY_REGION2)"
                )
            }
            return entry.value == "1" ? 1 : 2
        }

        func width(_ a: Arguments) throws(ParseError) -> AccessWidth {
            guard let entry = a.keyed["width"] else { return .double }
            guard let value = Int(entry.value), let width = AccessWidth(rawValue: value) else {
                throw error(entry.column, "width=\(echo(entry.value)): expected 1, 2, 4 or 8 (bytes)")
            }
            return width
        }

        func address(_ text: Substring, column: Int, quoted: String) throws(ParseError) -> AddressExpression {
            guard let first = text.utf8.first, (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z")
            else {
                return .literal(try number(text, column: column, .u64, quoted: quoted))
            }
            let end =
                text.utf8.firstIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }) ?? text.endIndex
            let name = try declared(
                Word(text: text[..<end], column: column), as: .mapping, what: "a host mapping (uaddr=P[+O])")
            guard end < text.endIndex else { return .mapping(name, offset: 0) }
            let rest = text[end...]
            let offsetColumn = column + text.utf8.distance(from: text.startIndex, to: end)
            // P+O or P-O: a signed 64-bit offset, so that what is echoed (P+O, P-O) is what was
            // written; P+O itself is computed modulo 2^64 at run time, as __u64 arithmetic.
            let value = try evaluate(rest, column: offsetColumn, quoted: quoted, offset: true)
            guard value >= Int128(Int64.min), value <= Int128(Int64.max) else {
                throw error(
                    offsetColumn,
                    "\(echo(quoted)): the offset after \(name) is out of range: P+O and P-O take -0x8000000000000000…0x7FFFFFFFFFFFFFFF (a signed 64-bit offset)"
                )
            }
            return .mapping(name, offset: UInt64(bitPattern: Int64(value)))
        }

        // MARK: Numbers

        /// `TERM ((+|-) TERM)*` with an optional leading `-`; a term is decimal or `0x` hex,
        /// decimal optionally followed by K, M, G or T (binary multiples).
        /// `offset`: the text is the `+O`/`-O` after a mapping name, which may start with '+'.
        ///
        /// Every message quotes `quoted`, the file's own text holding the number (the whole
        /// word `size=2M+4K`, `uaddr=P+-1`, or an outcome's `value -1`), never the number as
        /// read back: this is the one place numbers are read and their errors are built.
        func evaluate(_ text: Substring, column: Int, quoted: some StringProtocol, offset: Bool = false)
            throws(ParseError) -> Int128
        {
            let bytes = text.utf8
            guard !bytes.isEmpty else { throw error(column, "\(echo(quoted)) needs a value") }
            var total: Int128 = 0
            var index = bytes.startIndex
            var sign: Int128 = 1
            var position = column
            let plus = UInt8(ascii: "+")
            let minus = UInt8(ascii: "-")
            if bytes[index] == minus {
                sign = -1
                index = bytes.index(after: index)
                position += 1
            } else if bytes[index] == plus, offset {
                index = bytes.index(after: index)
                position += 1
            } else if bytes[index] == plus {
                throw error(
                    column,
                    "\(echo(quoted)): a number starts with a digit or '-' (did you mean '\(echo(text.dropFirst()))'?)"
                )
            }
            while true {
                let termStart = index
                let termColumn = position
                while index < bytes.endIndex, bytes[index] != plus, bytes[index] != minus {
                    index = bytes.index(after: index)
                    position += 1
                }
                let term = text[termStart..<index]
                switch ScenarioFormat.termValue(term) {
                case .success(let value):
                    total += sign * value
                case .failure(.empty):
                    throw error(termColumn, "\(echo(quoted)): missing number")
                case .failure(.outOfRange):
                    throw error(
                        termColumn,
                        "\(echo(quoted)) is out of range (a term must fit 64 bits before its K, M, G or T)")
                case .failure(.spelling(let valid)):
                    throw error(
                        termColumn,
                        "\(echo(quoted)): '\(echo(term))' is not how the language writes a number (did you mean '\(echo(valid))'?)"
                    )
                case .failure(.notNumber):
                    throw error(
                        termColumn,
                        "\(echo(quoted)): '\(echo(term))' is not a number (decimal, 0x hex, or decimal with K, M, G, T)"
                    )
                }
                guard total.magnitude < (UInt128(1) << 100) else {
                    throw error(column, "\(echo(quoted)) is out of range")
                }
                guard index < bytes.endIndex else { break }
                sign = bytes[index] == minus ? -1 : 1
                index = bytes.index(after: index)
                position += 1
            }
            return total
        }

        /// A number of a field of C type `type`; `quoted` is the file's text holding it (see
        /// ``evaluate(_:column:quoted:offset:)``), `part` set when the number is one part of a
        /// `|` list.
        func number(
            _ text: Substring, column: Int, _ type: CType, quoted: some StringProtocol, part: Bool = false
        ) throws(ParseError) -> UInt64 {
            let value = try evaluate(text, column: column, quoted: quoted)
            guard value >= type.minimum, value <= type.maximum else {
                throw error(
                    column,
                    "\(echo(quoted))\(part ? ": '\(echo(text))'" : "") is out of range for \(type.name): \(type.minimum)…\(type.maximum)"
                )
            }
            let pattern = UInt64(truncatingIfNeeded: value)
            return type.bits == 64 ? pattern : pattern & 0xFFFF_FFFF
        }

        /// The value of a `width`-byte host access: `-2^(8w-1)` … `2^(8w) - 1`, stored as its
        /// w-byte two's complement (as C converts it to the access's type); out of range is an
        /// error quoting `key` and the text as written.
        func accessValue(
            _ text: Substring, column: Int, width: AccessWidth, quoted: some StringProtocol, what: String
        ) throws(ParseError) -> UInt64 {
            let value = try evaluate(text, column: column, quoted: quoted)
            let bits = width.rawValue * 8
            let minimum = -(Int128(1) << (bits - 1))
            let maximum = (Int128(1) << bits) - 1
            guard value >= minimum, value <= maximum else {
                throw error(
                    column,
                    "\(echo(quoted)) does not fit a \(width.rawValue)-byte \(what) (\(minimum)…\(maximum), or up to \(hexOrDecimal(UInt64(maximum))))"
                )
            }
            return UInt64(truncatingIfNeeded: value) & width.maxValue
        }

        func symbols(
            _ text: Substring, column: Int, _ table: [(String, UInt64)], _ type: CType, word: Word
        ) throws(ParseError) -> UInt64 {
            var result: UInt64 = 0
            var position = column
            let parts = text.utf8.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false).map(
                Substring.init)
            for part in parts {
                if let entry = table.first(where: { $0.0.utf8.elementsEqual(part.utf8) }) {
                    result |= entry.1
                } else if let first = part.utf8.first,
                    first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") || first == UInt8(ascii: "-")
                {
                    result |= try number(part, column: position, type, quoted: word.text, part: parts.count > 1)
                } else {
                    let names = table.map(\.0)
                    throw error(
                        position,
                        "\(echo(word.text))\(parts.count > 1 ? ": '\(echo(part))'" : "") is not one of \(names.joined(separator: ", ")) or a number\(suggestion(String(part), names))"
                    )
                }
                position += part.utf8.count + 1
            }
            return result
        }

        // MARK: Outcomes

        func outcome(_ head: Word, _ rest: [Word], action: inout Action) throws(ParseError) -> Outcome {
            func noMore(_ count: Int = 0) throws(ParseError) {
                if rest.count > count {
                    throw error(
                        rest[count].column,
                        "unexpected word '\(echo(rest[count].text))' after the outcome '\(echo(head.text))'")
                }
            }
            // Outcome words are matched exactly, as written in the grammar (lower-case keywords,
            // errno and signal names as errno.h and signal.h spell them): `efault` (KVM_RUN's
            // EFAULT without memory-fault information) and `EFAULT` (the errno) are two outcomes.
            switch head.text {
            case "ok":
                try noMore()
                return .ok
            case "written":
                try noMore()
                return .written
            case "mmio":
                try noMore()
                return .mmio
            case "efault":
                try noMore()
                return .userspaceFault
            case "error":
                try noMore()
                return .anyError
            case "SIGBUS":
                try noMore()
                return .signal(7)
            case "SIGSEGV":
                try noMore()
                return .signal(11)
            case "value":
                guard let word = rest.first else { throw error(endColumn, "value needs a number (value N)") }
                try noMore(1)
                if case .hostRead(_, _, let width) = action {
                    return .value(
                        try accessValue(
                            word.text[...], column: word.column, width: width, quoted: "value \(word.text)",
                            what: "read"))
                }
                return .value(try number(word.text[...], column: word.column, .u64, quoted: "value \(word.text)"))
            case "fault":
                var gpa: UInt64?
                var size: UInt64 = 4096
                var flags: UInt64 = 0
                var seen: [Substring] = []
                for word in rest {
                    guard let equals = word.text.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                        throw error(
                            word.column, "unexpected word '\(echo(word.text))' (fault gpa=A [size=S] [flags=F])")
                    }
                    let key = word.text[..<equals]
                    let value = word.text[word.text.utf8.index(after: equals)...]
                    let column = word.column + key.utf8.count + 1
                    guard !seen.contains(key) else { throw error(word.column, "\(echo(key))= given twice") }
                    seen.append(key)
                    switch key {
                    case "gpa": gpa = try number(value, column: column, .u64, quoted: word.text)
                    case "size": size = try number(value, column: column, .u64, quoted: word.text)
                    case "flags": flags = try number(value, column: column, .u64, quoted: word.text)
                    default:
                        throw error(
                            word.column,
                            "unknown key '\(echo(key))' for fault (expected gpa=, size=, flags=\(suggestion(String(key), ["gpa", "size", "flags"])))"
                        )
                    }
                }
                guard let gpa else { throw error(endColumn, "fault needs gpa=A") }
                return .memoryFault(gpa: gpa, size: size, flags: flags)
            case "stat":
                var pattern = StatusPattern()
                var seen: Set<Substring> = []
                for word in rest {
                    guard let equals = word.text.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                        throw error(
                            word.column,
                            "unexpected word '\(echo(word.text))' (stat [type=reg|chr|…] [mode=OCTAL] [size=N] [blksize=N] [cloexec=0|1] [ino=same|different[:G]])"
                        )
                    }
                    let key = word.text[..<equals]
                    let value = word.text[word.text.utf8.index(after: equals)...]
                    let column = word.column + key.utf8.count + 1
                    guard seen.insert(key).inserted else { throw error(word.column, "\(echo(key))= given twice") }
                    switch key {
                    case "type":
                        guard let type = FileType(rawValue: String(value)) else {
                            let all = FileType.allCases.map(\.rawValue)
                            throw error(
                                column,
                                "type=\(echo(value)) is not one of \(all.joined(separator: ", "))\(suggestion(String(value), all))"
                            )
                        }
                        pattern.type = type
                    case "mode":
                        guard let mode = UInt32(value, radix: 8), mode <= 0o7777 else {
                            throw error(column, "mode=\(echo(value)): expected octal permission bits 0–7777")
                        }
                        pattern.mode = mode
                    case "size": pattern.size = try number(value, column: column, .s64, quoted: word.text)
                    case "blksize": pattern.blockSize = try number(value, column: column, .s64, quoted: word.text)
                    case "cloexec":
                        guard value == "0" || value == "1" else {
                            throw error(column, "cloexec=\(echo(value)): expected 0 or 1")
                        }
                        pattern.closeOnExec = value == "1"
                    case "ino":
                        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                        guard parts[0] == "same" || parts[0] == "different" else {
                            throw error(
                                column,
                                "ino=\(echo(value)): expected same or different (optionally :G, the object to compare with)"
                            )
                        }
                        pattern.sameInode = parts[0] == "same"
                        guard case .stat(let name, let other) = action else {
                            throw error(column, "ino= belongs to a stat step")
                        }
                        if parts.count == 2 {
                            let given = try declared(
                                Word(text: parts[1], column: column + parts[0].utf8.count + 1), as: .descriptor,
                                what: "a descriptor to compare inodes with")
                            if let other, other != given {
                                throw error(
                                    column, "ino=\(echo(value)) names another object than the step's ino=\(echo(other))"
                                )
                            }
                            action = .stat(name, sameInodeAs: given)
                        } else if other == nil {
                            throw error(
                                column,
                                "ino=\(echo(value)) needs the object to compare with: ino=\(echo(parts[0])):G, or 'stat F ino=G'"
                            )
                        }
                    default:
                        throw error(
                            word.column,
                            "unknown key '\(echo(key))' for stat (expected type=, mode=, size=, blksize=, cloexec=, ino=\(suggestion(String(key), ["type", "mode", "size", "blksize", "cloexec", "ino"])))"
                        )
                    }
                }
                guard !seen.isEmpty else {
                    throw error(
                        endColumn, "stat needs at least one field (type=, mode=, size=, blksize=, cloexec=, ino=)")
                }
                return .status(pattern)
            default:
                if let code = errnoCode(head.text) {
                    if let word = rest.first, word.text.hasPrefix("error_offset=") {
                        try noMore(1)
                        let column = word.column + "error_offset=".count
                        return .errnoAt(
                            code,
                            errorOffset: try number(
                                word.text.dropFirst("error_offset=".count), column: column, .u64, quoted: word.text))
                    }
                    try noMore()
                    return .errno(code)
                }
                let all = ScenarioFormat.outcomeKeywords
                throw error(
                    head.column,
                    "unknown outcome '\(echo(head.text))' (expected \(all.joined(separator: ", ")) or an errno name such as EINVAL, spelled exactly\(suggestion(String(head.text), all + errnoNames)))"
                )
            }
        }
    }

    /// Why a term is not a number.
    enum TermProblem: Error {
        case empty, notNumber, outOfRange
        /// A spelling the grammar does not list, and the one it does (`0X10` → `0x10`, `4k` → `4K`).
        case spelling(String)
    }

    /// The value of one number term: decimal digits, `0x` and hex digits, or decimal digits
    /// and one of `K`, `M`, `G`, `T`. Read by value (leading zeros are fine) from the bytes.
    static func termValue(_ term: Substring) -> Result<Int128, TermProblem> {
        let bytes = term.utf8
        guard !bytes.isEmpty else { return .failure(.empty) }
        func digit(_ byte: UInt8, hex: Bool) -> UInt64? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where hex: UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where hex: UInt64(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
        var index = bytes.startIndex
        var hex = false
        if bytes.count > 2, bytes[index] == UInt8(ascii: "0"), case let x = bytes[bytes.index(after: index)],
            x == UInt8(ascii: "x") || x == UInt8(ascii: "X")
        {
            if x == UInt8(ascii: "X") { return .failure(.spelling("0x" + term.dropFirst(2))) }
            hex = true
            index = bytes.index(index, offsetBy: 2)
        }
        var value: UInt64 = 0
        var overflow = false
        var sawDigit = false
        var shift = 0
        while index < bytes.endIndex {
            let byte = bytes[index]
            if let d = digit(byte, hex: hex) {
                let (times, o1) = value.multipliedReportingOverflow(by: hex ? 16 : 10)
                let (sum, o2) = times.addingReportingOverflow(d)
                overflow = overflow || o1 || o2
                value = sum
                sawDigit = true
                index = bytes.index(after: index)
                continue
            }
            // A decimal number may end in one binary multiple, upper case.
            guard !hex, sawDigit, bytes.index(after: index) == bytes.endIndex,
                let multiple = [UInt8(ascii: "K"), UInt8(ascii: "M"), UInt8(ascii: "G"), UInt8(ascii: "T")].firstIndex(
                    of: byte & ~0x20)
            else { return .failure(.notNumber) }
            if byte & 0x20 != 0 { return .failure(.spelling(term.dropLast() + String(UnicodeScalar(byte & ~0x20)))) }
            shift = (multiple + 1) * 10
            index = bytes.index(after: index)
        }
        guard sawDigit else { return .failure(.notNumber) }
        if overflow { return .failure(.outOfRange) }
        return .success(Int128(value) << shift)
    }

    /// The outcome keywords other than errno names, exactly as they are written.
    static let outcomeKeywords = [
        "ok", "error", "value", "written", "mmio", "efault", "SIGBUS", "SIGSEGV", "fault", "stat",
    ]

    /// The action keywords, for error messages.
    static let actions = [
        "vm", "vcpu", "stats", "gmem", "memfd", "kvm", "raw", "dup", "close", "reopen", "region", "delete",
        "fallocate", "fileop", "mmap", "anon", "munmap", "madvise", "read", "write", "attrs", "guest",
        "stat", "cap", "alive", "convert", "link", "pin", "unpin", "limit",
    ]

    static let guestMemfdFlags: [(String, UInt64)] = [("mmap", 1), ("init_shared", 2), ("none", 0)]
    static let memslotFlags: [(String, UInt64)] = [("log_dirty", 1), ("readonly", 2), ("gmem", 4), ("none", 0)]
    static let fallocateModes: [(String, UInt64)] = [
        ("allocate", 1), ("keep_size", 1), ("punch", 3), ("punch_hole", 2),
        ("zero_range", 0x10), ("collapse", 0x8), ("insert", 0x20), ("unshare", 0x40), ("none", 0),
    ]
    static let protections: [(String, UInt64)] = [
        ("r", 1), ("w", 2), ("x", 4), ("rw", 3), ("rx", 5), ("rwx", 7), ("none", 0),
    ]
    static let mapFlags: [(String, UInt64)] = [("shared", 1), ("private", 2), ("shared_validate", 3)]
    static let attributeNames: [(String, UInt64)] = [("private", 8), ("none", 0)]
    static let conversionTargets: [(String, UInt64)] = [("private", 8), ("shared", 0)]
    static let contentModes: [(String, UInt64)] = [("zero", 1), ("preserve", 2), ("unspecified", 0)]
    static let advices: [(String, UInt64)] = [
        ("normal", 0), ("random", 1), ("sequential", 2), ("willneed", 3), ("dontneed", 4),
        ("free", 8), ("remove", 9), ("dontfork", 10), ("dofork", 11),
    ]
    /// The advices `madvise_behavior_valid` accepts (include/uapi/asm-generic/mman-common.h,
    /// Linux 6.18) that the model does not describe.
    static let undescribedAdvices: [(String, Int32)] = [
        ("MADV_MERGEABLE", 12), ("MADV_UNMERGEABLE", 13), ("MADV_HUGEPAGE", 14), ("MADV_NOHUGEPAGE", 15),
        ("MADV_DONTDUMP", 16), ("MADV_DODUMP", 17), ("MADV_WIPEONFORK", 18), ("MADV_KEEPONFORK", 19),
        ("MADV_COLD", 20), ("MADV_PAGEOUT", 21), ("MADV_POPULATE_READ", 22), ("MADV_POPULATE_WRITE", 23),
        ("MADV_DONTNEED_LOCKED", 24), ("MADV_COLLAPSE", 25), ("MADV_HWPOISON", 100), ("MADV_SOFT_OFFLINE", 101),
        ("MADV_GUARD_INSTALL", 102), ("MADV_GUARD_REMOVE", 103),
    ]
    static let fileOperations: [(String, ModelKernel.FileOperation)] = [
        ("read", .read), ("write", .write), ("pread", .pread), ("pwrite", .pwrite), ("lseek", .lseek),
        ("ftruncate", .ftruncate), ("fsync", .fsync), ("fchmod", .fchmod),
    ]

    static func fileOperationName(_ operation: ModelKernel.FileOperation) -> String {
        fileOperations.first { $0.1 == operation }?.0 ?? "read"
    }

    // MARK: - Printing

    /// The scenario as text that `parse` reads back to the same steps.
    public static func text(of scenario: Scenario) -> String {
        let name = isScenarioName(Substring(scenario.name)) ? scenario.name : "scenario"
        var lines = [
            "scenario \(name)" + (scenario.rules.isEmpty ? "" : " rules=\(scenario.rules.joined(separator: ","))")
                + (scenario.requires.isEmpty
                    ? "" : " requires=\(scenario.requires.map(\.rawValue).joined(separator: ","))")
                + (scenario.profile.map { " profile=\($0)" } ?? "")
        ]
        for step in scenario.steps {
            lines.append(line(for: step.action) + (step.expected.map { " -> \(outcomeText($0))" } ?? ""))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func size(_ value: UInt64) -> String {
        if value != 0, value % (1 << 20) == 0, value >> 20 < 1 << 40 { return "\(value >> 20)M" }
        if value != 0, value % 1024 == 0, value >> 10 < 1 << 40 { return "\(value >> 10)K" }
        return hexOrDecimal(value)
    }

    static func signed(_ value: Int64) -> String {
        value < 0 ? (value == .min ? "0x8000000000000000" : "-" + size(UInt64(-value))) : size(UInt64(value))
    }

    static func symbols(_ value: UInt64, _ table: [(String, UInt64)]) -> String {
        if value == 0 { return "0" }
        var rest = value
        var names: [String] = []
        for (name, bit) in table where bit != 0 && bit.nonzeroBitCount == 1 && rest & bit == bit {
            names.append(name)
            rest &= ~bit
        }
        if rest != 0 { return hexOrDecimal(value) }
        return names.joined(separator: "|")
    }

    /// One action as a line of the language.
    public static func line(for action: Action) -> String {
        switch action {
        case .createVM(let name, let type, let device):
            return "vm \(name)" + (device.map { " \($0)" } ?? "") + (type == 0 ? "" : " type=\(hexOrDecimal(type))")
        case .createVCPU(let name, let vm, let id):
            return "vcpu \(name) \(vm) id=\(hexOrDecimal(id))"
        case .createStats(let name, let of):
            return "stats \(name) \(of)"
        case .createGuestMemfd(let name, let vm, let s, let flags, let reserved):
            return "gmem \(name) \(vm) size=\(size(s)) flags=\(symbols(flags, guestMemfdFlags))"
                + (reserved == 0 ? "" : " reserved=\(hexOrDecimal(reserved))")
        case .createMemfd(let name, let s):
            return "memfd \(name) size=\(signed(Int64(bitPattern: s)))"
        case .openKVM(let name):
            return "kvm \(name)"
        case .rawDescriptor(let name, let fd):
            return "raw \(name) fd=\(fd)"
        case .dup(let name, let of):
            return "dup \(name) \(of)"
        case .close(let name):
            return "close \(name)"
        case .setRegion(let vm, let version, let slot, let flags, let gpa, let s, let userspace, let file, let offset):
            var text: String
            if s == 0, file == nil, flags == 0, userspace == .literal(0), offset == 0 {
                text = "delete \(vm) slot=\(hexOrDecimal(UInt64(slot)))" + (gpa == 0 ? "" : " gpa=\(hexOrDecimal(gpa))")
            } else {
                text =
                    "region \(vm) slot=\(hexOrDecimal(UInt64(slot))) flags=\(symbols(UInt64(flags), memslotFlags)) gpa=\(hexOrDecimal(gpa)) size=\(size(s))"
                if userspace != .literal(0) { text += " uaddr=\(userspace)" }
                if let file { text += " file=\(file)" }
                if offset != 0 { text += " offset=\(size(offset))" }
            }
            if version == 1 { text += " api=1" }
            return text
        case .fallocate(let file, let mode, let offset, let length):
            let modeText = mode == 1 ? "allocate" : mode == 3 ? "punch" : hexOrDecimal(UInt64(UInt32(bitPattern: mode)))
            return "fallocate \(file) mode=\(modeText) offset=\(signed(offset)) len=\(signed(length))"
        case .fileOperation(let file, let operation):
            return "fileop \(file) \(fileOperationName(operation))"
        case .reopen(let name, let of):
            return "reopen \(name) \(of)"
        case .mmap(let name, let file, let protection, let flags, let offset, let length):
            let flagText =
                flags == 1 ? "shared" : flags == 2 ? "private" : flags == 3 ? "shared_validate" : String(flags)
            return "mmap \(name) \(file) prot=\(protectionText(protection)) flags=\(flagText)"
                + (offset == 0 ? "" : " offset=\(size(offset))") + " len=\(size(length))"
        case .mapAnonymous(let name, let length, let protection):
            return "anon \(name) len=\(size(length))" + (protection == 3 ? "" : " prot=\(protectionText(protection))")
        case .munmap(let mapping, let offset, let length):
            return "munmap \(mapping)" + (offset == 0 ? "" : " offset=\(size(offset))") + " len=\(size(length))"
        case .madvise(let mapping, let offset, let length, let advice):
            let name =
                advices.first { $0.1 == UInt64(UInt32(bitPattern: advice)) }?.0
                ?? hexOrDecimal(UInt64(UInt32(bitPattern: advice)))
            return "madvise \(mapping)" + (offset == 0 ? "" : " offset=\(size(offset))")
                + " len=\(size(length)) advice=\(name)"
        case .hostRead(let mapping, let offset, let width):
            return "read \(mapping)" + (offset == 0 ? "" : " offset=\(hexOrDecimal(offset))")
                + (width == .double ? "" : " width=\(width.rawValue)")
        case .hostWrite(let mapping, let offset, let width, let value):
            return "write \(mapping)" + (offset == 0 ? "" : " offset=\(hexOrDecimal(offset))")
                + (width == .double ? "" : " width=\(width.rawValue)")
                + " value=\(value)"
        case .setAttributes(let vm, let gpa, let s, let attributes, let flags):
            return
                "attrs \(vm) gpa=\(hexOrDecimal(gpa)) size=\(size(s)) attrs=\(attributes == 8 ? "private" : hexOrDecimal(attributes))"
                + (flags == 0 ? "" : " flags=\(hexOrDecimal(flags))")
        case .guestAccess(let via, let gpa, let write, let isPrivate):
            return "guest \(via) gpa=\(hexOrDecimal(gpa)) " + (write.map { "write=\($0)" } ?? "read")
                + (isPrivate ? " private" : "")
        case .stat(let name, let other):
            return "stat \(name)" + (other.map { " ino=\($0)" } ?? "")
        case .checkExtension(let of, let capability):
            return "cap \(of) " + (capabilityNames.first { $0.1 == capability }?.0 ?? String(capability))
        case .alive(let name):
            return "alive \(name)"
        case .convert(let file, let offset, let s, let attributes, let flags):
            let target = attributes == 8 ? "private" : attributes == 0 ? "shared" : hexOrDecimal(attributes)
            let mode = flags == 1 ? "zero" : flags == 2 ? "preserve" : hexOrDecimal(flags)
            return "convert \(file)" + (offset == 0 ? "" : " offset=\(size(offset))") + " len=\(size(s)) to=\(target)"
                + (flags == 0 ? "" : " mode=\(mode)")
        case .link(let name, let file, let vm, let flags):
            return "link \(name) \(file) vm=\(vm)" + (flags == 0 ? "" : " flags=\(hexOrDecimal(flags))")
        case .pin(let mapping, let offset, let length):
            return "pin \(mapping)" + (offset == 0 ? "" : " offset=\(size(offset))") + " len=\(size(length))"
        case .unpin(let mapping):
            return "unpin \(mapping)"
        case .limitDescriptors(let count):
            return "limit fds=\(count)"
        }
    }

    static func protectionText(_ protection: Int32) -> String {
        switch protection {
        case 0: "none"
        case 1: "r"
        case 2: "w"
        case 3: "rw"
        case 4: "x"
        case 5: "rx"
        case 7: "rwx"
        default: hexOrDecimal(UInt64(UInt32(bitPattern: protection)))
        }
    }

    /// An outcome as the text after `->`.
    public static func outcomeText(_ outcome: Outcome) -> String {
        switch outcome {
        case .memoryFault(let gpa, let size, let flags):
            "fault gpa=\(hexOrDecimal(gpa))" + (size == 4096 ? "" : " size=\(size)")
                + (flags == 0 ? "" : " flags=\(flags)")
        case .value(let value): "value \(value)"
        case .signal(let code): code == 7 ? "SIGBUS" : code == 11 ? "SIGSEGV" : "signal \(code)"
        default: outcome.description
        }
    }
}

/// "; did you mean 'X'?" for the candidate nearest `word` (edit distance ≤ 2 or a third of
/// its length, ignoring case), or "". Every word of the language is case-sensitive, so a
/// candidate that differs from `word` only in case is the one meant (of several, the one
/// with the fewest letters in another case: `Efault` → `efault`, `eFAULT` → `EFAULT`).
func suggestion(_ word: String, _ candidates: [String]) -> String {
    func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
    var sameLetters: (String, Int)?
    for candidate in candidates where candidate.utf8.count == word.utf8.count && candidate != word {
        guard zip(candidate.utf8, word.utf8).allSatisfy({ lowered($0) == lowered($1) }) else { continue }
        let differences = zip(candidate.utf8, word.utf8).count { $0 != $1 }
        if differences < (sameLetters?.1 ?? .max) { sameLetters = (candidate, differences) }
    }
    if let sameLetters { return "; did you mean '\(sameLetters.0)'?" }
    let target = Array(word.lowercased().utf8.prefix(64))
    let limit = Swift.max(2, target.count / 3)
    var best: (String, Int)?
    var previous = [Int](repeating: 0, count: 65)
    var row = [Int](repeating: 0, count: 65)
    for candidate in candidates {
        let other = Array(candidate.lowercased().utf8.prefix(64))
        // Candidates whose length alone puts them beyond the limit are not compared.
        if abs(other.count - target.count) > limit { continue }
        for j in 0...other.count { previous[j] = j }
        for i in 0..<target.count {
            row[0] = i + 1
            for j in 0..<other.count {
                row[j + 1] = Swift.min(previous[j + 1] + 1, row[j] + 1, previous[j] + (target[i] == other[j] ? 0 : 1))
            }
            swap(&previous, &row)
        }
        let distance = previous[other.count]
        if distance < (best?.1 ?? .max) { best = (candidate, distance) }
    }
    guard let best, best.1 > 0, best.1 <= limit else { return "" }
    return "; did you mean '\(best.0)'?"
}

/// `text` as an error message quotes it: whole up to 32 characters, else its first 32 and "…"
/// (a 10,000-digit number is not echoed whole).
func echo(_ text: some StringProtocol) -> String {
    text.count <= 32 ? String(text) : String(text.prefix(32)) + "…"
}

extension ScenarioFormat {
    /// What a scenario name is, in words (docs/scenario-language.md).
    static let scenarioNameRule =
        "1 to \(maximumScenarioNameLength) characters: a letter or digit, then letters, digits, '-', '_', '.' or '+'"
    /// The longest scenario name (a C reproducer's file is named after it).
    static let maximumScenarioNameLength = 128

    /// Whether `name` is a valid scenario name: ``scenarioNameRule``, ASCII only.
    static func isScenarioName(_ name: Substring) -> Bool {
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        let bytes = name.utf8
        guard let first = bytes.first, isAlphanumeric(first), bytes.count <= maximumScenarioNameLength else {
            return false
        }
        return bytes.allSatisfy { isAlphanumeric($0) || "-_.+".utf8.contains($0) }
    }
}
