import KVM

/// A guest-physical address: `KVM.GuestPhysicalAddress`, the one address type of every
/// GmemKit module (named here so that `import GuestMemory` alone is enough).
public typealias GuestPhysicalAddress = KVM.GuestPhysicalAddress

/// A half-open guest-physical range: `KVM.GuestRange`.
public typealias GuestRange = KVM.GuestRange
