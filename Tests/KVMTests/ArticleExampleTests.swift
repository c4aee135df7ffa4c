import Foundation
import TestSupport
import Testing

/// The repository root (three levels above this file).
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// The lines of the article's ```swift blocks, in order, without their `import` lines.
private func articleLines() throws -> [String] {
    let url = repositoryRoot.appendingPathComponent("Sources/KVM/KVM.docc/GettingStarted.md")
    let text = try String(contentsOf: url, encoding: .utf8)
    var lines: [String] = []
    var inBlock = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if !inBlock, line == "```swift" {
            inBlock = true
            continue
        }
        if inBlock, line == "```" {
            inBlock = false
            continue
        }
        if inBlock, !line.hasPrefix("import ") { lines.append(String(line)) }
    }
    #expect(!inBlock, "GettingStarted.md has an unclosed ```swift block")
    return lines.filter { !$0.isEmpty }
}

/// The lines between `// <marker> BEGIN` and `// <marker> END` of a file of this target.
private func markedLines(_ file: String, _ marker: String) throws -> [String] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(file)
    let text = try String(contentsOf: url, encoding: .utf8)
    let begin = try #require(text.range(of: "// \(marker) BEGIN\n"))
    let end = try #require(text.range(of: "\n// \(marker) END\n"))
    return text[begin.upperBound..<end.lowerBound].split(separator: "\n").map(String.init)
}

@Suite("DocC article")
struct ArticleTextTests {
    @Test("the article's swift blocks are the compiled program verbatim")
    func verbatim() throws {
        #expect(try articleLines() == markedLines("ArticleExample.swift", "ARTICLE"))
    }

    @Test("the article's setup is the README example's, line for line (all but the guest's code)")
    func sameSetupAsReadme() throws {
        let readme = try markedLines("ReadmeExample.swift", "README")
        let setupEnd = try #require(
            readme.firstIndex { $0.contains("enterLongMode") }, "README example has no enterLongMode line")
        let setup = readme[...setupEnd].filter { !$0.hasPrefix("try host.write([") }
        var remaining = try articleLines()[...]
        for line in setup {
            guard let index = remaining.firstIndex(of: line) else {
                Issue.record("the article lacks (in order) the README example's line: \(line)")
                return
            }
            remaining = remaining[(index + 1)...]
        }
    }
}

extension KernelTests {
    @Suite("DocC article on the kernel")
    struct ArticleExampleTests {
        @Test("the article's program boots, loops over exits and prints what the guest wrote")
        func runs() throws {
            articleExampleOutput.withLock { $0 = [] }
            try articleExample()
            #expect(articleExampleOutput.withLock { $0 } == ["the guest wrote Hi"])
        }
    }
}
