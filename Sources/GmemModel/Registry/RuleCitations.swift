/// Finds the rule ids a text cites, in the project's citation forms: `GMEM-B5`,
/// `GMEM-SPEC B5`, lists after one prefix (`GMEM-B5, P3`, `GMEM-SPEC G2/G3`), ranges
/// (`GMEM-SPEC C1–C3`) and a scenario header's `rules=B5,B6`.
///
/// Pure scanning (no regular expressions, no Foundation); ids come back in order of
/// appearance, each with the 1-based line it is on, duplicates included.
public enum RuleCitations {
    /// One cited id and where.
    public struct Citation: Hashable, Sendable {
        /// The rule id, without prefix (`B5`).
        public let id: String
        /// The 1-based line of the text it is cited on.
        public let line: Int
    }

    /// Every citation in `text`.
    public static func scan(_ text: String) -> [Citation] {
        let chars = Array(text.utf8)
        var found: [Citation] = []
        var line = 1
        var index = 0
        while index < chars.count {
            if chars[index] == UInt8(ascii: "\n") {
                line += 1
                index += 1
                continue
            }
            if let start = match("GMEM-SPEC ", chars, index) ?? match("GMEM-", chars, index),
                !isWordByte(chars, index - 1)
            {
                let (ids, end) = idList(chars, from: start, allowPrefix: true)
                found += ids.map { Citation(id: $0, line: line) }
                index = max(end, index + 1)
                continue
            }
            if let start = match("rules=", chars, index), !isWordByte(chars, index - 1) {
                let (ids, end) = idList(chars, from: start, allowPrefix: false)
                found += ids.map { Citation(id: $0, line: line) }
                index = max(end, index + 1)
                continue
            }
            index += 1
        }
        return found
    }

    /// The distinct ids `text` cites, sorted.
    public static func ids(in text: String) -> [String] {
        Array(Set(scan(text).map(\.id))).sorted()
    }

    /// `A1`, `B10`: one capital letter and one or more digits, not followed by a word byte.
    static func ruleID(_ chars: [UInt8], _ index: Int) -> (String, Int)? {
        guard index < chars.count, chars[index] >= UInt8(ascii: "A"), chars[index] <= UInt8(ascii: "Z") else {
            return nil
        }
        var end = index + 1
        while end < chars.count, chars[end] >= UInt8(ascii: "0"), chars[end] <= UInt8(ascii: "9") { end += 1 }
        guard end > index + 1, end - index <= 4, !isWordByte(chars, end) else { return nil }
        return (String(decoding: chars[index..<end], as: UTF8.self), end)
    }

    /// A list of ids from `start`: separators `,`, `, `, `/`, ` and `, and `–` (a range).
    static func idList(_ chars: [UInt8], from start: Int, allowPrefix: Bool) -> ([String], Int) {
        guard let (first, afterFirst) = ruleID(chars, start) else { return ([], start) }
        var ids = [first]
        var index = afterFirst
        while true {
            var next = index
            var isRange = false
            if let after = match(", ", chars, next) ?? match(",", chars, next) ?? match("/", chars, next)
                ?? match(" and ", chars, next)
            {
                next = after
            } else if let after = match("–", chars, next) {  // en dash: a range such as C1–C3
                next = after
                isRange = true
            } else {
                break
            }
            if allowPrefix, let after = match("GMEM-", chars, next) { next = after }
            guard let (id, end) = ruleID(chars, next) else { break }
            if isRange, let last = ids.last, last.first == id.first,
                let low = Int(last.dropFirst()), let high = Int(id.dropFirst()), low < high, high - low <= 50
            {
                ids += (low + 1...high).map { "\(id.first!)\($0)" }
            } else {
                ids.append(id)
            }
            index = end
        }
        return (ids, index)
    }

    static func match(_ literal: String, _ chars: [UInt8], _ index: Int) -> Int? {
        let bytes = Array(literal.utf8)
        guard index >= 0, index + bytes.count <= chars.count else { return nil }
        for offset in 0..<bytes.count where chars[index + offset] != bytes[offset] { return nil }
        return index + bytes.count
    }

    static func isWordByte(_ chars: [UInt8], _ index: Int) -> Bool {
        guard index >= 0, index < chars.count else { return false }
        let byte = chars[index]
        return (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }
}
