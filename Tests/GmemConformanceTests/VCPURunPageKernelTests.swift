import GmemConformance
import TestSupport
import Testing

extension KernelTests {
    /// KVM_RUN writes a vCPU's kvm_run page (exit_reason, the exit's fields, immediate_exit),
    /// which the model does not describe: after a scenario vCPU's guest step, a host access
    /// through a mapping of a vCPU fd is a step the kernel backend cannot perform, never a
    /// silent divergence (the probe's F3: model value 0, kernel value 2 at offset 8).
    @Suite("vCPU run page: accesses after KVM_RUN are not performed")
    struct VCPURunPageKernelTests {
        static let capabilities = ConformanceRunner.hostCapabilities() ?? .referenceHost

        @Test("a read of kvm_run before any guest step runs; after one it is 'cannot perform', not a divergence")
        func readAfterRun() throws {
            let text = """
                scenario run-page
                vm V
                vcpu C V
                mmap P C len=4K
                read P offset=8 -> value 0
                guest C gpa=0x100000 read -> mmio
                read P offset=8 -> value 0
                """
            let scenario = try #require(try ScenarioFormat.parse(text, source: "run-page.gmem").first)
            let result = ConformanceRunner(selection: .both, capabilities: Self.capabilities).run(scenario)
            #expect(result.status == .failed, "\(result.status): \(result.problems)")
            #expect(result.problems.count == 1, "\(result.problems)")
            let problem = try #require(result.problems.first)
            #expect(problem.contains("line 7") && problem.contains("kvm_run"), "\(problem)")
            #expect(result.steps[3].kernel == .value(0))
        }
    }
}
