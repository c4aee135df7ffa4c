import GmemModel
import KVM

/// The kernel profile this host answers like, and parsing a `--profile` name.
extension KernelProfile {
    /// The provisional number of `KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES` (in-place
    /// conversion, v13): a kernel that reports it answers like `next`.
    static let conversionCapability = Capability.guestMemfdMemoryAttributes

    /// The profile this host's kernel answers like, and why: from `uname -r` and, where
    /// /dev/kvm opens, whether the kernel reports in-place conversion.
    public static func host() -> (profile: KernelProfile, reason: String) {
        let conversion = ((try? KVMSystem())?.checkIfPresent(conversionCapability) ?? 0) > 0
        return detect(release: KVMHost.kernelRelease, hasConversionCapability: conversion)
    }

    /// The profile a `--profile` argument names, or an error message listing the names.
    public static func parse(_ name: String) -> Result<KernelProfile, ProfileNameError> {
        named(name).map { .success($0) } ?? .failure(ProfileNameError(name: name))
    }

    /// A profile name that names no profile.
    public struct ProfileNameError: Error, CustomStringConvertible {
        /// The name as given.
        public let name: String
        /// `unknown kernel profile 'NAME' (expected ...)`, listing the names there are.
        public var description: String {
            "unknown kernel profile '\(name)' (expected \(KernelProfile.allNames.joined(separator: " or ")))"
        }
    }
}

extension KVMSystem {
    /// `KVM_CHECK_EXTENSION(capability)`, 0 when the call fails.
    fileprivate func checkIfPresent(_ capability: Capability) -> Int32 {
        (try? check(capability)) ?? 0
    }
}
