import TestSupport
import Testing

extension KernelTests {
    /// This target's kernel suites are children of TestSupport's serialized KernelTests.
    @Suite("Kernel suites of MicroVMTests run one at a time")
    struct MicroVMKernelNestingTests {
        @Test("a kernel test of MicroVMTests holds the process-wide kernel lock, and no kernel test case has waited")
        func exclusive() { expectKernelExclusivity() }
    }
}
