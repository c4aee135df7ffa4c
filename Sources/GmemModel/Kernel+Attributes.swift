/// Memory attributes of guest pages (GMEM-SPEC A).
extension ModelKernel {
    /// `KVM_SET_MEMORY_ATTRIBUTES` on a VM fd: gives `attributes` to every page of
    /// `[address, address + size)`; data is never moved (A3).
    ///
    /// Fails with `EBADF`/`EINVAL`/`ENOTTY` for a bad VM fd, `ENOTTY` when the kernel has no
    /// memory attributes (the reference host), and `EINVAL` for the A1/A2 violations of
    /// ``GmemRules/validateMemoryAttributes(address:size:attributes:flags:supportedAttributes:ioctlExists:)``.
    public mutating func setMemoryAttributes(
        vmFD: Int32, address: UInt64, size: UInt64, attributes: UInt64, flags: UInt64 = 0
    ) -> Result<Void, ModelErrno> {
        let machine: Int
        switch machineForVMIoctl(vmFD) {
        case .success(let value): machine = value
        case .failure(let error): return .failure(error)
        }
        let supported = capabilities.memoryAttributes(forVMType: machines[machine]!.type)
        if let error = GmemRules.validateMemoryAttributes(
            address: address, size: size, attributes: attributes, flags: flags,
            supportedAttributes: supported, ioctlExists: capabilities.hasMemoryAttributesIoctl)
        {
            return .failure(error)
        }
        let start = address >> GmemABI.pageShift
        let end = start + (size >> GmemABI.pageShift)
        if attributes == 0 {
            machines[machine]!.attributes.remove(start, end)
        } else {
            machines[machine]!.attributes.set(start, end, to: attributes)
        }
        return .success(())
    }

    /// The attributes of the guest page at `address` of the VM behind `vmFD`
    /// (`KVM_GET_MEMORY_ATTRIBUTES` does not exist; this is for tests and explorers).
    ///
    /// Fails with `EBADF`/`EINVAL`/`ENOTTY` for a bad VM fd.
    public func memoryAttributes(vmFD: Int32, address: UInt64) -> Result<UInt64, ModelErrno> {
        switch machineForVMIoctl(vmFD) {
        case .success(let machine):
            return .success(machines[machine]!.attributes.value(at: address >> GmemABI.pageShift) ?? 0)
        case .failure(let error):
            return .failure(error)
        }
    }
}
