import TestSupport
import Testing

extension KernelTests {
    /// This target's kernel suites are children of TestSupport's serialized KernelTests.
    @Suite("Kernel suites of KVMTests run one at a time")
    struct KVMKernelNestingTests {
        @Test("a kernel test of KVMTests holds the process-wide kernel lock, and no kernel test case has waited")
        func exclusive() { expectKernelExclusivity() }
    }
}
