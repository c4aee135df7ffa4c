/// One model operation as a value, so explorers, conformance scenarios and random sequences
/// can store, print and replay operations.
public enum ModelOperation: Hashable, Sendable {
    /// ``ModelKernel/createVM(type:)``.
    case createVM(type: UInt64)
    /// ``ModelKernel/createVCPU(vmFD:id:)``.
    case createVCPU(vmFD: Int32, id: UInt32)
    /// ``ModelKernel/createStatsFD(fd:)``.
    case createStatsFD(fd: Int32)
    /// ``ModelKernel/createMemfd(size:)``.
    case createMemfd(size: UInt64)
    /// ``ModelKernel/dup(_:closeOnExec:)``.
    case dup(fd: Int32)
    /// ``ModelKernel/close(_:)``.
    case close(fd: Int32)
    /// ``ModelKernel/createGuestMemfd(vmFD:size:flags:reserved:)``.
    case createGuestMemfd(vmFD: Int32, size: UInt64, flags: UInt64)
    /// `KVM_SET_USER_MEMORY_REGION` (v1).
    case setUserMemoryRegion(vmFD: Int32, GmemRules.MemoryRegion)
    /// `KVM_SET_USER_MEMORY_REGION2`.
    case setUserMemoryRegion2(vmFD: Int32, GmemRules.MemoryRegion)
    /// ``ModelKernel/fallocate(fd:mode:offset:length:)``.
    case fallocate(fd: Int32, mode: Int32, offset: Int64, length: Int64)
    /// ``ModelKernel/fileOperation(_:fd:)``.
    case fileOperation(ModelKernel.FileOperation, fd: Int32)
    /// ``ModelKernel/reopen(fd:)``.
    case reopen(fd: Int32)
    /// ``ModelKernel/mmap(fd:prot:flags:offset:length:)``.
    case mmap(fd: Int32, prot: Int32, flags: Int32, offset: UInt64, length: UInt64)
    /// ``ModelKernel/mapAnonymous(length:prot:)``.
    case mapAnonymous(length: UInt64, prot: Int32)
    /// ``ModelKernel/munmap(address:length:)``.
    case munmap(address: UInt64, length: UInt64)
    /// ``ModelKernel/hostRead(address:)``.
    case hostRead(address: UInt64)
    /// ``ModelKernel/hostWrite(address:value:)``.
    case hostWrite(address: UInt64, value: UInt64)
    /// ``ModelKernel/setMemoryAttributes(vmFD:address:size:attributes:flags:)``.
    case setMemoryAttributes(vmFD: Int32, address: UInt64, size: UInt64, attributes: UInt64, flags: UInt64)
    /// ``ModelKernel/guestAccess(fd:guestPhysicalAddress:_:isPrivate:)``.
    case guestAccess(fd: Int32, guestPhysicalAddress: UInt64, ModelKernel.GuestAccess, isPrivate: Bool)
    /// ``ModelKernel/convert(fd:offset:size:attributes:flags:)`` (a failure's `error_offset`
    /// is dropped here; call the method for it).
    case convert(fd: Int32, offset: UInt64, size: UInt64, attributes: UInt64, flags: UInt64)
    /// ``ModelKernel/link(vmFD:fd:flags:)``.
    case link(vmFD: Int32, fd: Int32, flags: UInt64)
}

/// What one ``ModelOperation`` returned.
public enum ModelOutcome: Hashable, Sendable {
    /// Success without a value.
    case done
    /// A new fd.
    case descriptor(Int32)
    /// A host address (mmap).
    case address(UInt64)
    /// A content token read by the host.
    case value(UInt64)
    /// What a guest access ended in.
    case guest(ModelKernel.GuestAccessOutcome)
    /// A host access raised a signal.
    case signal(HostSignal)
    /// The operation failed with this errno and changed nothing.
    case failed(ModelErrno)
}

extension ModelKernel {
    /// Performs `operation` and returns its outcome; see each operation's method for when
    /// it fails (a failure is returned as ``ModelOutcome/failed(_:)``, never thrown).
    public mutating func apply(_ operation: ModelOperation) -> ModelOutcome {
        switch operation {
        case .createVM(let type):
            return Self.outcome(createVM(type: type), ModelOutcome.descriptor)
        case .createVCPU(let vmFD, let id):
            return Self.outcome(createVCPU(vmFD: vmFD, id: UInt64(id)), ModelOutcome.descriptor)
        case .createStatsFD(let fd):
            return Self.outcome(createStatsFD(fd: fd), ModelOutcome.descriptor)
        case .createMemfd(let size):
            return .descriptor(createMemfd(size: size))
        case .dup(let fd):
            return Self.outcome(dup(fd), ModelOutcome.descriptor)
        case .close(let fd):
            return Self.outcome(close(fd)) { .done }
        case .createGuestMemfd(let vmFD, let size, let flags):
            return Self.outcome(createGuestMemfd(vmFD: vmFD, size: size, flags: flags), ModelOutcome.descriptor)
        case .setUserMemoryRegion(let vmFD, let region):
            return Self.outcome(setMemoryRegion(vmFD: vmFD, region, ioctl: .v1)) { .done }
        case .setUserMemoryRegion2(let vmFD, let region):
            return Self.outcome(setMemoryRegion(vmFD: vmFD, region, ioctl: .v2)) { .done }
        case .fallocate(let fd, let mode, let offset, let length):
            return Self.outcome(fallocate(fd: fd, mode: mode, offset: offset, length: length)) { .done }
        case .fileOperation(let kind, let fd):
            return Self.outcome(fileOperation(kind, fd: fd)) { .done }
        case .reopen(let fd):
            return Self.outcome(reopen(fd: fd), ModelOutcome.descriptor)
        case .mmap(let fd, let prot, let flags, let offset, let length):
            return Self.outcome(
                mmap(fd: fd, prot: prot, flags: flags, offset: offset, length: length), ModelOutcome.address)
        case .mapAnonymous(let length, let prot):
            return Self.outcome(mapAnonymous(length: length, prot: prot), ModelOutcome.address)
        case .munmap(let address, let length):
            return Self.outcome(munmap(address: address, length: length)) { .done }
        case .hostRead(let address):
            switch hostRead(address: address) {
            case .success(let value): return .value(value)
            case .failure(let signal): return .signal(signal)
            }
        case .hostWrite(let address, let value):
            switch hostWrite(address: address, value: value) {
            case .success: return .done
            case .failure(let signal): return .signal(signal)
            }
        case .setMemoryAttributes(let vmFD, let address, let size, let attributes, let flags):
            return Self.outcome(
                setMemoryAttributes(vmFD: vmFD, address: address, size: size, attributes: attributes, flags: flags)
            ) { .done }
        case .guestAccess(let fd, let address, let access, let isPrivate):
            return Self.outcome(
                guestAccess(fd: fd, guestPhysicalAddress: address, access, isPrivate: isPrivate), ModelOutcome.guest)
        case .convert(let fd, let offset, let size, let attributes, let flags):
            switch convert(fd: fd, offset: offset, size: size, attributes: attributes, flags: flags) {
            case .success: return .done
            case .failure(let failure): return .failed(failure.errno)
            }
        case .link(let vmFD, let fd, let flags):
            return Self.outcome(link(vmFD: vmFD, fd: fd, flags: flags), ModelOutcome.descriptor)
        }
    }

    @inline(__always)
    static func outcome<T>(_ result: Result<T, ModelErrno>, _ success: (T) -> ModelOutcome) -> ModelOutcome {
        switch result {
        case .success(let value): success(value)
        case .failure(let error): .failed(error)
        }
    }
}
