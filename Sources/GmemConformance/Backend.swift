import GmemModel

/// Something that performs scenario actions and reports their outcomes: the model, or the
/// host kernel. A backend value is one fresh process-like world; a scenario runs on a new
/// one and everything it created is released when the backend goes away.
public protocol ConformanceBackend: AnyObject {
    /// "model" or "kernel".
    var name: String { get }
    /// Performs `action` and returns its outcome.
    func perform(_ action: Action) -> Outcome
    /// Why this backend cannot run scenarios that need `requirement`, or nil when it can.
    func unavailableReason(for requirement: Scenario.Requirement) -> String?
}

/// The model as a backend: each action becomes a `ModelOperation` on a `ModelKernel`, with
/// names bound to the model's descriptors and addresses.
public final class ModelBackend: ConformanceBackend {
    public let name = "model"
    /// The model kernel as the scenario's actions left it.
    public private(set) var kernel: ModelKernel
    private var descriptors: [String: Int32] = [:]
    private var mappings: [String: UInt64] = [:]
    /// The model's VM id of each VM name, taken at creation.
    private var machines: [String: Int] = [:]
    /// The model's pin ids taken through each mapping name (`pin P`), until `unpin P`.
    private var pins: [String: [Int]] = [:]

    /// A descriptor number the model never hands out: what a closed or never-created name
    /// refers to, so using it gives `EBADF` as a stale fd does on the kernel.
    static let invalidDescriptor: Int32 = 1_000_000

    /// A fresh model backend.
    /// - Parameters:
    ///   - capabilities: What the modelled kernel supports (`ModelCapabilities.referenceHost` by default).
    ///   - policy: The lifetime design the model runs (upstream Linux by default).
    public init(capabilities: ModelCapabilities = .referenceHost, policy: Policy = .upstream) {
        kernel = ModelKernel(capabilities: capabilities, policy: policy)
    }

    public func unavailableReason(for requirement: Scenario.Requirement) -> String? { nil }

    /// Rebinding a name (a second `vm A`) forgets the old object without closing it, as
    /// reassigning a C variable does: it stays open, unreachable by name (both backends).

    private func fd(_ name: String) -> Int32 { descriptors[name] ?? Self.invalidDescriptor }

    private func address(_ expression: AddressExpression) -> UInt64 {
        switch expression {
        case .literal(let value): value
        case .mapping(let name, let offset): (mappings[name] ?? 0) &+ offset
        }
    }

    private func bind(_ name: String, _ outcome: ModelOutcome) -> Outcome {
        switch outcome {
        case .descriptor(let fd):
            descriptors[name] = fd
            return .ok
        case .address(let address):
            mappings[name] = address
            return .ok
        default:
            descriptors[name] = Self.invalidDescriptor
            return Self.translate(outcome)
        }
    }

    public func perform(_ action: Action) -> Outcome {
        let outcome = step(action)
        for machine in kernel.takeDestroyedVMs() {
            for name in namesOfMachine.removeValue(forKey: machine) ?? [] where machines[name] == machine {
                machines[name] = nil
            }
        }
        return outcome
    }

    /// VM names by the model VM id they named at creation (while that VM lives).
    private var namesOfMachine: [Int: [String]] = [:]

