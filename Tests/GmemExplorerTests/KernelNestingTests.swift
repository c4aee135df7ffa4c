import TestSupport
import Testing

extension KernelTests {
    /// This target's kernel suites are children of TestSupport's serialized KernelTests.
    @Suite("Kernel suites of GmemExplorerTests run one at a time")
    struct ExplorerKernelNestingTests {
        @Test(
            "a kernel test of GmemExplorerTests holds the process-wide kernel lock, and no kernel test case has waited")
        func exclusive() { expectKernelExclusivity() }
    }
}
