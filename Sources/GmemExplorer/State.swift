import GmemModel

/// One state of the search: the modelled kernel plus what userspace knows about the objects it
/// created (their fds) and the ghost facts the invariants need (which VMs and files are gone).
///
/// Ids in the model are reused (lowest free first, like the kernel's allocators), so a VM or
/// file is followed by its creation index, and its death is recorded at the step it happens.
struct ExplorerState: Hashable, Sendable {
    struct VMRecord: Hashable, Sendable {
        /// The VM fd while it is open.
        var fd: Int32?
        /// The model's VM id (meaningful while `alive`).
        var machine: Int
        /// Whether the VM object still exists in the kernel.
        var alive = true
    }

    struct FileRecord: Hashable, Sendable {
        /// The file's fd while it is open.
        var fd: Int32?
        /// The model's open-file id (meaningful while `alive`).
        var id: Int
        /// The creation index of the VM it was created from.
        var creator: Int
        /// Whether the file still exists (fd, or under some designs a memslot, holds it).
        var alive = true
    }

    var kernel: ModelKernel
    var vms: [VMRecord] = []
    var files: [FileRecord] = []

    init(policy: Policy) {
        kernel = ModelKernel(capabilities: .referenceHost, policy: policy)
    }

    /// Every step userspace can take here: each names only objects whose fds are open.
    func steps(in universe: Universe) -> [ExplorerStep] {
        var steps: [ExplorerStep] = []
        let openVMs = vms.indices.filter { vms[$0].fd != nil }
        let openFiles = files.indices.filter { files[$0].fd != nil }
        if vms.count < universe.vms { steps.append(.createVM(vm: vms.count)) }
        if files.count < universe.files {
            for vm in openVMs { steps.append(.createFile(file: files.count, vm: vm)) }
        }
        for vm in openVMs {
            for slot in 0..<universe.slots {
                for file in openFiles { steps.append(.bind(vm: vm, slot: slot, file: file)) }
            }
        }
        for vm in openVMs {
            for slot in 0..<universe.slots {
                for page in 0..<universe.pagesPerFile {
                    steps.append(.guestWrite(vm: vm, slot: slot, page: page))
                    steps.append(.guestRead(vm: vm, slot: slot, page: page))
                }
            }
        }
        for vm in openVMs {
            for slot in 0..<universe.slots { steps.append(.deleteSlot(vm: vm, slot: slot)) }
        }
        for vm in openVMs { steps.append(.closeVM(vm: vm)) }
        for file in openFiles { steps.append(.closeFile(file: file)) }
        return steps
    }

    /// The model operation `step` is, in this state.
    func operation(for step: ExplorerStep, in universe: Universe) -> ModelOperation {
        switch step {
        case .createVM:
            return .createVM(type: GmemABI.VMType.default)
        case .createFile(_, let vm):
            return .createGuestMemfd(
                vmFD: vms[vm].fd!, size: universe.fileSize,
                flags: GmemABI.CreateFlag.mmap | GmemABI.CreateFlag.initShared)
        case .bind(let vm, let slot, let file):
            return .setUserMemoryRegion2(
                vmFD: vms[vm].fd!,
                GmemRules.MemoryRegion(
                    slot: UInt32(slot), flags: GmemABI.MemslotFlag.guestMemfd,
                    guestPhysicalAddress: universe.guestPhysicalAddress(slot: slot), memorySize: universe.fileSize,
                    userspaceAddress: 0, guestMemfdOffset: 0, guestMemfd: UInt32(files[file].fd!)))
        case .deleteSlot(let vm, let slot):
            return .setUserMemoryRegion2(
                vmFD: vms[vm].fd!,
                GmemRules.MemoryRegion(
                    slot: UInt32(slot), flags: 0, guestPhysicalAddress: universe.guestPhysicalAddress(slot: slot),
                    memorySize: 0, userspaceAddress: 0))
        case .closeVM(let vm):
            return .close(fd: vms[vm].fd!)
        case .closeFile(let file):
            return .close(fd: files[file].fd!)
        case .guestWrite(let vm, let slot, let page):
            return .guestAccess(
                fd: vms[vm].fd!, guestPhysicalAddress: universe.guestPhysicalAddress(slot: slot, page: page),
                .write(ExplorerStep.secret(ofVM: vm)), isPrivate: false)
        case .guestRead(let vm, let slot, let page):
            return .guestAccess(
                fd: vms[vm].fd!, guestPhysicalAddress: universe.guestPhysicalAddress(slot: slot, page: page),
                .read, isPrivate: false)
        }
    }

    /// Takes `step`: applies its operation to the model and updates the records.
    mutating func take(_ step: ExplorerStep, in universe: Universe) -> ModelOutcome {
        let outcome = kernel.apply(operation(for: step, in: universe))
        switch (step, outcome) {
        case (.createVM, .descriptor(let fd)):
            vms.append(VMRecord(fd: fd, machine: kernel.machineID(of: fd)!))
        case (.createFile(_, let vm), .descriptor(let fd)):
            files.append(FileRecord(fd: fd, id: kernel.guestMemfdID(of: fd)!, creator: vm))
        case (.closeVM(let vm), .done):
            vms[vm].fd = nil
        case (.closeFile(let file), .done):
            files[file].fd = nil
        default:
            break
        }
        // Record deaths now, before a later step can reuse an id.
        for index in vms.indices where vms[index].alive && !kernel.vmExists(vms[index].machine) {
            vms[index].alive = false
        }
        for index in files.indices where files[index].alive && kernel.contents(ofGuestMemfd: files[index].id) == nil {
            files[index].alive = false
        }
        return outcome
    }

    // MARK: Facts the invariants read

    /// The content of file `file` (creation index) while it is alive.
    func contents(ofFile file: Int) -> PageMap<UInt64>? {
        files[file].alive ? kernel.contents(ofGuestMemfd: files[file].id) : nil
    }

    /// How many pages of live files hold each VM's secret, by VM creation index.
    func secretPages() -> [Int] {
        var counts = [Int](repeating: 0, count: vms.count)
        for file in files.indices {
            guard let pages = contents(ofFile: file) else { continue }
            for extent in pages.extents {
                if let writer = ExplorerStep.writer(of: extent.value), writer < counts.count {
                    counts[writer] += Int(extent.end - extent.start)
                }
            }
        }
        return counts
    }
}