    private func step(_ action: Action) -> Outcome {
        switch action {
        case .createVM(let name, let type, let device):
            let result = device.map { kernel.createVM(type: type, deviceFD: fd($0)) } ?? kernel.createVM(type: type)
            let outcome = bind(name, Self.outcome(result, ModelOutcome.descriptor))
            machines[name] = kernel.machineID(of: fd(name))
            if let machine = machines[name] { namesOfMachine[machine, default: []].append(name) }
            return outcome
        case .openKVM(let name):
            return bind(name, Self.outcome(kernel.openKVMDevice(), ModelOutcome.descriptor))
        case .rawDescriptor(let name, let number):
            descriptors[name] = number
            return .ok
        case .stat(let name, let other):
            switch kernel.fileStatus(fd: fd(name)) {
            case .success(let status):
                var sameInode: Bool?
                if let other {
                    guard case .success(let second) = kernel.fileStatus(fd: fd(other)) else {
                        return .errno(ModelErrno.EBADF.rawValue)
                    }
                    sameInode = second.identity == status.identity
                }
                return .status(
                    StatusPattern(
                        type: FileType(mode: status.fileType), mode: status.mode, size: status.size,
                        blockSize: status.blockSize, closeOnExec: status.closeOnExec, sameInode: sameInode))
            case .failure(let errno): return .errno(errno.rawValue)
            }
        case .checkExtension(let of, let capability):
            switch kernel.checkExtension(fd: fd(of), capability: capability) {
            case .success(let value): return .value(UInt64(bitPattern: Int64(value)))
            case .failure(let errno): return .errno(errno.rawValue)
            }
        case .alive(let name):
            guard let id = machines[name] else { return .value(0) }
            return .value(kernel.vmExists(id) ? 1 : 0)
        case .limitDescriptors(let count):
            kernel.setDescriptorLimit(UInt64(ModelKernel.firstDescriptor) + UInt64(count))
            return .ok
        case .createVCPU(let name, let vm, let id):
            return bind(name, Self.outcome(kernel.createVCPU(vmFD: fd(vm), id: id), ModelOutcome.descriptor))
        case .createStats(let name, let of):
            return bind(name, kernel.apply(.createStatsFD(fd: fd(of))))
        case .createGuestMemfd(let name, let vm, let size, let flags, _):
            return bind(name, kernel.apply(.createGuestMemfd(vmFD: fd(vm), size: size, flags: flags)))
        case .createMemfd(let name, let size):
            return bind(name, Self.outcome(kernel.createMemfd(size: size, closeOnExec: true), ModelOutcome.descriptor))
        case .dup(let name, let of):
            return bind(name, Self.outcome(kernel.dup(fd(of), closeOnExec: true), ModelOutcome.descriptor))
        case .close(let name):
            let outcome = kernel.apply(.close(fd: fd(name)))
            descriptors[name] = Self.invalidDescriptor
            return Self.translate(outcome)
        case .setRegion(
            let vm, let version, let slot, let flags, let gpa, let size, let userspace, let file, let offset):
            let region = GmemRules.MemoryRegion(
                slot: slot, flags: flags, guestPhysicalAddress: gpa, memorySize: size,
                userspaceAddress: address(userspace), guestMemfdOffset: offset,
                guestMemfd: file.map { UInt32(bitPattern: fd($0)) } ?? 0)
            return Self.translate(
                kernel.apply(
                    version == 1
                        ? .setUserMemoryRegion(vmFD: fd(vm), region)
                        : .setUserMemoryRegion2(vmFD: fd(vm), region)))
        case .fallocate(let file, let mode, let offset, let length):
            return Self.translate(kernel.apply(.fallocate(fd: fd(file), mode: mode, offset: offset, length: length)))
        case .fileOperation(let file, let operation):
            return Self.translate(kernel.apply(.fileOperation(operation, fd: fd(file))))
        case .reopen(let name, let of):
            return bind(name, kernel.apply(.reopen(fd: fd(of))))
        case .mmap(let name, let file, let protection, let flags, let offset, let length):
            if kernel.mappingCount >= MemoryBudget.mappingLimit {
                return .budgetRefusal(MemoryBudget.mappingLimitRefusal(name))
            }
            let outcome = kernel.apply(
                .mmap(fd: fd(file), prot: protection, flags: flags, offset: offset, length: length))
            if case .address = outcome { return bind(name, outcome) }
            mappings[name] = 0
            return Self.translate(outcome)
        case .mapAnonymous(let name, let length, let protection):
            if kernel.mappingCount >= MemoryBudget.mappingLimit {
                return .budgetRefusal(MemoryBudget.mappingLimitRefusal(name))
            }
            let outcome = kernel.apply(.mapAnonymous(length: length, prot: protection))
            if case .address = outcome { return bind(name, outcome) }
            mappings[name] = 0
            return Self.translate(outcome)
        case .munmap(let mapping, let offset, let length):
            let call = ModelOperation.munmap(address: (mappings[mapping] ?? 0) &+ offset, length: length)
            if kernel.mappingCount >= MemoryBudget.mappingLimit {
                // At the limit, a munmap that would split a piece (MemoryBudget.mappingLimit) is refused.
                var trial = kernel
                let outcome = trial.apply(call)
                if trial.mappingCount > MemoryBudget.mappingLimit {
                    return .budgetRefusal(MemoryBudget.mappingLimitRefusal(mapping))
                }
                kernel = trial
                return Self.translate(outcome)
            }
            return Self.translate(kernel.apply(call))
        case .madvise(let mapping, let offset, let length, let advice):
            return Self.outcome(
                kernel.madvise(address: (mappings[mapping] ?? 0) &+ offset, length: length, advice: advice)
            ) { .ok }
        case .hostRead(let mapping, let offset, let width):
            switch kernel.hostRead(address: (mappings[mapping] ?? 0) &+ offset, width: UInt64(width.rawValue)) {
            case .success(let value): return .value(value)
            case .failure(let signal): return .signal(signal == .sigbus ? 7 : 11)
            }
        case .hostWrite(let mapping, let offset, let width, let value):
            switch kernel.hostWrite(
                address: (mappings[mapping] ?? 0) &+ offset, width: UInt64(width.rawValue), value: value)
            {
            case .success: return .ok
            case .failure(let signal): return .signal(signal == .sigbus ? 7 : 11)
            }
        case .setAttributes(let vm, let gpa, let size, let attributes, let flags):
            return Self.translate(
                kernel.apply(
                    .setMemoryAttributes(vmFD: fd(vm), address: gpa, size: size, attributes: attributes, flags: flags)))
        case .guestAccess(let via, let gpa, let write, let isPrivate):
            return Self.translate(
                kernel.apply(
                    .guestAccess(
                        fd: fd(via), guestPhysicalAddress: gpa,
                        write.map { .write($0) } ?? .read, isPrivate: isPrivate)))
        case .convert(let file, let offset, let size, let attributes, let flags):
            switch kernel.convert(fd: fd(file), offset: offset, size: size, attributes: attributes, flags: flags) {
            case .success: return .ok
            case .failure(let failure):
                return failure.errorOffset.map { .errnoAt(failure.errno.rawValue, errorOffset: $0) }
                    ?? .errno(failure.errno.rawValue)
            }
        case .link(let name, let file, let vm, let flags):
            return bind(name, kernel.apply(.link(vmFD: fd(vm), fd: fd(file), flags: flags)))
        case .pin(let mapping, let offset, let length):
            switch kernel.pin(address: (mappings[mapping] ?? 0) &+ offset, length: length) {
            case .success(let (id, bytes)):
                pins[mapping, default: []].append(id)
                return bytes == length ? .ok : .value(bytes)
            case .failure(let errno):
                return .errno(errno.rawValue)
            }
        case .unpin(let mapping):
            for id in pins.removeValue(forKey: mapping) ?? [] { _ = kernel.unpin(id) }
            return .ok
        }
    }

    static func outcome<T>(_ result: Result<T, ModelErrno>, _ success: (T) -> ModelOutcome) -> ModelOutcome {
        switch result {
        case .success(let value): success(value)
        case .failure(let error): .failed(error)
        }
    }

    static func outcome<T>(_ result: Result<T, ModelErrno>, _ success: (T) -> Outcome) -> Outcome {
        switch result {
        case .success(let value): success(value)
        case .failure(let error): .errno(error.rawValue)
        }
    }

    static func translate(_ outcome: ModelOutcome) -> Outcome {
        switch outcome {
        case .done, .descriptor, .address: .ok
        case .value(let value): .value(value)
        case .signal(let signal): .signal(signal == .sigbus ? 7 : 11)
        case .failed(let errno): .errno(errno.rawValue)
        case .guest(let guest):
            switch guest {
            case .value(let value): .value(value)
            case .written: .written
            case .memoryFault(let fault):
                .memoryFault(gpa: fault.guestPhysicalAddress, size: fault.size, flags: fault.flags)
            case .mmio: .mmio
            case .userspaceFault: .userspaceFault
            }
        }
    }
}
