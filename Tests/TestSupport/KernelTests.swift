import Testing

/// The parent of every suite, in every test target, that creates kernel objects (VMs, vCPUs,
/// guest_memfds, the conformance kernel backend). Its children run one at a time:
///
/// - the lifetime oracle (`VMLiveness` in KVMTests) names VMs by "<tid>-<fd>", and fd numbers
///   reused by concurrently created VMs would make it ambiguous;
/// - the conformance kernel backend places its mappings where the model does, so only one may
///   live in the process at a time;
/// - the descriptor and vCPU-thread counts the MicroVM tests compare are process-wide.
///
/// A test target nests its kernel suites here with `extension KernelTests { @Suite … struct
/// X {} }`. Swift Testing names such a suite by the extended type's path
/// (`TestSupport.KernelTests/X`), whatever module declares it, so the suites of all the test
/// targets (which `swift test` links into one process) are children of this one serialized
/// suite: `swift test list` shows every kernel suite under `TestSupport.KernelTests/`, and
/// `swift test --filter KernelTests` runs them all.
///
/// Two suites nested here need distinct names even in different targets: both would be
/// `TestSupport.KernelTests/<name>`.
///
/// Exclusivity does not rest on the nesting alone. ``KernelExclusiveTrait`` (`.kernelExclusive`,
/// recursive) makes every test case below this suite hold one process-wide lock for its whole
/// run, so no two kernel test cases overlap even if a suite ended up outside the serialized
/// tree (a future Swift Testing that stops nesting across modules, say). While serialization
/// holds, the lock is never contended; a test case that has to wait records an issue saying its
/// suite is not serialized, so a broken nesting fails loudly instead of merely running slower.
/// Each test target's "Kernel suites of this target" test checks that its kernel tests are
/// inside the lock (``KernelExclusiveTrait/running`` is 1) and that nothing waited so far.
@Suite("Kernel", .serialized, .requiresKVM, .kernelExclusive)
public struct KernelTests {}
