import Foundation
import GmemConformance
import GmemModel
import Testing

/// The rule registry held against the repository: the committed specification is the
/// generated one, every id the source tree cites exists, and every check the registry lists
/// exists and cites its rule (so every rule is checked by a real scenario or test).
@Suite("Rule registry against the source tree")
struct RegistrySourceTests {
    /// The repository root, from this file's path (Tests/GmemConformanceTests/…).
    static let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Text files of the repository, as paths relative to the root: everything but build
    /// output, git metadata and (unless `includingGenerated`) the generated specification.
    static func sourceFiles(includingGenerated: Bool = false) throws -> [String] {
        let textExtensions: Set<String> = [
            "swift", "md", "gmem", "c", "h", "sh", "txt", "pml", "ld", "s", "json", "yml", "run",
        ]
        var paths: [String] = []
        let manager = FileManager.default
        guard
            let walker = manager.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey])
        else {
            throw CocoaError(.fileReadUnknown)
        }
        let rootPath = root.standardizedFileURL.path(percentEncoded: false)
        for case let url as URL in walker {
            let name = url.lastPathComponent
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey])
            if values.isDirectory == true {
                // .git (a clone's object store), .build and other tool folders are not the project's text.
                if name.hasPrefix(".") && name != ".ci" { walker.skipDescendants() }
                continue
            }
            if name == ".git" { continue }  // a worktree's pointer file, not part of a clone
            guard values.isRegularFile == true, textExtensions.contains(url.pathExtension) || url.pathExtension.isEmpty
            else { continue }
            var relative = url.standardizedFileURL.path(percentEncoded: false)
            guard relative.hasPrefix(rootPath) else { continue }
            relative.removeFirst(rootPath.count)
            if relative.hasPrefix("/") { relative.removeFirst() }
            if relative == "docs/GMEM-SPEC.md" && !includingGenerated { continue }
            paths.append(relative)
        }
        return paths.sorted()
    }

    static func read(_ relative: String) throws -> String {
        try String(contentsOf: root.appending(path: relative), encoding: .utf8)
    }

    @Test("docs/GMEM-SPEC.md is exactly `gmem rules --markdown`")
    func specificationIsGenerated() throws {
        let committed = try Self.read("docs/GMEM-SPEC.md")
        let generated = RuleDocument.markdown()
        if committed != generated {
            let a = committed.split(separator: "\n", omittingEmptySubsequences: false)
            let b = generated.split(separator: "\n", omittingEmptySubsequences: false)
            let first = Array(zip(a, b)).firstIndex { $0 != $1 } ?? min(a.count, b.count)
            Issue.record(
                """
                docs/GMEM-SPEC.md differs from the registry from line \(first + 1) on; regenerate it with \
                `swift run gmem rules --markdown > docs/GMEM-SPEC.md`
                committed: \(first < a.count ? String(a[first]) : "<end>")
                generated: \(first < b.count ? String(b[first]) : "<end>")
                """)
        }
    }

    @Test("every rule id cited in Sources, Tests, Scenarios and the docs is in the registry")
    func citedIDsExist() throws {
        let known = Set(RuleRegistry.ids)
        var unknown: [String] = []
        var cited = 0
        for path in try Self.sourceFiles() {
            guard let text = try? Self.read(path) else { continue }
            for citation in RuleCitations.scan(text) {
                cited += 1
                if !known.contains(citation.id) { unknown.append("\(path):\(citation.line): \(citation.id)") }
            }
        }
        #expect(unknown.isEmpty, "ids the registry lacks:\n\(unknown.joined(separator: "\n"))")
        // The scan finds the tree's citations at all (a broken walk would pass vacuously).
        #expect(cited > 200, "only \(cited) citations found under \(Self.root.path)")
    }

    @Test("every scenario and test the registry lists exists and cites its rule")
    func checksExist() throws {
        let scenarios = Dictionary(Catalogue.scenarios.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        var citationsByFile: [String: Set<String>] = [:]
        for rule in RuleRegistry.rules {
            for check in rule.verifiedBy {
                switch check {
                case .scenario(let name):
                    if let scenario = scenarios[name] {
                        if !scenario.rules.contains(rule.id) {
                            problems.append("\(rule.id): scenario \(name) does not list rules=\(rule.id)")
                        }
                    } else {
                        problems.append("\(rule.id): no catalogue scenario named \(name)")
                    }
                case .test(let path):
                    if citationsByFile[path] == nil {
                        citationsByFile[path] = (try? Self.read(path)).map { Set(RuleCitations.ids(in: $0)) }
                    }
                    if let ids = citationsByFile[path] {
                        if !ids.contains(rule.id) {
                            problems.append("\(rule.id): \(path) does not cite GMEM-\(rule.id)")
                        }
                    } else {
                        problems.append("\(rule.id): no test file \(path)")
                    }
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test("every registry rule is checked by a catalogue scenario or a test")
    func everyRuleCovered() throws {
        var covered = Set(Catalogue.scenarios.flatMap(\.rules))
        for path in try Self.sourceFiles() where path.hasPrefix("Tests/") {
            if let text = try? Self.read(path) { covered.formUnion(RuleCitations.ids(in: text)) }
        }
        let uncovered = RuleRegistry.ids.filter { !covered.contains($0) }
        #expect(uncovered.isEmpty, "rules no scenario or test cites: \(uncovered)")
    }
}
