import Foundation
import GmemModel
import TestSupport
import Testing

@testable import GmemConformance

/// GMEM-SPEC KB1 (rule B3): a guest_memfd binding whose offset + size is above INT64_MAX. The
/// model refuses it (EINVAL); kernels whose kvm_gmem_bind sums in loff_t accept it. Such a
/// divergence is reported as a known kernel bug, apart from every other divergence.
@Suite("Known kernel bugs")
struct KnownKernelBugTests {
    static let pastEnd = Action.setRegion(
        vm: "V", version: 2, slot: 0, flags: 4, gpa: 0x10_0000, size: 8192, userspace: .literal(0), file: "F",
        offset: 0x7FFF_FFFF_FFFF_F000)

    @Test("KB1 is in the registry, names rule B3, kvm_gmem_bind and a kernel, and GMEM-SPEC lists it")
    func registry() throws {
        let bug = try #require(KnownKernelBug.bug("KB1"))
        #expect(RuleRegistry.rule(bug.rule) != nil && bug.rule == "B3")
        #expect(bug.function == "kvm_gmem_bind" && bug.kernelsSeen.contains("6.18.44"))
        let markdown = RuleDocument.markdown()
        #expect(markdown.contains("## Known kernel bugs"))
        #expect(markdown.contains("### KB1 (breaks B3)"))
        #expect(markdown.contains("`kvm_gmem_bind`"))
    }

    @Test("only the exact shape matches: REGION2, KVM_MEM_GUEST_MEMFD, end above INT64_MAX, model EINVAL, kernel ok")
    func matching() {
        let einval = Outcome.errno(EINVAL)
        #expect(KnownKernelBug.matching(Self.pastEnd, model: einval, kernel: .ok)?.id == "KB1")
        // The other way round, or another errno, is an ordinary divergence.
        #expect(KnownKernelBug.matching(Self.pastEnd, model: .ok, kernel: einval) == nil)
        #expect(KnownKernelBug.matching(Self.pastEnd, model: .errno(EEXIST), kernel: .ok) == nil)
        #expect(KnownKernelBug.matching(Self.pastEnd, model: einval, kernel: .errno(EEXIST)) == nil)
        func region(offset: UInt64, size: UInt64, flags: UInt32 = 4, version: Int = 2, file: String? = "F") -> Action {
            .setRegion(
                vm: "V", version: version, slot: 0, flags: flags, gpa: 0, size: size, userspace: .literal(0),
                file: file, offset: offset)
        }
        // End exactly 2^63 is past INT64_MAX; end INT64_MAX + 1 - 4K is not; a u64 wrap is not.
        #expect(
            KnownKernelBug.matching(region(offset: 0x7FFF_FFFF_FFFF_E000, size: 8192), model: einval, kernel: .ok)
                != nil)
        #expect(
            KnownKernelBug.matching(region(offset: 0x7FFF_FFFF_FFFF_D000, size: 8192), model: einval, kernel: .ok)
                == nil)
        #expect(
            KnownKernelBug.matching(region(offset: UInt64.max & ~4095, size: 8192), model: einval, kernel: .ok) == nil)
        // Not a guest_memfd binding, version 1, no file: not this bug.
        #expect(
            KnownKernelBug.matching(region(offset: 1 << 63, size: 4096, flags: 0), model: einval, kernel: .ok) == nil)
        #expect(
            KnownKernelBug.matching(region(offset: 1 << 63, size: 4096, version: 1), model: einval, kernel: .ok) == nil)
        #expect(
            KnownKernelBug.matching(region(offset: 1 << 63, size: 4096, file: nil), model: einval, kernel: .ok) == nil)
        #expect(KnownKernelBug.matching(region(offset: 1 << 63, size: 0), model: einval, kernel: .ok) == nil)
    }

    static func result(_ name: String, _ status: ScenarioResult.Status, bug: Bool) -> ScenarioResult {
        let step = Step(Self.pastEnd, expect: .errno(EINVAL))
        let outcome = StepResult(
            step: step, model: .errno(EINVAL), kernel: bug ? .ok : .errno(EINVAL), problems: bug ? ["known"] : [],
            knownKernelBug: bug ? "KB1" : nil)
        return ScenarioResult(
            scenario: Scenario(name: name, rules: ["B3"], requires: [], steps: [step], source: "test"),
            status: status, steps: [outcome], skipReason: nil, budgetRefused: false)
    }

    @Test("a report counts kernel bugs apart, fails unless allowed, and a divergence beside one still fails and shows")
    func report() throws {
        var report = ConformanceReport(
            results: [Self.result("a", .kernelBug, bug: true), Self.result("b", .passed, bug: false)],
            selection: .both, notes: [], seconds: 0)
        #expect(report.kernelBugs == 1 && report.passed == 1 && report.diverged == 0 && report.failed == 0)
        #expect(report.results[0].status == "kernel-bug" && report.results[0].knownKernelBugs == ["KB1"])
        #expect(report.rules.first { $0.rule == "B3" }?.kernelBug == 1)
        #expect(!report.succeeded)
        let text = report.formatted()
        #expect(text.contains("KERNELBUG a [B3]"), "\(text)")
        #expect(text.contains("1 kernel bug (known: KB1; the kernel is not conformant)"), "\(text)")
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(json.contains("\"kernelBugs\":1") && json.contains("\"knownKernelBugs\":[\"KB1\"]"), "\(json)")
        report.allowsKnownKernelBugs = true
        #expect(report.succeeded)
        #expect(report.formatted().contains("allowed by --allow-known-kernel-bugs"))
        var mixed = ConformanceReport(
            results: [Self.result("a", .kernelBug, bug: true), Self.result("c", .diverged, bug: false)],
            selection: .both, notes: [], seconds: 0)
        mixed.allowsKnownKernelBugs = true
        #expect(!mixed.succeeded && mixed.diverged == 1 && mixed.kernelBugs == 1)
        #expect(mixed.formatted().contains("DIVERGED c"))
    }

    @Test("the random generator reaches guest_memfd bindings whose offset + size is above INT64_MAX")
    func randomPool() {
        var generator = SplitMix64(seed: 1)
        var found = 0
        for index in 0..<2000 {
            let scenario = RandomDifferential.sequence(length: 40, generator: &generator, name: "pool-\(index)")
            for step in scenario.steps {
                if case .setRegion(_, _, _, let flags, _, let size, _, let file, let offset) = step.action,
                    flags & 4 != 0, file != nil, KnownKernelBug.all[0].covers(bindingOffset: offset, size: size)
                {
                    found += 1
                }
            }
        }
        #expect(found > 0, "80,000 random operations made no binding past INT64_MAX")
    }
}

