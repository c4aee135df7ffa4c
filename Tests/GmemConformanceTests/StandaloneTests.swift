import Foundation
import Testing

/// The repository stands alone: no file refers to a path outside it, and every relative
/// Markdown link resolves inside it (what `Scripts/check-standalone.sh` checks in CI).
@Suite("The repository stands alone")
struct StandaloneTests {
    typealias Tree = RegistrySourceTests

    /// Text that points outside the repository (built from pieces, so this file does not match).
    static let escapes = [".." + "/shared", "/wor" + "k/"]

    @Test("no file refers to the notes directory beside the repository or to the machine's paths")
    func noOutsidePaths() throws {
        var found: [String] = []
        let files = try Tree.sourceFiles(includingGenerated: true)
        #expect(files.contains("README.md") && files.contains("Package.swift") && files.count > 100)
        for path in files {
            guard let text = try? Tree.read(path) else { continue }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                for escape in Self.escapes where line.contains(escape) {
                    found.append("\(path):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }

    @Test("every relative Markdown link resolves to a file inside the repository")
    func linksResolve() throws {
        let root = Tree.root.standardizedFileURL.path(percentEncoded: false)
        var broken: [String] = []
        var checked = 0
        for path in try Tree.sourceFiles(includingGenerated: true) where path.hasSuffix(".md") {
            let text = try Tree.read(path)
            let directory = Tree.root.appending(path: path).deletingLastPathComponent()
            for target in Self.linkTargets(in: text) {
                if target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("mailto:")
                    || target.hasPrefix("#")
                {
                    continue
                }
                let file = String(target.prefix { $0 != "#" })
                let resolved = directory.appending(path: file).standardizedFileURL.path(percentEncoded: false)
                checked += 1
                if !(resolved == root || resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/")) {
                    broken.append("\(path): \(target) leaves the repository")
                } else if !FileManager.default.fileExists(atPath: resolved) {
                    broken.append("\(path): \(target) does not resolve")
                }
            }
        }
        #expect(broken.isEmpty, "\(broken.joined(separator: "\n"))")
        #expect(checked > 20, "only \(checked) relative links found")
    }

    /// The targets of `[text](target)` links, without a title.
    static func linkTargets(in text: String) -> [String] {
        var targets: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "](") {
            rest = rest[open.upperBound...]
            guard let close = rest.firstIndex(of: ")") else { break }
            let target = rest[..<close].split(separator: " ").first.map(String.init) ?? ""
            if !target.isEmpty, !target.contains("\n") { targets.append(target) }
            rest = rest[close...]
        }
        return targets
    }
}
