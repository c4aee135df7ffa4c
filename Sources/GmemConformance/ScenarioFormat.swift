import GmemModel

/// The plain-text scenario language (README, "Scenario files"): one action per line with
/// named objects, an optional expected outcome after `->`, `#` comments, and `scenario`
/// headers. `ScenarioFormat.parse` reads it; `ScenarioFormat.line(for:)` writes it, so a
/// generated or shrunk sequence prints as a file that `gmem check` runs again.
public enum ScenarioFormat {
    /// A syntax error, with its line.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    // MARK: - Parsing

    /// Parses scenario text; steps before any `scenario` header form one scenario named
    /// after `source`.
    public static func parse(_ text: String, source: String = "input") throws(ParseError) -> [Scenario] {
        var scenarios: [Scenario] = []
        var current: Scenario?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty { continue }
            var words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if words[0] == "scenario" {
                if let current { scenarios.append(current) }
                guard words.count >= 2 else { throw ParseError(line: number, message: "scenario needs a name") }
                let arguments = try Arguments(Array(words.dropFirst(2)), line: number)
                let rules = arguments.named["rules"].map { $0.split(separator: ",").map(String.init) } ?? []
                var requirement: Scenario.Requirement?
                if let text = arguments.named["requires"] {
                    guard let value = Scenario.Requirement(rawValue: text) else {
                        throw ParseError(line: number, message: "unknown requirement '\(text)' (memory-attributes, protected-vm)")
                    }
                    requirement = value
                }
                current = Scenario(name: words[1], rules: rules, requires: requirement, steps: [], source: source)
                continue
            }
            var expected: Outcome?
            if let arrow = words.firstIndex(of: "->") {
                expected = try parseOutcome(Array(words[(arrow + 1)...]), line: number)
                words = Array(words[..<arrow])
            }
            guard !words.isEmpty else { throw ParseError(line: number, message: "missing action before '->'") }
            let action = try parseAction(words, line: number)
            if current == nil { current = Scenario(name: source, rules: [], steps: [], source: source) }
            current!.steps.append(Step(action, expect: expected, line: number))
        }
        if let current { scenarios.append(current) }
        return scenarios
    }

    /// Positional words and `key=value` pairs of one line.
    struct Arguments {
        var positional: [String] = []
        var named: [String: String] = [:]
        var flags: Set<String> = []
        let line: Int

        init(_ words: [String], line: Int) throws(ParseError) {
            self.line = line
            for word in words {
                if let equals = word.firstIndex(of: "=") {
                    named[String(word[..<equals])] = String(word[word.index(after: equals)...])
                } else {
                    positional.append(word)
                }
            }
        }

        func name(_ index: Int, _ what: String) throws(ParseError) -> String {
            guard index < positional.count else { throw ParseError(line: line, message: "missing \(what)") }
            return positional[index]
        }

        func number(_ key: String, default value: UInt64? = nil) throws(ParseError) -> UInt64 {
            guard let text = named[key] else {
                if let value { return value }
                throw ParseError(line: line, message: "missing \(key)=")
            }
            guard let number = parseNumber(text) else { throw ParseError(line: line, message: "\(key)=\(text) is not a number") }
            return number
        }

        func symbols(_ key: String, _ table: [String: UInt64], default value: UInt64) throws(ParseError) -> UInt64 {
            guard let text = named[key] else { return value }
            if let number = parseNumber(text) { return number }
            var result: UInt64 = 0
            for part in text.split(separator: "|") {
                guard let bit = table[String(part).lowercased()] else {
                    throw ParseError(line: line, message: "\(key)=\(part) is not one of \(table.keys.sorted().joined(separator: ", "))")
                }
                result |= bit
            }
            return result
        }
    }

    static let guestMemfdFlags: [String: UInt64] = ["mmap": 1, "init_shared": 2, "none": 0]
    static let memslotFlags: [String: UInt64] = ["log_dirty": 1, "readonly": 2, "gmem": 4, "none": 0]
    static let fallocateModes: [String: UInt64] = ["allocate": 1, "keep_size": 1, "punch": 3, "punch_hole": 2, "zero_range": 0x10, "collapse": 0x8, "none": 0]
    static let protections: [String: UInt64] = ["r": 1, "w": 2, "x": 4, "rw": 3, "rx": 5, "rwx": 7, "none": 0]
    static let mapFlags: [String: UInt64] = ["shared": 1, "private": 2]
    static let attributeNames: [String: UInt64] = ["private": 8, "none": 0]
    static let fileOperations: [String: ModelKernel.FileOperation] = [
        "read": .read, "write": .write, "pread": .pread, "pwrite": .pwrite, "lseek": .lseek,
        "ftruncate": .ftruncate, "fsync": .fsync, "fchmod": .fchmod,
    ]

    static func parseAction(_ words: [String], line: Int) throws(ParseError) -> Action {
        let verb = words[0]
        let a = try Arguments(Array(words.dropFirst()), line: line)
        switch verb {
        case "vm":
            return .createVM(name: try a.name(0, "VM name"), type: try a.number("type", default: 0))
        case "vcpu":
            return .createVCPU(name: try a.name(0, "vCPU name"), vm: try a.name(1, "VM"), id: UInt32(truncatingIfNeeded: try a.number("id", default: 0)))
        case "stats":
            return .createStats(name: try a.name(0, "stats name"), of: try a.name(1, "VM or vCPU"))
        case "gmem":
            return .createGuestMemfd(name: try a.name(0, "file name"), vm: try a.name(1, "VM"), size: try a.number("size"),
                                     flags: try a.symbols("flags", guestMemfdFlags, default: 0), reserved: try a.number("reserved", default: 0))
        case "memfd":
            return .createMemfd(name: try a.name(0, "memfd name"), size: try a.number("size"))
        case "dup":
            return .dup(name: try a.name(0, "new name"), of: try a.name(1, "descriptor"))
        case "close":
            return .close(try a.name(0, "descriptor"))
        case "region", "delete":
            let version = Int(try a.number("api", default: 2))
            guard version == 1 || version == 2 else { throw ParseError(line: line, message: "api= must be 1 or 2") }
            let size = verb == "delete" ? 0 : try a.number("size")
            var userspace = AddressExpression.literal(0)
            if let text = a.named["uaddr"] {
                guard let expression = parseAddress(text) else { throw ParseError(line: line, message: "uaddr=\(text) is neither a number nor MAPPING[+OFFSET]") }
                userspace = expression
            }
            let file = a.named["file"]
            let defaultFlags: UInt64 = verb == "delete" ? 0 : (file == nil ? 0 : 4)
            return .setRegion(vm: try a.name(0, "VM"), version: version, slot: UInt32(truncatingIfNeeded: try a.number("slot")),
                              flags: UInt32(truncatingIfNeeded: try a.symbols("flags", memslotFlags, default: defaultFlags)),
                              gpa: try a.number("gpa", default: 0), size: size, userspace: userspace, file: file,
                              offset: try a.number("offset", default: 0))
        case "fallocate":
            return .fallocate(file: try a.name(0, "file"), mode: Int32(truncatingIfNeeded: try a.symbols("mode", fallocateModes, default: 1)),
                              offset: Int64(bitPattern: try a.number("offset", default: 0)), length: Int64(bitPattern: try a.number("len")))
        case "fileop":
            let name = try a.name(1, "operation")
            guard let operation = fileOperations[name] else {
                throw ParseError(line: line, message: "unknown file operation '\(name)' (\(fileOperations.keys.sorted().joined(separator: ", ")))")
            }
            return .fileOperation(file: try a.name(0, "descriptor"), operation)
        case "reopen":
            return .reopen(name: try a.name(0, "new name"), of: try a.name(1, "descriptor"))
        case "mmap":
            return .mmap(name: try a.name(0, "mapping name"), file: try a.name(1, "descriptor"),
                         protection: Int32(try a.symbols("prot", protections, default: 3)),
                         flags: Int32(try a.symbols("flags", mapFlags, default: 1)),
                         offset: try a.number("offset", default: 0), length: try a.number("len"))
        case "anon":
            return .mapAnonymous(name: try a.name(0, "mapping name"), length: try a.number("len"),
                                 protection: Int32(try a.symbols("prot", protections, default: 3)))
        case "munmap":
            return .munmap(mapping: try a.name(0, "mapping"), offset: try a.number("offset", default: 0), length: try a.number("len"))
        case "read":
            return .hostRead(mapping: try a.name(0, "mapping"), offset: try pageOffset(a, line))
        case "write":
            return .hostWrite(mapping: try a.name(0, "mapping"), offset: try pageOffset(a, line), value: try a.number("value"))
        case "attrs":
            return .setAttributes(vm: try a.name(0, "VM"), gpa: try a.number("gpa", default: 0), size: try a.number("size"),
                                  attributes: try a.symbols("attrs", attributeNames, default: 0), flags: try a.number("flags", default: 0))
        case "guest":
            let write = a.named["write"]
            guard write != nil || a.positional.contains("read") else {
                throw ParseError(line: line, message: "guest needs 'read' or 'write=VALUE'")
            }
            let gpa = try a.number("gpa")
            guard gpa % 4096 == 0 else { throw ParseError(line: line, message: "guest accesses are to page starts: gpa=\(gpa)") }
            return .guestAccess(via: try a.name(0, "VM or vCPU"), gpa: gpa,
                                write: write == nil ? nil : try a.number("write"), isPrivate: a.positional.contains("private"))
        case "stat":
            return .stat(try a.name(0, "guest_memfd"))
        case "alive":
            return .alive(try a.name(0, "VM"))
        default:
            throw ParseError(line: line, message: "unknown action '\(verb)'")
        }
    }

    static func pageOffset(_ a: Arguments, _ line: Int) throws(ParseError) -> UInt64 {
        let offset = try a.number("offset", default: 0)
        guard offset % 4096 == 0 else { throw ParseError(line: line, message: "host accesses are to page starts: offset=\(offset)") }
        return offset
    }

    static func parseOutcome(_ words: [String], line: Int) throws(ParseError) -> Outcome {
        guard let first = words.first else { throw ParseError(line: line, message: "missing outcome after '->'") }
        let a = try Arguments(Array(words.dropFirst()), line: line)
        switch first.lowercased() {
        case "ok": return .ok
        case "written": return .written
        case "mmio": return .mmio
        case "efault-userspace", "efault": return .userspaceFault
        case "sigbus": return .signal(7)
        case "sigsegv": return .signal(11)
        case "value":
            guard let text = a.positional.first, let value = parseNumber(text) else { throw ParseError(line: line, message: "value needs a number") }
            return .value(value)
        case "stat":
            guard let modeText = a.named["mode"], let mode = UInt32(modeText, radix: 8) else {
                throw ParseError(line: line, message: "stat needs mode=OCTAL")
            }
            return .status(mode: mode, size: try a.number("size"), closeOnExec: try a.number("cloexec", default: 0) != 0)
        case "fault":
            return .memoryFault(gpa: try a.number("gpa"), size: try a.number("size", default: 4096), flags: try a.number("flags", default: 0))
        default:
            if let code = errnoCode(first) { return .errno(code) }
            throw ParseError(line: line, message: "unknown outcome '\(first)'")
        }
    }

    static func parseAddress(_ text: String) -> AddressExpression? {
        if let number = parseNumber(text) { return .literal(number) }
        if let plus = text.firstIndex(of: "+") {
            guard let offset = parseNumber(String(text[text.index(after: plus)...])) else { return nil }
            return .mapping(String(text[..<plus]), offset: offset)
        }
        return .mapping(text, offset: 0)
    }

    /// "16K", "2M", "1G", "0x1000", "4096" → the number.
    static func parseNumber(_ text: String) -> UInt64? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") { return UInt64(lower.dropFirst(2), radix: 16) }
        if lower.hasPrefix("-"), let value = Int64(lower) { return UInt64(bitPattern: value) }
        for (suffix, shift) in [("k", 10), ("m", 20), ("g", 30), ("t", 40)] where lower.hasSuffix(suffix) {
            guard let value = UInt64(lower.dropLast()) else { return nil }
            let (result, overflow) = value.multipliedReportingOverflow(by: 1 << UInt64(shift))
            return overflow ? nil : result
        }
        return UInt64(lower)
    }

    // MARK: - Printing

    /// The scenario as text that `parse` reads back to the same steps.
    public static func text(of scenario: Scenario) -> String {
        var lines = ["scenario \(scenario.name)" + (scenario.rules.isEmpty ? "" : " rules=\(scenario.rules.joined(separator: ","))")
                     + (scenario.requires.map { " requires=\($0.rawValue)" } ?? "")]
        for step in scenario.steps {
            lines.append(line(for: step.action) + (step.expected.map { " -> \(outcomeText($0))" } ?? ""))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One action as a line of the language.
    public static func line(for action: Action) -> String {
        func size(_ value: UInt64) -> String {
            if value != 0, value % (1 << 20) == 0 { return "\(value >> 20)M" }
            if value != 0, value % 1024 == 0 { return "\(value >> 10)K" }
            return hexOrDecimal(value)
        }
        func symbols(_ value: UInt64, _ table: [String: UInt64], preferred: [String]) -> String {
            if value == 0 { return "0" }
            var rest = value
            var names: [String] = []
            for name in preferred { if let bit = table[name], bit != 0, rest & bit == bit { names.append(name); rest &= ~bit } }
            if rest != 0 { return String(value) }
            return names.joined(separator: "|")
        }
        switch action {
        case .createVM(let name, let type):
            return "vm \(name)" + (type == 0 ? "" : " type=\(type)")
        case .createVCPU(let name, let vm, let id):
            return "vcpu \(name) \(vm) id=\(id)"
        case .createStats(let name, let of):
            return "stats \(name) \(of)"
        case .createGuestMemfd(let name, let vm, let s, let flags, let reserved):
            return "gmem \(name) \(vm) size=\(size(s)) flags=\(symbols(flags, guestMemfdFlags, preferred: ["mmap", "init_shared"]))"
                + (reserved == 0 ? "" : " reserved=\(reserved)")
        case .createMemfd(let name, let s):
            return "memfd \(name) size=\(size(s))"
        case .dup(let name, let of):
            return "dup \(name) \(of)"
        case .close(let name):
            return "close \(name)"
        case .setRegion(let vm, let version, let slot, let flags, let gpa, let s, let userspace, let file, let offset):
            var text = (s == 0 && file == nil && flags == 0 ? "delete \(vm) slot=\(slot)" :
                "region \(vm) slot=\(slot) flags=\(symbols(UInt64(flags), memslotFlags, preferred: ["gmem", "log_dirty", "readonly"])) gpa=\(hexOrDecimal(gpa)) size=\(size(s))")
            if case .literal(0) = userspace {} else { text += " uaddr=\(userspace)" }
            if let file { text += " file=\(file)" }
            if offset != 0 { text += " offset=\(size(offset))" }
            if version == 1 { text += " api=1" }
            return text
        case .fallocate(let file, let mode, let offset, let length):
            let modeText = mode == 1 ? "allocate" : mode == 3 ? "punch" : String(mode)
            return "fallocate \(file) mode=\(modeText) offset=\(size(UInt64(bitPattern: offset))) len=\(size(UInt64(bitPattern: length)))"
        case .fileOperation(let file, let operation):
            return "fileop \(file) \(fileOperations.first { $0.value == operation }!.key)"
        case .reopen(let name, let of):
            return "reopen \(name) \(of)"
        case .mmap(let name, let file, let protection, let flags, let offset, let length):
            let prot = protections.first { $0.value == UInt64(protection) && $0.key.count <= 3 && $0.key != "none" }?.key ?? String(protection)
            let flagText = flags == 1 ? "shared" : flags == 2 ? "private" : String(flags)
            return "mmap \(name) \(file) prot=\(prot) flags=\(flagText)" + (offset == 0 ? "" : " offset=\(size(offset))") + " len=\(size(length))"
        case .mapAnonymous(let name, let length, let protection):
            return "anon \(name) len=\(size(length))" + (protection == 3 ? "" : " prot=\(protection)")
        case .munmap(let mapping, let offset, let length):
            return "munmap \(mapping)" + (offset == 0 ? "" : " offset=\(size(offset))") + " len=\(size(length))"
        case .hostRead(let mapping, let offset):
            return "read \(mapping)" + (offset == 0 ? "" : " offset=\(size(offset))")
        case .hostWrite(let mapping, let offset, let value):
            return "write \(mapping)" + (offset == 0 ? "" : " offset=\(size(offset))") + " value=\(value)"
        case .setAttributes(let vm, let gpa, let s, let attributes, let flags):
            return "attrs \(vm) gpa=\(hexOrDecimal(gpa)) size=\(size(s)) attrs=\(attributes == 8 ? "private" : String(attributes))"
                + (flags == 0 ? "" : " flags=\(flags)")
        case .guestAccess(let via, let gpa, let write, let isPrivate):
            return "guest \(via) gpa=\(hexOrDecimal(gpa)) " + (write.map { "write=\($0)" } ?? "read") + (isPrivate ? " private" : "")
        case .stat(let name):
            return "stat \(name)"
        case .alive(let name):
            return "alive \(name)"
        }
    }

    /// An outcome as the text after `->`.
    public static func outcomeText(_ outcome: Outcome) -> String {
        switch outcome {
        case .memoryFault(let gpa, let size, let flags):
            "fault gpa=\(hexOrDecimal(gpa))" + (size == 4096 ? "" : " size=\(size)") + (flags == 0 ? "" : " flags=\(flags)")
        case .value(let value): "value \(value)"
        case .signal(let code): code == 7 ? "SIGBUS" : code == 11 ? "SIGSEGV" : "signal \(code)"
        case .userspaceFault: "efault"
        case .status(let mode, let size, let cloexec): "stat mode=\(String(mode, radix: 8)) size=\(size) cloexec=\(cloexec ? 1 : 0)"
        default: outcome.description
        }
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result.removeLast() }
        return result
    }
}