extension KernelTests {
    /// KB1 on this host: the probe's reproducer runs on both backends; a kernel that accepts
    /// the binding is reported as the known bug (a known issue here), a fixed one agrees.
    @Suite("Known kernel bugs on this kernel")
    struct KnownKernelBugKernelTests {
        @Test("the KB1 reproducer is classified as the known kernel bug, or passes on a fixed kernel")
        func bindingPastInt64Max() throws {
            let scenario = try #require(
                try ScenarioFormat.parse(
                    """
                    scenario kb1-bind-offset-past-eof rules=B3
                    vm V
                    gmem F V size=8K flags=none
                    region V slot=0 flags=gmem gpa=0x100000 size=8K file=F offset=0x7FFFFFFFFFFFF000 -> EINVAL
                    gmem G V size=8K flags=none -> ok
                    """, source: "kb1"
                ).first)
            let runner = ConformanceRunner(
                selection: .both, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
            let result = runner.run(scenario)
            let step = result.steps[2]
            #expect(step.model == .errno(EINVAL))
            if step.kernel == .ok {
                #expect(result.status == .kernelBug, "\(result.problems)")
                #expect(result.knownKernelBugs == ["KB1"])
                // The kernel side stopped there: the next step ran on the model only.
                #expect(result.steps[3].kernel == nil && result.steps[3].model == .ok)
                let report = ConformanceReport(results: [result], selection: .both, notes: [], seconds: 0)
                #expect(report.kernelBugs == 1 && report.diverged == 0 && !report.succeeded)
                withKnownIssue("GMEM-SPEC KB1: this kernel binds a guest_memfd past its end (kvm_gmem_bind, loff_t)") {
                    #expect(step.kernel == .errno(EINVAL))
                }
            } else {
                #expect(step.kernel == .errno(EINVAL))
                #expect(result.status == .passed, "\(result.problems)")
            }
        }
    }
}
