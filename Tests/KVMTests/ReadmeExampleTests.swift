import Foundation
import KVM
import TestSupport
import Testing

/// The README's "Using the bindings" block: the first ```swift fence after that heading.
private func readmeBlock() throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let section = try #require(
        readme.range(of: "## Using the bindings\n"), "README.md has no \"Using the bindings\" section")
    let open = try #require(readme.range(of: "```swift\n", range: section.upperBound..<readme.endIndex))
    let close = try #require(readme.range(of: "\n```\n", range: open.upperBound..<readme.endIndex))
    return String(readme[open.upperBound..<close.lowerBound])
}

/// `import KVM` and the lines between the markers of ReadmeExample.swift.
private func compiledExample() throws -> String {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("ReadmeExample.swift")
    let text = try String(contentsOf: file, encoding: .utf8)
    let begin = try #require(text.range(of: "// README BEGIN\n"))
    let end = try #require(text.range(of: "\n// README END\n"))
    return "import KVM\n\n" + text[begin.upperBound..<end.lowerBound]
}

@Suite("README example")
struct ReadmeTextTests {
    @Test("the compiled example is the README's block verbatim")
    func verbatim() throws {
        #expect(try compiledExample() == readmeBlock())
    }

    @Test("an internal-error exit says in words what went wrong and what to set")
    func internalErrorInWords() {
        let text = VCPUExit.internalError(suberror: 1, dataCount: 0, firstData: 0).description
        #expect(text.contains("could not emulate") && text.contains("enterLongMode"), "\(text)")
        #expect(VCPUExit.Unexpected(.shutdown).description.hasPrefix("unexpected vCPU exit: the guest shut down"))
    }
}

extension KernelTests {
    @Suite("README example on the kernel")
    struct ReadmeExampleTests {
        @Test("the README's bindings example boots and prints what the guest wrote")
        func runs() throws {
            readmeExampleOutput.withLock { $0 = [] }
            try readmeExample()
            #expect(readmeExampleOutput.withLock { $0 } == ["the guest wrote 42 to port 0x10"])
        }

        @Test("a vCPU whose registers were never set does not reach the guest's code, and the exit says why")
        func withoutRegisters() throws {
            let vm = try makeVM()
            let ram = try vm.createGuestMemfd(size: 2 << 20, flags: .hostShared)
            let host = try ram.mapShared()
            try host.write([0xB0, 42, 0xE6, 0x10, 0xEB, 0xFE], at: 0x10_0000)
            try vm.bind(ram, slot: 0, guestPhysicalAddress: 0, size: ram.size, hostMemory: host)
            let vcpu = try vm.createVCPU(id: 0)
            let exit = try vcpu.run()
            #expect(exit != .ioOut(port: 0x10, size: 1, count: 1, value: 42))
            // This host (PVM) reports an emulation failure at the reset vector; the words say so.
            if case .internalError(suberror: 1, _, _) = exit {
                #expect(exit.description.contains("real mode"))
            }
        }
    }
}
