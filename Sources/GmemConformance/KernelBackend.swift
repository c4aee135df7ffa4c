import CKVM
import GmemModel
@_spi(Unchecked) import KVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The host kernel as a backend: each action becomes the real syscall on real descriptors
/// and mappings, bound to the scenario's names. Host accesses that could raise a signal run
/// first by a probe in this process that catches the signal (GMEM-SPEC M3, M4); guest accesses
/// run a real vCPU at CPL3 (`GuestProbe`). Every step that could make the host allocate
/// memory is charged to a ``MemoryBudget`` first and refused before the syscall when it
/// would exceed it.
public final class KernelBackend: ConformanceBackend {
    public let name = "kernel"
    private let kvmFD: Int32
    private let runMappingSize: Int
    private let attributesSupported: Bool
    private let protectedVMSupported: Bool
    /// What the scenario may still make the host allocate.
    public private(set) var budget: MemoryBudget

    /// What a scenario name refers to.
    private final class Descriptor {
        enum Kind { case vm, vcpu, stats, guestMemfd, memfd, kvmDevice, standardStream, raw, other }
        var fd: Int32
        let kind: Kind
        /// guest_memfd size and flags, for the host-access safety check and the budget.
        let size: UInt64
        let flags: UInt64
        var vcpu: VCPU?
        let vcpuID: UInt32
        /// The guest probe of the VM this descriptor is a VM fd of (the VM's own or a dup):
        /// the probe's vCPU stays open while one of them is.
        var vmProbe: ProbeState?
        /// A raw name (`raw Z fd=N`) or the process's own fds 0–2: never closed by the backend.
        let borrowed: Bool
        init(fd: Int32, kind: Kind, size: UInt64 = 0, flags: UInt64 = 0, vcpuID: UInt32 = 0, borrowed: Bool = false) {
            self.fd = fd
            self.kind = kind
            self.size = size
            self.flags = flags
            self.vcpuID = vcpuID
            self.borrowed = borrowed
        }
        func close() {
            if fd != KernelBackend.invalidDescriptor, let vmProbe {
                vmProbe.openVMDescriptors -= 1
                // No VM fd is left to run a guest access through: the probe's vCPU goes, so
                // that it pins the VM no longer than the scenario's own descriptors (GMEM-SPEC L6).
                if vmProbe.openVMDescriptors == 0 { vmProbe.vcpu = nil }
            }
            if vcpu != nil { vcpu = nil } else if fd >= 0, !borrowed { _ = Glibc.close(fd) }
            fd = KernelBackend.invalidDescriptor
        }
    }

    private var descriptors: [String: Descriptor] = [:]
    /// Objects whose name was bound again: still open, as in the model, until the end.
    private var rebound: [Descriptor] = []
    private var mappings: [String: ArenaMapping] = [:]
    /// The pipes `pin P` filled (read and write ends), by mapping name, until `unpin P`.
    private var pinPipes: [String: [Int32]] = [:]
    private var reboundMappings: [ArenaMapping] = []
    /// Every window made and not released, by address: live ones (holding a mapped page) and
    /// retired ones (every page unmapped, still reserved until a new window reuses the range,
    /// so an access through a stale name stays a real access to gmem check's reservation).
    private var arenas: [ArenaMapping] = []
    /// The live pieces of the scenario's mappings (a mapping split by `munmap` counts one per
    /// piece, as the model's `ModelKernel.mappingCount`).
    private var livePieces = 0
    /// Whether a scenario vCPU has run (`guest C`): KVM_RUN writes its kvm_run page, which the
    /// model does not describe, so host accesses through vCPU mappings are no longer performed.
    private var scenarioVCPURan = false
    /// The bytes of a vCPU mapping KVM_RUN writes: the kvm_run page and the PIO data page.
    private static let runPagesWritten: UInt64 = 2 << 12
    /// Probes by VM name; a dup of a VM fd shares its VM's probe.
    private var probes: [String: ProbeState] = [:]
    /// Every probe made (kept until the backend goes: a rebound VM keeps its memslot).
    private var allProbes: [ProbeState] = []
    /// The probe of each VM, vCPU or dup name's VM (by object, so that binding a VM name
    /// again never hands the old VM's names the new VM's probe).
    private var probeOf: [String: ProbeState] = [:]
    /// KVM's debugfs folder of each VM name ("<tid>-<fd>" at creation) and its inode: a
    /// later VM on the same fd number gets the same folder name but a new inode.
    private var debugfsNames: [String: (folder: String, inode: UInt64)] = [:]
    /// The numbers of the descriptors gmem check itself holds (0–2 included), sorted, as
    /// found when the backend was described: the scenario's fds take the other numbers,
    /// lowest first, as the model's take 3, 4, ….
    private var ownDescriptors: [Int32]
    /// `RLIMIT_NOFILE` as found, restored when the backend goes (`limit fds=` changes it).
    private var originalLimit: rlimit?
    /// Pages already charged to the budget (object, page), so a page is charged once.
    private var chargedPages: Set<PageKey> = []

    private struct PageKey: Hashable {
        let object: ObjectIdentifier
        let page: UInt64
    }

    /// Page-table pages already charged, by address space (nil: this process's; a VM's
    /// probe: its guest's), level (the shift of the span one table page maps) and span.
    private var chargedTables: Set<TableKey> = []

    private struct TableKey: Hashable {
        let space: ObjectIdentifier?
        let shift: UInt8
        let span: UInt64
    }

    /// Per VM created: its probe memory, the probe's vCPU for accesses through a VM fd, and
    /// the vCPU ids and counts that keep the probe's vCPUs apart from the scenario's.
    ///
    /// One probe vCPU serves every access through the VM's fds (a vCPU is never freed before
    /// its VM, so one per access would run into `KVM_CAP_MAX_VCPUS` and the id space). It is
    /// made on the first such access with the highest id the scenario has not used, and kept
    /// while a VM fd of this VM is open; an access that ends in anything but a guest outcome
    /// (`unsupported`) retires it, and the next access makes a fresh one.
    private final class ProbeState {
        let probe: GuestProbe
        /// `KVM_CAP_MAX_VCPUS` and `KVM_CAP_MAX_VCPU_ID` of the VM.
        let maxVCPUs: Int
        let maxVCPUIDs: UInt32
        /// The probe's current vCPU (nil before the first access through a VM fd, after a
        /// retirement, and once no VM fd of this VM is open).
        var vcpu: VCPU?
        /// Every id a probe vCPU of this VM took (each still counts in the VM's vCPUs).
        var probeIDs: Set<UInt32> = []
        /// The ids of the vCPUs the scenario created on this VM.
        var scenarioIDs: Set<UInt32> = []
        /// The VM's own descriptor and its dups that are open.
        var openVMDescriptors = 1
        init(probe: GuestProbe, vmFD: Int32) {
            self.probe = probe
            let count = ckvm_check_extension(vmFD, 66)  // KVM_CAP_MAX_VCPUS
            maxVCPUs = count > 0 ? Int(count) : 1024
            let ids = ckvm_check_extension(vmFD, 128)  // KVM_CAP_MAX_VCPU_ID
            maxVCPUIDs = ids > 0 ? UInt32(clamping: ids) : GmemABI.maxVCPUIDs
        }

        /// The id for a new probe vCPU: the highest one no vCPU of this VM has, if any.
        func freeID() -> UInt32? {
            var id = Int64(maxVCPUIDs) - 1
            while id >= 0, scenarioIDs.contains(UInt32(id)) || probeIDs.contains(UInt32(id)) { id -= 1 }
            return id >= 0 ? UInt32(id) : nil
        }
    }

    static let invalidDescriptor: Int32 = 1_000_000

    /// The inode recorded for a VM that KVM gave no debugfs folder (never a real inode).
    static let noFolder: UInt64 = 0

    static func debugfsFolder(creator: Int32, fd: Int32) -> String { "/sys/kernel/debug/kvm/\(creator)-\(fd)" }

    /// `KVM_CREATE_VM` from a thread for which KVM can make the VM's debugfs folder.
    ///
    /// KVM names the folder "<creating thread's id>-<fd>" and makes none when that name is
    /// taken (pr_warn "duplicate directory"): the case when the fd number was a VM's that is
    /// still alive (pinned by a guest_memfd or vCPU after its own fd closed). Then `alive`
    /// would read the old VM's folder. The VM gets the same fd number on any thread (the fd
    /// table is the process's), so when the folder this thread would name exists, the VM is
    /// created from a fresh thread, whose id names a free folder; `creator` is the thread used.
    static func createVMWithOwnFolder(deviceFD: Int32, type: UInt64, creator: inout Int32) throws(KVMError) -> Int32 {
        guard debugfsAvailable, case let next = lowestFreeDescriptor(), next >= 0,
            HostCall.exists(debugfsFolder(creator: creator, fd: next))
        else {
            return try UncheckedKVM.createVM(kvmFD: deviceFD, type: type)
        }
        for _ in 0..<4 {
            let box = ThreadResult()
            // SAFETY: one retain for the thread, taken back exactly once: by the thread
            // (takeRetainedValue) or, when it never starts, by the release below.
            let context = unsafe Unmanaged.passRetained(box).toOpaque()
            box.next = next
            box.deviceFD = deviceFD
            box.type = type
            var thread = pthread_t()
            // SAFETY: `thread` is a local the call fills; `context` is the retained box above,
            // which the thread takes back; the box outlives the join below.
            let started = unsafe pthread_create(
                &thread, nil,
                { context in
                    // SAFETY: `context` is the box retained for this thread, taken back once here.
                    let box = unsafe Unmanaged<ThreadResult>.fromOpaque(context!).takeRetainedValue()
                    box.creator = UncheckedKVM.currentThreadID()
                    // A thread id can name a folder too (a VM created by an earlier thread of that id).
                    if HostCall.exists(KernelBackend.debugfsFolder(creator: box.creator, fd: box.next)) { return nil }
                    do throws(KVMError) {
                        box.result = .success(try UncheckedKVM.createVM(kvmFD: box.deviceFD, type: box.type))
                    } catch { box.result = .failure(error) }
                    return nil
                }, unsafe context)  // SAFETY: the box retained above, which the thread takes back.
            guard started == 0 else {
                // SAFETY: the thread never started, so the retain for it is still ours to drop.
                unsafe Unmanaged<ThreadResult>.fromOpaque(context).release()
                break
            }
            pthread_join(thread, nil)
            switch box.result {
            case .success(let fd)?:
                creator = box.creator
                return fd
            case .failure(let error)?: throw error
            case nil: continue
            }
        }
        return try UncheckedKVM.createVM(kvmFD: deviceFD, type: type)
    }

    /// What ``createVMWithOwnFolder(deviceFD:type:creator:)``'s thread did.
    private final class ThreadResult: @unchecked Sendable {
        var next: Int32 = 0
        var deviceFD: Int32 = 0
        var type: UInt64 = 0
        var creator: Int32 = 0
        var result: Result<Int32, KVMError>?
    }

    /// The fd number the next descriptor gets (`F_DUPFD` from 0 of a descriptor always
    /// open: the lowest free number), or -1.
    static func lowestFreeDescriptor() -> Int32 {
        let probe = fcntl(2, F_DUPFD, 0)
        if probe >= 0 { Glibc.close(probe) }
        return probe
    }

    /// Whether KVM's debugfs can be read; mounts it once when missing and permitted (root).
    static let debugfsAvailable: Bool = {
        if HostCall.exists("/sys/kernel/debug/kvm") { return true }
        HostCall.mountDebugfs()
        return HostCall.exists("/sys/kernel/debug/kvm")
    }()

    /// Opens /dev/kvm; fails when KVM is not usable here.
    /// - Parameter budget: How much host memory the scenario may make the kernel allocate.
    /// - Throws: `KVMError` when /dev/kvm cannot be opened or `KVM_GET_VCPU_MMAP_SIZE` fails.
    public init(budget: MemoryBudget = MemoryBudget()) throws(KVMError) {
        self.budget = budget
        kvmFD = try UncheckedKVM.openDevice()
        do {
            runMappingSize = try UncheckedKVM.vcpuMmapSize(kvmFD: kvmFD)
        } catch {
            Glibc.close(kvmFD)
            throw error
        }
        attributesSupported = ckvmCheck(kvmFD, .memoryAttributes) & 8 != 0
        ownDescriptors = Self.openDescriptors()
        protectedVMSupported = ckvmCheck(kvmFD, .vmTypes) & 2 != 0
    }

    deinit {
        // vCPUs and descriptors first, then probe memory, then /dev/kvm.
        for state in allProbes { state.vcpu = nil }
        for descriptor in descriptors.values { descriptor.close() }
        for descriptor in rebound { descriptor.close() }
        for pipe in pinPipes.values.joined() { Glibc.close(pipe) }
        probes.removeAll()
        probeOf.removeAll()
        allProbes.removeAll()
        mappings.removeAll()
        reboundMappings.removeAll()
        Glibc.close(kvmFD)
        if let limit = originalLimit { HostCall.setDescriptorLimit(limit) }
    }

    /// What this backend's process looks like to the model: its fd limit net of the fds
    /// gmem check itself holds, the vCPU mapping size and `KVM_CHECK_EXTENSION`'s answers.
    public func describe(into capabilities: inout ModelCapabilities) {
        let limit = (try? HostCall.descriptorLimit().get()) ?? rlimit()
        ownDescriptors = Self.openDescriptors()
        // The model's fds 3, 4, … are the numbers below the soft limit that gmem check does
        // not hold (its own may have holes, or lie above the limit: inherited ones).
        let soft = UInt64(limit.rlim_cur)
        let below = UInt64(ownDescriptors.count { $0 >= 0 && UInt64($0) < soft })
        capabilities.descriptorLimit = 3 + (soft > below ? soft - below : 0)
        capabilities.vcpuMappingSize = UInt64(runMappingSize)
        Self.apply(Self.extensionTable, to: &capabilities)
        capabilities.executeOnlyMappings = Self.cpuHasProtectionKeys
        if case .success(let device) = HostCall.status(ofPath: "/dev/kvm") {
            capabilities.kvmDeviceMode = UInt32(device.st_mode & 0o7777)
        }
    }

    /// `KVM_CHECK_EXTENSION` of every capability number up to 255 on /dev/kvm and on a
    /// default VM of this kernel (measured once per process).
    static let extensionTable: ExtensionTable = {
        guard let kvm = try? UncheckedKVM.openDevice() else { return ExtensionTable() }
        defer { Glibc.close(kvm) }
        var table = ExtensionTable()
        for capability in 0..<UInt64(256) {
            let value = ckvm_check_extension(kvm, Int(capability))
            if value != 0 { table.system[capability] = value }
        }
        if let vm = try? UncheckedKVM.createVM(kvmFD: kvm, type: 0) {
            for capability in 0..<UInt64(256) {
                let value = ckvm_check_extension(vm, Int(capability))
                if value != 0 { table.vm[capability] = value }
            }
            Glibc.close(vm)
        }
        return table
    }()

    /// Whether the CPU has protection keys (`pku` in /proc/cpuinfo): PROT_EXEC alone is then execute-only.
    static let cpuHasProtectionKeys: Bool = {
        guard let text = MemoryCgroup.read("/proc/cpuinfo") else { return false }
        return text.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").contains("pku")
            ?? false
    }()

    /// Sets the capabilities the model derives from `KVM_CHECK_EXTENSION` answers.
    static func apply(_ table: ExtensionTable, to capabilities: inout ModelCapabilities) {
        capabilities.extensions = table
        if let ids = table.system[128], ids > 0 { capabilities.maxVCPUIDs = UInt32(ids) }
        if let count = table.vm[66] ?? table.system[66], count > 0 { capabilities.maxVCPUs = UInt32(count) }
        capabilities.addressSpaces = UInt32(max(1, table.vm[118] ?? 0))
        capabilities.executeOnlyMappings = cpuHasProtectionKeys
        // In-place conversion and linking (GMEM-SPEC V9, V10): what this kernel reports.
        let conversion = UInt64(max(0, table.system[GmemABI.Next.guestMemfdMemoryAttributesCapability] ?? 0))
        capabilities.guestMemfdAttributes = conversion & GmemABI.MemoryAttribute.private
        if capabilities.guestMemfdAttributes != 0 { capabilities.memoryAttributes = 0 }
        capabilities.guestMemfdLink = linkAvailable
    }

    /// The descriptor numbers open in this process, sorted (0–2 when /proc is not readable).
    static func openDescriptors() -> [Int32] { HostCall.openDescriptors() ?? [0, 1, 2] }

    /// The soft `RLIMIT_NOFILE` below which exactly `count` numbers are not in `own` (sorted),
    /// the largest such: the next number not in `own` (so never 0, which would make
    /// `F_DUPFD` from 0 `EINVAL` rather than `EMFILE`).
    static func softLimit(allowing count: UInt64, besides own: [Int32]) -> UInt64 {
        var soft = count
        for fd in own where fd >= 0 {
            guard UInt64(fd) <= soft else { break }
            soft += 1
        }
        return soft
    }

    public func unavailableReason(for requirement: Scenario.Requirement) -> String? {
        switch requirement {
        case .memoryAttributes:
            attributesSupported
                ? nil : "this kernel has no KVM_MEMORY_ATTRIBUTE_PRIVATE (KVM_CAP_MEMORY_ATTRIBUTES = 0)"
        case .protectedVM:
            protectedVMSupported ? nil : "this kernel offers no KVM_X86_SW_PROTECTED_VM (KVM_CAP_VM_TYPES)"
        case .debugfs:
            Self.debugfsAvailable
                ? nil
                : "KVM's debugfs (/sys/kernel/debug/kvm) is not mounted and cannot be: VM lifetime is not observable"
        case .guestMemfdAttributes:
            ckvm_check_extension(kvmFD, Int(GmemABI.Next.guestMemfdMemoryAttributesCapability)) & 8 != 0
                ? nil
                : "this kernel has no in-place conversion on guest_memfd (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES = 0)"
        case .guestMemfdLink:
            Self.linkAvailable ? nil : "this kernel has no KVM_LINK_GUEST_MEMFD (the VM ioctl answers ENOTTY)"
        }
    }

    /// Whether anything of this process is mapped in `[start, end)` (/proc/self/maps).
    static func processMapsAnything(_ start: UInt64, _ end: UInt64) -> Bool {
        guard let text = MemoryCgroup.read("/proc/self/maps") else { return true }
        for line in text.split(separator: "\n") {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let low = UInt64(range[0], radix: 16), let high = UInt64(range[1], radix: 16) else {
                return true
            }
            if low < end && start < high { return true }
        }
        return false
    }

    /// Whether `KVM_LINK_GUEST_MEMFD` exists: the ioctl with fd -1 on a fresh VM answers
    /// `EINVAL` (bad source) where it exists and `ENOTTY` where it does not.
    static let linkAvailable: Bool = {
        guard let kvm = try? UncheckedKVM.openDevice() else { return false }
        defer { Glibc.close(kvm) }
        guard let vm = try? UncheckedKVM.createVM(kvmFD: kvm, type: 0) else { return false }
        defer { Glibc.close(vm) }
        return ckvm_link_guest_memfd(vm, -1, 0) != -ENOTTY
    }()

    private func fd(_ name: String) -> Int32 { descriptors[name]?.fd ?? Self.invalidDescriptor }

    private func outcome(_ body: () throws(KVMError) -> Void) -> Outcome {
        do {
            try body()
            return .ok
        } catch {
            return .errno(error.errno.rawValue)
        }
    }

    /// Binds `name` to what `body` creates; an object the name held before stays open.
    private func create(
        _ name: String, kind: Descriptor.Kind, size: UInt64 = 0, flags: UInt64 = 0, vcpuID: UInt32 = 0,
        _ body: () throws(KVMError) -> Int32
    ) -> Outcome {
        // The operands are read before the name is bound again (as `fd = dup(fd)` in C).
        let result: Result<Int32, KVMError>
        do { result = .success(try body()) } catch { result = .failure(error) }
        if let old = descriptors.removeValue(forKey: name) { rebound.append(old) }
        switch result {
        case .success(let fd):
            descriptors[name] = Descriptor(fd: fd, kind: kind, size: size, flags: flags, vcpuID: vcpuID)
            return .ok
        case .failure(let error):
            descriptors[name] = Descriptor(fd: Self.invalidDescriptor, kind: kind)
            return .errno(error.errno.rawValue)
        }
    }

    /// The refusal of a KVM ioctl aimed at one of gmem check's own standard streams: its answer
    /// is the stream's (stdin may be /dev/kvm, a VM or a guest_memfd inherited from the shell),
    /// which the model cannot know, so the result of a check would depend on the redirection.
    /// A memslot naming fd 0 as its guest_memfd stays: only a guest_memfd of this VM could be
    /// accepted there, and no such file is inherited.
    private func ioctlOnStandardStream(_ action: Action) -> Outcome? {
        switch action {
        case .createVM(_, _, let device): standardStream(device, "KVM_CREATE_VM")
        case .checkExtension(let of, _): standardStream(of, "KVM_CHECK_EXTENSION")
        case .createVCPU(_, let vm, _): standardStream(vm, "KVM_CREATE_VCPU")
        case .createStats(_, let of): standardStream(of, "KVM_GET_STATS_FD")
        case .createGuestMemfd(_, let vm, _, _, _): standardStream(vm, "KVM_CREATE_GUEST_MEMFD")
        case .setRegion(let vm, _, _, _, _, _, _, _, _): standardStream(vm, "KVM_SET_USER_MEMORY_REGION")
        case .setAttributes(let vm, _, _, _, _): standardStream(vm, "KVM_SET_MEMORY_ATTRIBUTES")
        case .guestAccess(let via, _, _, _): standardStream(via, "KVM_RUN")
        case .link(_, let file, let vm, _):
            standardStream(vm, "KVM_LINK_GUEST_MEMFD") ?? standardStream(file, "KVM_LINK_GUEST_MEMFD")
        case .convert(let file, _, _, _, _): standardStream(file, "KVM_SET_MEMORY_ATTRIBUTES2")
        default: nil
        }
    }

    /// The reason an action on one of gmem check's own standard streams is not performed.
    private func standardStream(_ name: String?, _ what: String) -> Outcome? {
        guard let name, let descriptor = descriptors[name], descriptor.kind == .standardStream else { return nil }
        return .unsupported(
            "\(name) is gmem check's own fd \(descriptor.fd) (a standard stream): \(what) on it depends on what the stream is, and may block or change it"
        )
    }

    /// Makes the probe vCPU of `state`'s VM (through `vmFD`, one of its VM fds); nil when
    /// made, else the reason it cannot be.
    private func makeProbeVCPU(_ state: ProbeState, vmFD: Int32) -> Outcome? {
        guard let id = state.freeID() else {
            return .unsupported(
                "the guest probe has no vCPU id left: the scenario and the probe hold all \(state.maxVCPUIDs)")
        }
        if let refusal = charge(MemoryBudget.perVCPU, for: "a probe vCPU") { return refusal }
        do {
            // The probe's own descriptor is not the scenario's: made at the hard fd limit and
            // moved above every number a `limit fds=` can reach (as the pin pipes are), so the
            // scenario's fd numbers and count stay the model's.
            let placed = try withFullDescriptorLimit { (scenarioLimit) throws(KVMError) -> Int32? in
                movedHigh(try UncheckedKVM.createVCPU(vmFD: vmFD, id: id), above: scenarioLimit)
            }
            guard let fd = placed else { return .unsupported("a probe vCPU: \(Self.noHighDescriptor)") }
            state.probeIDs.insert(id)
            state.vcpu = try UncheckedKVM.adoptVCPU(fd: fd, id: id, runMappingSize: runMappingSize)
        } catch {
            if error.operation == .createVCPU, error.errno == .invalidArgument,
                state.scenarioIDs.count + state.probeIDs.count >= state.maxVCPUs
            {
                return .unsupported(
                    "cannot create a probe vCPU: the VM already holds \(state.scenarioIDs.count + state.probeIDs.count) vCPUs, KVM's limit per VM (KVM_CAP_MAX_VCPUS = \(state.maxVCPUs))"
                )
            }
            return .unsupported("cannot create a probe vCPU: \(error)")
        }
        return nil
    }

    /// The lowest fd number for a descriptor of gmem check's own made during a scenario:
    /// above every number a `limit fds=` lets the scenario reach.
    /// Under a hard `RLIMIT_NOFILE` at or below that (`prlimit --nofile=1024:1024`), the top 64
    /// numbers below the hard limit instead; a `limit fds=` that would reach them is refused.
    private var highDescriptorBase: Int32 {
        let above = Int32(clamping: ownDescriptors.count + 3 + Int(Action.maximumDescriptorLimit) + 64)
        guard case .success(let limit) = HostCall.descriptorLimit() else { return above }
        return max(0, min(above, Int32(clamping: limit.rlim_max) - 64))
    }

    /// Why a descriptor of gmem check's own could not be kept out of the scenario's numbers.
    static let noHighDescriptor =
        "RLIMIT_NOFILE's hard limit leaves gmem check no descriptor number above the scenario's fd limit for its own descriptor (raise it: ulimit -Hn)"

    /// `fd`, a descriptor of gmem check's own, moved to a number at or above ``highDescriptorBase``
    /// (and, under a `limit fds=`, at or above `scenarioLimit`, the soft limit the scenario runs
    /// under), so that it takes none of the scenario's numbers; nil, with `fd` closed, when the
    /// hard limit leaves no such number. Before, a failed move kept the low number, and the
    /// scenario's next descriptor diverged from the model's (EMFILE, or another fd number).
    private func movedHigh(_ fd: Int32, above scenarioLimit: rlim_t) -> Int32? {
        let base = highDescriptorBase
        let high = base >= Int32(clamping: ownDescriptors.count + 3 + 64) ? fcntl(fd, F_DUPFD_CLOEXEC, base) : -1
        Glibc.close(fd)
        guard high >= 0 else { return nil }
        guard originalLimit == nil || rlim_t(high) >= scenarioLimit else {
            Glibc.close(high)
            return nil
        }
        return high
    }

    /// Runs `body` with `RLIMIT_NOFILE` at its hard limit, for a descriptor of gmem check's
    /// own; `body` is given the soft limit the scenario runs under.
    private func withFullDescriptorLimit<T, E: Error>(_ body: (rlim_t) throws(E) -> T) throws(E) -> T {
        guard case .success(let scenario) = HostCall.descriptorLimit() else { return try body(0) }
        var full = scenario
        full.rlim_cur = full.rlim_max
        HostCall.setDescriptorLimit(full)
        defer { HostCall.setDescriptorLimit(scenario) }
        return try body(scenario.rlim_cur)
    }

    private func charge(_ bytes: UInt64, for what: String) -> Outcome? {
        if budget.charge(bytes) { return nil }
        return .budgetRefusal(
            "\(what) could make the host allocate \(MemoryBudget.text(bytes)); \(MemoryBudget.text(budget.remaining)) of the \(MemoryBudget.text(budget.limit)) budget is left"
        )
    }

    /// Charges the pages `[first, last]` of `object` not charged yet.
    private func chargePages(_ object: AnyObject, _ first: UInt64, _ last: UInt64, for what: String) -> Outcome? {
        // Every page of the range counts (a 64 KiB pin faults in 16 pages); the walk stops as
        // soon as the fresh pages alone exceed what is left, so it is bounded by the budget.
        var fresh: [PageKey] = []
        var page = first
        while page <= last {
            let key = PageKey(object: ObjectIdentifier(object), page: page)
            if !chargedPages.contains(key) {
                fresh.append(key)
                if UInt64(fresh.count) * 4096 > budget.remaining { break }
            }
            if page == last { break }
            page += 1
        }
        if let refusal = charge(UInt64(fresh.count) * 4096, for: what) { return refusal }
        chargedPages.formUnion(fresh)
        return nil
    }

    /// Where the model places a new mapping of `rounded` bytes: `ModelKernel.firstFit`
    /// over the live windows, which are the model's (a window goes when its last page is
    /// unmapped, on both backends); when nothing fits (the model's `ENOMEM`), past the last
    /// live window, where the real call gives the kernel's answer.
    private func placement(_ rounded: UInt64) -> UInt64 {
        let live = arenas.lazy.filter(\.isLive)
        let windows = live.map { ($0.address, $0.address + $0.arenaLength) }
        return ModelKernel.firstFit(length: rounded, windows: windows, limit: 0x7FFF_FFFF_F000)
            ?? live.map { $0.address + $0.arenaLength }.max() ?? ModelKernel.mappingBase
    }

    /// Releases the retired windows meeting `[start, end)`, where a new window goes: the
    /// range is then really free in this process (the new window's `MAP_FIXED_NOREPLACE`
    /// checks it), and the stale ArenaMapping objects never unmap it again.
    /// The parts of the released windows outside `[start, end)` are reserved again at once
    /// (as retired windows of their own), so a stale name's access there stays a real access
    /// to gmem check's reservation (SIGSEGV); the ranges released, for ``restoreRetired(_:)``.
    private func releaseRetired(_ start: UInt64, _ end: UInt64) -> [(UInt64, UInt64)] {
        var released: [(UInt64, UInt64)] = []
        arenas.removeAll { arena in
            guard !arena.isLive, arena.address < end, start < arena.address + arena.arenaLength else { return false }
            arena.release()
            released.append((max(arena.address, start), min(arena.address + arena.arenaLength, end)))
            if arena.address < start { reserveRetired(arena.address, start, inserting: false) }
            if arena.address + arena.arenaLength > end {
                reserveRetired(end, arena.address + arena.arenaLength, inserting: false)
            }
            return true
        }
        pendingRetired.forEach(insertSorted)
        pendingRetired = []
        return released
    }

    /// Reserves the ranges `releaseRetired` gave back again, when no window went there.
    private func restoreRetired(_ ranges: [(UInt64, UInt64)]) {
        for (low, high) in ranges { reserveRetired(low, high, inserting: true) }
    }

    private var pendingRetired: [ArenaMapping] = []

    private func reserveRetired(_ low: UInt64, _ high: UInt64, inserting: Bool) {
        guard low < high, let filler = ArenaMapping.retired(at: low, length: high - low) else { return }
        if inserting { insertSorted(filler) } else { pendingRetired.append(filler) }
    }

    private func insertSorted(_ arena: ArenaMapping) {
        var low = 0
        var high = arenas.count
        while low < high {
            let mid = (low + high) / 2
            if arenas[mid].address < arena.address { low = mid + 1 } else { high = mid }
        }
        arenas.insert(arena, at: low)
    }

    private func insertArena(_ arena: ArenaMapping) {
        insertSorted(arena)
        livePieces += 1
    }

    /// The refusal of one more live mapping piece past ``MemoryBudget/mappingLimit``.
    private func mappingLimitRefusal(_ name: String) -> Outcome? {
        livePieces < MemoryBudget.mappingLimit ? nil : .budgetRefusal(MemoryBudget.mappingLimitRefusal(name))
    }

    /// The refusal of a mapping of `length` bytes the model places where its window (the
    /// mapping and its guard) would end past ``MemoryBudget/mappingAreaEnd``: above it lie gmem
    /// check's own binary, heap and libraries, which `MAP_FIXED_NOREPLACE` would meet
    /// (`EEXIST`, an errno `mmap(NULL, …)` never returns). Nil for a length the model refuses
    /// itself (zero, or past the end of user space: the real call gives the kernel's errno).
    private func placementRefusal(_ name: String, length: UInt64, at nextArena: UInt64) -> Outcome? {
        let rounded = (length &+ 4095) & ~4095
        guard length != 0, rounded != 0 else { return nil }
        let (end, overflow) = nextArena.addingReportingOverflow(rounded)
        if overflow || end > 0x7FFF_FFFF_F000 { return nil }
        let (windowEnd, windowOverflow) = end.addingReportingOverflow(ModelKernel.mappingGuard)
        guard windowOverflow || windowEnd > MemoryBudget.mappingAreaEnd else { return nil }
        return .budgetRefusal(
            "\(name) (\(MemoryBudget.text(rounded))) would be placed at \(hexOrDecimal(nextArena)) and end past \(MemoryBudget.text(MemoryBudget.mappingAreaEnd)), the end of the address range gmem check keeps for scenario mappings (its own memory lies above)"
        )
    }

    /// A placement that met memory of gmem check's own (`EEXIST` from `MAP_FIXED_NOREPLACE`):
    /// a step the backend cannot perform, not the kernel's answer to the scenario's `mmap`.
    private func unplaceable(_ name: String, _ error: SystemErrno, at nextArena: UInt64) -> Outcome? {
        guard error.code == EEXIST else { return nil }
        return .unsupported(
            "the model places \(name) at \(hexOrDecimal(nextArena)), where gmem check's own memory lies")
    }

    /// Charges the page-table pages that touching `[first, last]` of an address space can make
    /// the host allocate, once per space and span, never given back (a munmap may free them,
    /// a later touch may allocate them again, but only where this charged them once: the
    /// spans charged bound the tables live at any time).
    ///
    /// On x86-64 a 4 KiB PTE page maps 2 MiB, a PMD page 1 GiB, a PUD page 512 GiB and (with
    /// 5-level paging) a P4D page 256 TiB. A touch of one byte in a fresh 2 MiB span allocates
    /// a PTE page the page charge misses: 65,000 one-byte writes 2 MiB apart charged 254 MiB of
    /// pages but made the host allocate 228 MB of PTE pages as well (the probe's oom/pte.gmem,
    /// OOM-killed in its cgroup at the default budget). `copies` counts the tables one touch
    /// can fill in more than one space: a guest access fills the VM's EPT (or shadow) tables
    /// and, through a memslot's `userspace_addr`, the host's for the same memory.
    private func chargeTables(
        _ space: AnyObject?, _ first: UInt64, _ last: UInt64, copies: UInt64 = 1, for what: String
    ) -> Outcome? {
        let id = space.map(ObjectIdentifier.init)
        var fresh: [TableKey] = []
        for shift in [21, 30, 39, 48] as [UInt8] {
            var span = first >> UInt64(shift)
            while span <= last >> UInt64(shift) {
                let key = TableKey(space: id, shift: shift, span: span)
                if !chargedTables.contains(key) {
                    fresh.append(key)
                    if UInt64(fresh.count) * 4096 * copies > budget.remaining { break }
                }
                if span == last >> UInt64(shift) { break }
                span += 1
            }
            if UInt64(fresh.count) * 4096 * copies > budget.remaining { break }
        }
        if let refusal = charge(UInt64(fresh.count) * 4096 * copies, for: what + " (its page tables)") {
            return refusal
        }
        chargedTables.formUnion(fresh)
        return nil
    }

    public func perform(_ action: Action) -> Outcome {
        if let refusal = ioctlOnStandardStream(action) { return refusal }
        switch action {
        case .createVM(let name, let type, let device):
            if let refusal = charge(MemoryBudget.perVM, for: "a VM") { return refusal }
            let deviceFD = device.map { fd($0) } ?? kvmFD
            var creator = UncheckedKVM.currentThreadID()
            let result = create(name, kind: .vm) { () throws(KVMError) in
                try Self.createVMWithOwnFolder(deviceFD: deviceFD, type: type, creator: &creator)
            }
            debugfsNames[name] = nil
            if result == .ok {
                let folder = Self.debugfsFolder(creator: creator, fd: fd(name))
                if KernelBackend.debugfsAvailable, case .success(let status) = HostCall.status(ofPath: folder),
                    !debugfsNames.values.contains(where: { $0.folder == folder && $0.inode == UInt64(status.st_ino) })
                {
                    debugfsNames[name] = (folder, UInt64(status.st_ino))
                } else if KernelBackend.debugfsAvailable {
                    debugfsNames[name] = (folder, Self.noFolder)
                }
                do {
                    let state = ProbeState(probe: try GuestProbe(vmFD: fd(name)), vmFD: fd(name))
                    descriptors[name]?.vmProbe = state
                    probes[name] = state
                    allProbes.append(state)
                    probeOf[name] = state
                } catch {
                    return .unsupported("cannot set up the guest probe: \(error)")
                }
            }
            return result
        case .openKVM(let name):
            return create(name, kind: .kvmDevice) { () throws(KVMError) in try UncheckedKVM.openDevice() }
        case .rawDescriptor(let name, let number):
            if let old = descriptors.removeValue(forKey: name) { rebound.append(old) }
            descriptors[name] = Descriptor(
                fd: number, kind: (0...2).contains(number) ? .standardStream : .raw, borrowed: true)
            return .ok
        case .stat(let name, let other):
            if let refusal = standardStream(name, "fstat") ?? standardStream(other, "fstat") { return refusal }
            let fd = fd(name)
            let status: Glibc.stat
            switch HostCall.status(ofDescriptor: fd) {
            case .success(let value): status = value
            case .failure(let error): return .errno(error.code)
            }
            let flags = fcntl(fd, F_GETFD)
            var sameInode: Bool?
            if let other {
                let second: Glibc.stat
                switch HostCall.status(ofDescriptor: self.fd(other)) {
                case .success(let value): second = value
                case .failure(let error): return .errno(error.code)
                }
                sameInode = second.st_dev == status.st_dev && second.st_ino == status.st_ino
            }
            return .status(
                StatusPattern(
                    type: FileType(mode: UInt32(status.st_mode)), mode: UInt32(status.st_mode & 0o7777),
                    size: UInt64(bitPattern: Int64(status.st_size)),
                    blockSize: UInt64(bitPattern: Int64(status.st_blksize)),
                    closeOnExec: flags & FD_CLOEXEC != 0, sameInode: sameInode))
        case .checkExtension(let of, let capability):
            // The ioctl takes an unsigned long; the C wrapper a long of the same bits.
            let result = ckvm_check_extension(fd(of), Int(bitPattern: UInt(capability)))
            return result < 0 ? .errno(-result) : .value(UInt64(bitPattern: Int64(result)))
        case .limitDescriptors(let count):
            var limit: rlimit
            switch HostCall.descriptorLimit() {
            case .success(let value): limit = value
            case .failure(let error): return .errno(error.code)
            }
            let soft = Self.softLimit(allowing: UInt64(count), besides: ownDescriptors)
            // The numbers from highDescriptorBase up are for gmem check's own descriptors made
            // during the scenario (pin pipes, the probe vCPU): a soft limit above them would
            // count those against the scenario.
            guard soft <= UInt64(limit.rlim_max), soft <= UInt64(highDescriptorBase) else {
                return .unsupported(
                    "limit fds=\(count) needs RLIMIT_NOFILE \(soft) (gmem check holds \(ownDescriptors.count) descriptors of its own, and keeps the 64 numbers below the hard limit for those it makes); the hard limit is \(limit.rlim_max)"
                )
            }
            if originalLimit == nil { originalLimit = limit }
            limit.rlim_cur = rlim_t(soft)
            let code = HostCall.setDescriptorLimit(limit)
            return code == 0 ? .ok : .errno(code)
        case .alive(let name):
            guard KernelBackend.debugfsAvailable else {
                return .unsupported(
                    "KVM's debugfs (/sys/kernel/debug/kvm) is not mounted: VM lifetime is not observable (requires=debugfs skips instead)"
                )
            }
            guard let entry = debugfsNames[name] else { return .value(0) }
            if entry.inode == Self.noFolder {
                return .unsupported(
                    "KVM gave this VM no debugfs folder of its own (\(entry.folder) was taken): its lifetime is not observable"
                )
            }
            // VM destruction can trail the last close by a moment (deferred fput): give it a
            // few milliseconds before answering "alive".
            for _ in 0..<25 {
                guard case .success(let status) = HostCall.status(ofPath: entry.folder),
                    UInt64(status.st_ino) == entry.inode
                else { return .value(0) }
                usleep(2_000)
            }
            return .value(1)
        case .createVCPU(let name, let vm, let id):
            // The probe of the VM behind `vm` (nil when `vm` is no VM fd: the kernel refuses).
            let state = descriptors[vm]?.vmProbe
            if let state, id <= UInt64(UInt32.max), state.probeIDs.contains(UInt32(id)) {
                return .unsupported(
                    "vCPU id \(id) of \(vm) is the guest probe's (made for an earlier guest access through the VM fd)")
            }
            if let refusal = charge(MemoryBudget.perVCPU, for: "a vCPU") { return refusal }
            // An id of 2^32 or more is refused by the kernel exactly as 0xFFFFFFFF is
            // (id >= KVM_MAX_VCPU_IDS, or the fd is not a VM): pass that instead of truncating.
            let passed = id > UInt64(UInt32.max) ? UInt32.max : UInt32(id)
            let result = create(name, kind: .vcpu, vcpuID: passed) { () throws(KVMError) in
                try UncheckedKVM.createVCPU(vmFD: fd(vm), id: passed)
            }
            if result == .ok {
                probeOf[name] = probeOf[vm]
                state?.scenarioIDs.insert(passed)
            } else if result == .errno(EINVAL), let state, !state.probeIDs.isEmpty, id < UInt64(state.maxVCPUIDs),
                state.scenarioIDs.count < state.maxVCPUs,
                state.scenarioIDs.count + state.probeIDs.count >= state.maxVCPUs
            {
                // KVM refused the id for the count alone (KVM_CAP_MAX_VCPUS), which the probe's
                // vCPUs filled: without them the scenario would have had its vCPU.
                return .unsupported(
                    "\(vm)'s VM holds \(state.scenarioIDs.count) vCPUs of the scenario's and \(state.probeIDs.count) of the guest probe's; KVM allows \(state.maxVCPUs) per VM (KVM_CAP_MAX_VCPUS), so the probe's took this one's place"
                )
            }
            return result
        case .createStats(let name, let of):
            return create(name, kind: .stats) { () throws(KVMError) in try UncheckedKVM.statsFD(of: fd(of)) }
        case .createGuestMemfd(let name, let vm, let size, let flags, let reserved):
            return create(name, kind: .guestMemfd, size: size, flags: flags) { () throws(KVMError) in
                try UncheckedKVM.createGuestMemfd(vmFD: fd(vm), size: size, flags: flags, reserved: reserved)
            }
        case .createMemfd(let name, let size):
            return create(name, kind: .memfd, size: size) { () throws(KVMError) in
                try UncheckedKVM.createMemfd(size: size)
            }
        case .dup(let name, let of):
            let source = descriptors[of]
            let kind: Descriptor.Kind = source.map { $0.kind == .raw ? .other : $0.kind } ?? .other
            let result = create(
                name, kind: kind, size: source?.size ?? 0, flags: source?.flags ?? 0,
                vcpuID: source?.vcpuID ?? 0
            ) { () throws(KVMError) in
                try UncheckedKVM.duplicate(fd: self.fd(of))
            }
            if result == .ok {
                probeOf[name] = probeOf[of]
                if let state = source?.vmProbe, kind == .vm {
                    descriptors[name]?.vmProbe = state
                    state.openVMDescriptors += 1
                }
            }
            return result
        case .close(let name):
            guard let descriptor = descriptors[name] else {
                return Glibc.close(Self.invalidDescriptor) == 0 ? .ok : .errno(errno)
            }
            if descriptor.borrowed {
                if descriptor.kind == .standardStream {
                    return .unsupported(
                        "\(name) is gmem check's own fd \(descriptor.fd): closing it would close the checker's standard stream"
                    )
                }
                return Glibc.close(descriptor.fd) == 0 ? .ok : .errno(errno)
            }
            if descriptor.fd != Self.invalidDescriptor {
                descriptor.close()
                return .ok
            }
            return Glibc.close(descriptor.fd) == 0 ? .ok : .errno(errno)
        case .setRegion(
            let vm, let version, let slot, let flags, let gpa, let size, let userspace, let file, let offset):
            if slot == GuestProbe.slot { return .unsupported("memslot \(slot) is reserved for the guest probe") }
            // KVM allocates the slot's metadata before it can refuse an overlap: charged first.
            if let bytes = MemoryBudget.memslotMetadata(
                size: size, guestPhysicalAddress: gpa, userspaceAddress: address(userspace), flags: flags),
                let refusal = charge(bytes, for: "a memslot of \(MemoryBudget.text(size)) (KVM's per-page metadata)")
            {
                return refusal
            }
            var region = MemoryRegion(
                slot: slot, guestPhysicalAddress: gpa, size: size, userspaceAddress: address(userspace))
            region.flags = MemoryRegion.Flags(rawValue: flags)
            region.guestMemfd = file.map { self.fd($0) } ?? 0
            region.guestMemfdOffset = offset
            let result = outcome { () throws(KVMError) in
                if version == 1 {
                    try UncheckedKVM.setUserMemoryRegion(vmFD: fd(vm), region)
                } else {
                    try UncheckedKVM.setUserMemoryRegion2(vmFD: fd(vm), region)
                }
            }
            // Every other check passed and the range met a memslot: if it reaches the probe's,
            // the answer is about gmem check's own memslot, not the scenario's.
            if result == .errno(EEXIST), GuestProbe.overlaps(gpa: gpa, size: size), slot >> 16 == 0 {
                return .unsupported(
                    "guest-physical \(hexOrDecimal(GuestProbe.base))–\(hexOrDecimal(GuestProbe.base + GuestProbe.size - 1)) holds the guest probe's memslot"
                )
            }
            return result
        case .fallocate(let file, let mode, let offset, let length):
            if let refusal = standardStream(file, "fallocate") { return refusal }
            if let descriptor = descriptors[file], mode == 0 || mode == 1, offset >= 0, length > 0,
                !offset.addingReportingOverflow(length).overflow
            {
                // Only plain allocation (mode 0 or KEEP_SIZE, an end that does not overflow)
                // allocates: up to `length` bytes of a memfd (shmem allocates past the end with
                // KEEP_SIZE), or what lies inside a guest_memfd.
                var bytes: UInt64 = 0
                switch descriptor.kind {
                case .memfd: bytes = UInt64(length)
                case .guestMemfd:
                    bytes = min(UInt64(length), descriptor.size > UInt64(offset) ? descriptor.size - UInt64(offset) : 0)
                default: bytes = 0
                }
                if let refusal = charge(bytes, for: "fallocate of \(MemoryBudget.text(UInt64(length)))") {
                    return refusal
                }
            }
            return outcome { () throws(KVMError) in
                try UncheckedKVM.fallocate(fd: fd(file), mode: mode, offset: offset, length: length)
            }
        case .fileOperation(let file, let operation):
            if let refusal = standardStream(file, "a file operation") { return refusal }
            if let descriptor = descriptors[file], descriptor.kind == .kvmDevice, operation == .fchmod {
                return .unsupported("fchmod on /dev/kvm would change the device node's permissions for the whole host")
            }
            if let descriptor = descriptors[file], descriptor.kind == .memfd,
                operation == .write || operation == .pwrite,
                let refusal = chargePages(descriptor, 0, 1, for: "a write to a memfd")
            {
                return refusal
            }
            return fileOperation(fd(file), operation)
        case .reopen(let name, let of):
            if let refusal = standardStream(of, "reopening") { return refusal }
            let source = descriptors[of]
            return create(
                name, kind: source.map { $0.kind == .raw ? .other : $0.kind } ?? .other, size: source?.size ?? 0
            ) { () throws(KVMError) in
                try UncheckedKVM.reopen(fd: self.fd(of))
            }
        case .mmap(let name, let file, let protection, let flags, let offset, let length):
            if let refusal = standardStream(file, "mmap") { return refusal }
            let descriptor = descriptors[file]
            if let refusal = mappingLimitRefusal(name) { return refusal }
            let at = placement((length &+ 4095) & ~4095)
            if let refusal = placementRefusal(name, length: length, at: at) { return refusal }
            if let old = mappings.removeValue(forKey: name) { reboundMappings.append(old) }
            let released = releaseRetired(at, at &+ ((length &+ 4095) & ~4095) &+ ModelKernel.mappingGuard)
            let made = ArenaMapping.map(
                fd: fd(file), length: length, protection: protection, flags: flags, offset: offset, at: at)
            if case .failure = made { restoreRetired(released) }
            switch made {
            case .success(let mapping):
                insertArena(mapping)
                if let descriptor {
                    switch descriptor.kind {
                    case .guestMemfd:
                        mapping.fileBytesMapped = descriptor.size > offset ? descriptor.size - offset : 0
                        mapping.alwaysSafe = descriptor.flags & 3 == 3 && flags & 0xF != 2
                    case .memfd:
                        mapping.fileBytesMapped = nil  // the size can change: probe past the first pages
                        mapping.alwaysSafe = false
                    case .vcpu:
                        mapping.fileBytesMapped = UInt64(runMappingSize) > offset ? UInt64(runMappingSize) - offset : 0
                        mapping.alwaysSafe = true
                    default:
                        mapping.alwaysSafe = false
                    }
                }
                mapping.owner = descriptor
                mappings[name] = mapping
                return .ok
            case .failure(let error):
                mappings[name] = nil
                return unplaceable(name, error, at: at) ?? .errno(error.code)
            }
        case .mapAnonymous(let name, let length, let protection):
            if let refusal = mappingLimitRefusal(name) { return refusal }
            let at = placement((length &+ 4095) & ~4095)
            if let refusal = placementRefusal(name, length: length, at: at) { return refusal }
            if let old = mappings.removeValue(forKey: name) { reboundMappings.append(old) }
            let released = releaseRetired(at, at &+ ((length &+ 4095) & ~4095) &+ ModelKernel.mappingGuard)
            let made = ArenaMapping.map(
                fd: -1, length: length, protection: protection, flags: MAP_SHARED | MAP_ANONYMOUS, offset: 0, at: at)
            if case .failure = made { restoreRetired(released) }
            switch made {
            case .success(let mapping):
                insertArena(mapping)
                mapping.alwaysSafe = true
                mapping.fileBytesMapped = mapping.length
                mappings[name] = mapping
                return .ok
            case .failure(let error):
                mappings[name] = nil
                return unplaceable(name, error, at: at) ?? .errno(error.code)
            }
        case .munmap(let name, let offset, let length):
            return munmap(name, offset: offset, length: length)
        case .madvise(let name, let offset, let length, let advice):
            return madvise(name, offset: offset, length: length, advice: advice)
        case .hostRead(let name, let offset, let width):
            return hostAccess(name, offset: offset, width: width, write: nil)
        case .hostWrite(let name, let offset, let width, let value):
            return hostAccess(name, offset: offset, width: width, write: value)
        case .setAttributes(let vm, let gpa, let size, let attributes, let flags):
            return outcome { () throws(KVMError) in
                try UncheckedKVM.setMemoryAttributes(
                    vmFD: fd(vm), address: gpa, size: size, attributes: attributes, flags: flags)
            }
        case .guestAccess(let via, let gpa, let write, let isPrivate):
            if isPrivate { return .unsupported("a guest cannot choose a private access on this VM type") }
            guard let descriptor = descriptors[via], descriptor.fd != Self.invalidDescriptor else {
                return .errno(EBADF)
            }
            if GuestProbe.overlaps(gpa: gpa, size: 8) {
                return .unsupported("gpa \(hexOrDecimal(gpa)) is the guest probe's own memory")
            }
            switch descriptor.kind {
            case .vcpu:
                scenarioVCPURan = true
                if let refusal = chargePages(descriptor, gpa >> 12, gpa >> 12, for: "a guest access") { return refusal }
                if let refusal = chargeTables(probeOf[via], gpa, gpa, copies: 2, for: "a guest access") {
                    return refusal
                }
                if descriptor.vcpu == nil {
                    do {
                        descriptor.vcpu = try UncheckedKVM.adoptVCPU(
                            fd: descriptor.fd, id: descriptor.vcpuID, runMappingSize: runMappingSize)
                    } catch { return .unsupported("cannot map the vCPU's kvm_run: \(error)") }
                }
                guard let probe = probeOf[via] else { return .unsupported("no guest probe for \(via)'s VM") }
                return probe.probe.access(on: descriptor.vcpu!, gpa: gpa, write: write)
            case .vm:
                guard let state = descriptor.vmProbe ?? probeOf[via] else {
                    return .unsupported("no guest probe for \(via)")
                }
                if let refusal = chargePages(state, gpa >> 12, gpa >> 12, for: "a guest access") { return refusal }
                if let refusal = chargeTables(state, gpa, gpa, copies: 2, for: "a guest access") { return refusal }
                if state.vcpu == nil, let refusal = makeProbeVCPU(state, vmFD: descriptor.fd) { return refusal }
                let outcome = state.probe.access(on: state.vcpu!, gpa: gpa, write: write)
                // A vCPU left in a state the probe did not expect (a shutdown, a failed
                // KVM_SET_REGS …) is not used again.
                if case .unsupported = outcome { state.vcpu = nil }
                return outcome
            default:
                // Not a vCPU: the real KVM_RUN ioctl on whatever it is, which refuses it.
                let result = ckvm_run(descriptor.fd)
                return result < 0
                    ? .errno(-result) : .unsupported("KVM_RUN succeeded on a descriptor that is not a vCPU")
            }
        case .convert(let file, let offset, let size, let attributes, let flags):
            do {
                try UncheckedKVM.setMemoryAttributes2(
                    gmemFD: fd(file), offset: offset, size: size, attributes: attributes, flags: flags)
            } catch {
                let code = error.error.errno.rawValue
                return error.errorOffset.map { .errnoAt(code, errorOffset: $0) } ?? .errno(code)
            }
            // Pages of this file may be private now: host accesses through its mappings must
            // run in a child again (V5).
            if attributes != 0, let descriptor = descriptors[file] {
                for arena in arenas where arena.owner === descriptor { arena.alwaysSafe = false }
            }
            return .ok
        case .link(let name, let file, let vm, let flags):
            let source = descriptors[file]
            return create(name, kind: .guestMemfd, size: source?.size ?? 0, flags: source?.flags ?? 0) {
                () throws(KVMError) in
                try UncheckedKVM.linkGuestMemfd(vmFD: fd(vm), fd: fd(file), flags: flags)
            }
        case .pin(let name, let offset, let length):
            return pin(name, offset: offset, length: length)
        case .unpin(let name):
            for pipe in pinPipes.removeValue(forKey: name) ?? [] { Glibc.close(pipe) }
            return .ok
        }
    }

    /// `pin P offset= len=`: `vmsplice` of the range into a new non-blocking pipe, only where
    /// the range lies in one of the scenario's windows (or below `vm.mmap_min_addr` for a name
    /// whose mmap failed), so the pin never reaches gmem check's own memory.
    private func pin(_ name: String, offset: UInt64, length: UInt64) -> Outcome {
        let mapping = mappings[name]
        let (start, overflow) = (mapping?.address ?? 0).addingReportingOverflow(offset)
        let (end, endOverflow) = start.addingReportingOverflow(length)
        if overflow || endOverflow { return .unsupported("pin of a range that wraps the address space") }
        if let mapping {
            guard start >= mapping.address, end <= mapping.address + mapping.arenaLength else {
                return .unsupported("pin beyond \(name)'s window: it could reach gmem check's own memory")
            }
            if start < mapping.address + mapping.length {
                let last = (min(end, mapping.address + mapping.length) - 1 - mapping.address) >> 12
                if let refusal = chargePages(mapping, (start - mapping.address) >> 12, last, for: "a page pin") {
                    return refusal
                }
                let lastByte = min(end, mapping.address + mapping.length) - 1
                if let refusal = chargeTables(nil, start, lastByte, for: "a page pin") { return refusal }
            }
        } else if end > 1 << 16, Self.processMapsAnything(start, end) {
            return .unsupported("pin of an unmapped name's range, which holds gmem check's own memory")
        }
        var ends: [Int32] = [-1, -1]
        // The pipe is gmem check's own, not the scenario's: made at the hard fd limit and moved
        // above every number a `limit fds=` can reach, so the scenario's count stays the model's.
        let piped = withFullDescriptorLimit { (scenarioLimit) -> Int32 in
            // SAFETY: `ends` holds the two ints pipe2 writes.
            guard unsafe ends.withUnsafeMutableBufferPointer({ unsafe Glibc.pipe($0.baseAddress!) }) == 0 else {
                return errno
            }
            let moved = ends.map { movedHigh($0, above: scenarioLimit) }
            guard let read = moved[0], let write = moved[1] else {
                for end in moved { if let end { Glibc.close(end) } }
                return -1
            }
            ends = [read, write]
            return 0
        }
        if piped == -1 { return .unsupported("the pin's pipe: \(Self.noHighDescriptor)") }
        guard piped == 0 else { return .unsupported("cannot make a pipe for the pin: errno \(piped)") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        do {
            let bytes = try UncheckedKVM.pinPages(pipeFD: ends[1], address: start, length: length)
            pinPipes[name, default: []] += ends
            return bytes == length ? .ok : .value(bytes)
        } catch {
            Glibc.close(ends[0])
            Glibc.close(ends[1])
            return .errno(error.errno.rawValue)
        }
    }

    private func address(_ expression: AddressExpression) -> UInt64 {
        switch expression {
        case .literal(let value): value
        case .mapping(let name, let offset): (mappings[name]?.address ?? 0) &+ offset
        }
    }

    private func fileOperation(_ fd: Int32, _ operation: ModelFileOperation) -> Outcome {
        let result: Int =
            switch operation {
            case .read: HostCall.eightBytes(fd, write: false, positioned: false)
            case .write: HostCall.eightBytes(fd, write: true, positioned: false)
            case .pread: HostCall.eightBytes(fd, write: false, positioned: true)
            case .pwrite: HostCall.eightBytes(fd, write: true, positioned: true)
            case .lseek: Int(lseek(fd, 0, SEEK_SET))
            case .ftruncate: Int(ftruncate(fd, 0))
            case .fsync: Int(fsync(fd))
            case .fchmod: Int(fchmod(fd, 0o600))
            }
        return result < 0 ? .errno(errno) : .ok
    }

    // MARK: - Mappings

    /// The kernel's own checks of `munmap`'s arguments (`__do_munmap`), for the part of a
    /// range outside every arena, where nothing of the scenario's can be.
    static func munmapArgumentError(address: UInt64, length: UInt64) -> Int32? {
        if address & 4095 != 0 { return EINVAL }
        let aligned = (length &+ 4095) & ~4095
        if length == 0 || aligned == 0 { return EINVAL }
        if address > 0x7FFF_FFFF_F000 || aligned > 0x7FFF_FFFF_F000 - address { return EINVAL }
        return nil
    }

    /// The arenas overlapping `[start, end)`, by address.
    private func arenas(overlapping start: UInt64, _ end: UInt64) -> ArraySlice<ArenaMapping> {
        var low = 0
        var high = arenas.count
        while low < high {
            let mid = (low + high) / 2
            if arenas[mid].address + arenas[mid].arenaLength <= start { low = mid + 1 } else { high = mid }
        }
        var last = low
        while last < arenas.count, arenas[last].address < end { last += 1 }
        return arenas[low..<last]
    }

    private func munmap(_ name: String, offset: UInt64, length: UInt64) -> Outcome {
        let start = (mappings[name]?.address ?? 0) &+ offset
        if let error = Self.munmapArgumentError(address: start, length: length) { return .errno(error) }
        let end = start + ((length &+ 4095) & ~4095)
        if mappings[name] == nil, end <= 1 << 16 {
            // A name whose mmap failed stands for address 0, as in the model: nothing can be
            // mapped that low (vm.mmap_min_addr), so the real call is safe there.
            // SAFETY: the range lies below vm.mmap_min_addr, where this process maps nothing.
            return unsafe Glibc.munmap(UnsafeMutableRawPointer(bitPattern: UInt(start)), Int(end - start)) == 0
                ? .ok : .errno(errno)
        }
        // The real call on every part of the range inside one of the scenario's windows; the
        // rest holds nothing of the scenario's (and is gmem check's own memory or nothing).
        let touched = arenas(overlapping: start, end)
        // Past the limit, a munmap that splits a piece in two (its range strictly inside one
        // live run of pages) is refused like one more mmap.
        if livePieces >= MemoryBudget.mappingLimit, touched.contains(where: { $0.wouldSplit(from: start, to: end) }) {
            return .budgetRefusal(MemoryBudget.mappingLimitRefusal(name))
        }
        for arena in touched {
            let before = arena.pieces
            let outcome = arena.unmap(from: start, to: end)
            livePieces += arena.pieces - before
            if case .errno(let code) = outcome { return .errno(code) }
        }
        return .ok
    }

    private func madvise(_ name: String, offset: UInt64, length: UInt64, advice: Int32) -> Outcome {
        let base = mappings[name]?.address ?? 0
        let start = base &+ offset
        // An advice the model calls invalid: the real call, which madvise_should_skip refuses
        // (EINVAL) before it looks at the range; the grammar has already refused every advice
        // Linux knows that the model does not describe, so nothing here touches memory.
        guard GmemRules.madviseAdviceIsValid(advice) else {
            // SAFETY: an advice madvise_behavior_valid rejects is refused before any address is used.
            let result = unsafe Glibc.madvise(
                UnsafeMutableRawPointer(bitPattern: UInt(start)), Int(bitPattern: UInt(length)), advice)
            return result == 0 ? .ok : .errno(errno)
        }
        if start & 4095 != 0 { return .errno(EINVAL) }
        let aligned = (length &+ 4095) & ~4095
        if length != 0, aligned == 0 { return .errno(EINVAL) }
        let (end, overflow) = start.addingReportingOverflow(aligned)
        if overflow { return .errno(EINVAL) }
        if end == start { return .ok }
        // The real call on each live run of the scenario's mappings, in address order; a
        // page of the range that is not one of them is a hole (ENOMEM, after the rest).
        var covered: UInt64 = 0
        for arena in arenas(overlapping: start, end) {
            switch arena.advise(from: start, to: end, advice: advice) {
            case .failure(let error): return .errno(error.code)
            case .success(let live): covered += live
            }
        }
        return covered == end - start ? .ok : .errno(ENOMEM)
    }

    /// A host access of `width` bytes at `offset` of a mapping: in this process when it
    /// cannot fault, else after a probe of each page it touches that catches the signal.
    private func hostAccess(_ name: String, offset requested: UInt64, width: AccessWidth, write: UInt64?) -> Outcome {
        guard let named = mappings[name] else { return .signal(SIGSEGV) }
        let count = UInt64(width.rawValue)
        let address = named.address &+ requested
        let (lastAddress, overflow) = address.addingReportingOverflow(count - 1)
        let outside = Outcome.unsupported(
            "\(name)+\(hexOrDecimal(requested)) is outside every window gmem check reserved for the scenario's mappings (where gmem check's own memory may be)"
        )
        // The window holding the access (possibly another mapping's, past this one's guard).
        guard !overflow, let mapping = arenas(overlapping: address, address + 1).first, mapping.address <= address
        else {
            return outside
        }
        let windowEnd = mapping.address + mapping.arenaLength
        if lastAddress >= windowEnd {
            // The access runs off the end of this window into the next one (windows freed and
            // reused leave them back to back): its first bytes are this window's guard, or all
            // of a retired window, both PROT_NONE, so it faults there, as the MMU answers.
            if let next = arenas(overlapping: lastAddress, lastAddress + 1).first, next.address == windowEnd {
                return .signal(SIGSEGV)
            }
            return outside
        }
        let offset = address - mapping.address
        let last = lastAddress - mapping.address
        if scenarioVCPURan, let owner = mapping.owner as? Descriptor, owner.kind == .vcpu, offset < mapping.length,
            UInt64(runMappingSize) - min(mapping.fileBytesMapped ?? 0, UInt64(runMappingSize)) + offset
                < Self.runPagesWritten
        {
            // After KVM_RUN the kernel has written the vCPU's kvm_run (exit_reason, the exit's
            // io/mmio fields, immediate_exit cleared) and PIO pages, for the guest probe's own
            // exits: values the model, which does not describe kvm_run, cannot agree with. (The
            // coalesced-MMIO ring after them stays untouched: no scenario registers a zone.)
            return .unsupported(
                "\(name) maps a vCPU's kvm_run, which KVM_RUN has written since (a scenario vCPU ran a guest step); the model does not describe kvm_run"
            )
        }
        let owner: AnyObject = mapping.owner ?? mapping
        if let refusal = chargePages(owner, offset >> 12, last >> 12, for: "a host access") {
            return refusal
        }
        if let refusal = chargeTables(nil, address, lastAddress, for: "a host access") { return refusal }
        // A write through a mapping without PROT_WRITE faults on the VMA's permission
        // (access_error) before any page is looked at: SIGSEGV, as the MMU answers.
        if write != nil, mapping.protection & PROT_WRITE == 0, offset < mapping.length { return .signal(SIGSEGV) }
        let needed: Int32 = write == nil ? PROT_READ : PROT_WRITE
        let safe =
            last < mapping.length && mapping.alwaysSafe && mapping.protection & needed != 0
            && mapping.pagesLive(offset >> 12, last >> 12)
            && (mapping.fileBytesMapped.map { last < $0 } ?? false)
        if !safe {
            // One probe per page touched, in this process, with the access's own fault (a
            // load, or a store that leaves the byte as it was): the page-table entries it makes
            // are the ones the access makes (fault-around included), and nothing is forked
            // (fork write-protects this process's private copied-on-write pages, which KVM's
            // gup-fast then refuses).
            for page in [offset, last & ~4095 > offset ? last & ~4095 : offset] {
                let signal = mapping.probe(offset: page, write: write != nil)
                if signal < 0 { return .unsupported("cannot probe the access: errno \(-signal)") }
                if signal != 0 { return .signal(signal) }
                if last & ~4095 <= offset { break }
            }
        }
        if let write {
            mapping.store(write, at: offset, width: width)
            return .ok
        }
        return .value(mapping.load(at: offset, width: width))
    }
}

typealias ModelFileOperation = GmemModel.ModelKernel.FileOperation

/// `KVM_CHECK_EXTENSION` on a raw fd, 0 on failure.
private func ckvmCheck(_ fd: Int32, _ capability: Capability) -> Int32 {
    (try? UncheckedKVM.checkExtension(fd: fd, capability)) ?? 0
}

/// A host mapping made by the kernel backend inside a reserved window ("arena") of its own:
/// the mapping at the window's start and ``ModelKernel/mappingGuard`` bytes of inaccessible
/// reservation after it, so that a scenario's `munmap`, `madvise` and accesses past the end
/// of a mapping are real calls that can only reach gmem check's own reservation, never its
/// other memory. Unmapped pages are reserved again at once, so nothing else lands there.
final class ArenaMapping {
    /// The mapping's first address.
    let address: UInt64
    /// The mapped length (rounded to pages).
    let length: UInt64
    /// The window: the mapping plus its guard.
    let arenaLength: UInt64
    let protection: Int32
    /// Bytes of the file behind the mapping (nil when unknown or changing: probe first).
    var fileBytesMapped: UInt64?
    /// Whether an access inside `fileBytesMapped` to a live page can never fault.
    var alwaysSafe = false
    /// The descriptor mapped, for charging touched pages once per file.
    var owner: AnyObject?
    /// Pages of the mapping (by index) no longer mapped.
    private var unmapped: Set<UInt64> = []
    /// The live runs of pages (VMAs of the scenario's): 1 when made, 0 once all are unmapped.
    private(set) var pieces = 1
    /// Whether the window was given back (a new window reuses its range): its deinit then
    /// leaves the range alone.
    private var released = false

    /// Whether a page of the mapping is still mapped.
    var isLive: Bool { pieces > 0 }

    /// Unmaps the whole window now (it holds no mapped page, and a new window goes there).
    func release() {
        guard !released else { return }
        released = true
        // SAFETY: the window was reserved by `map` and belongs to this object alone.
        unsafe Glibc.munmap(UnsafeMutableRawPointer(bitPattern: UInt(address)), Int(arenaLength))
    }

    private init(address: UInt64, length: UInt64, arenaLength: UInt64, protection: Int32) {
        self.address = address
        self.length = length
        self.arenaLength = arenaLength
        self.protection = protection
    }

    deinit { release() }

    /// A retired window of its own at `at`: `length` bytes reserved `PROT_NONE`, no page
    /// mapped (what is left of a released window beside a new one); nil if the range is taken.
    static func retired(at: UInt64, length: UInt64) -> ArenaMapping? {
        // SAFETY: a PROT_NONE reservation that replaces nothing (MAP_FIXED_NOREPLACE).
        let reserved = unsafe Glibc.mmap(
            UnsafeMutableRawPointer(bitPattern: UInt(at)), Int(length), PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fixedNoReplace, -1, 0)
        // SAFETY: the pointers are compared and converted to a number, never dereferenced.
        guard let reserved = unsafe reserved, unsafe reserved != MAP_FAILED else { return nil }
        // SAFETY: as above.
        guard UInt64(UInt(bitPattern: reserved)) == at else {
            // SAFETY: a reservation this call just made elsewhere (an old kernel's hint) goes again.
            unsafe Glibc.munmap(reserved, Int(length))
            return nil
        }
        let arena = ArenaMapping(address: at, length: 0, arenaLength: length, protection: PROT_NONE)
        arena.pieces = 0
        return arena
    }

    /// `MAP_FIXED_NOREPLACE` (Linux 4.17).
    static let fixedNoReplace: Int32 = 0x10_0000

    /// Reserves a window at `at` (the model's placement of the same mapping) and maps `fd`
    /// at its start; the error is the kernel's errno for the call.
    static func map(fd: Int32, length: UInt64, protection: Int32, flags: Int32, offset: UInt64, at: UInt64) -> Result<
        ArenaMapping, SystemErrno
    > {
        let rounded = (length &+ 4095) & ~4095
        let (window, overflow) = rounded.addingReportingOverflow(ModelKernel.mappingGuard)
        let fileOffset = off_t(Int64(bitPattern: offset))
        let degenerate = length == 0 || rounded == 0 || overflow || window > 0x7FFF_FFFF_F000
        // SAFETY: a PROT_NONE reservation that replaces nothing (MAP_FIXED_NOREPLACE).
        let reserved =
            unsafe degenerate  // SAFETY: as above; MAP_FAILED is only compared, never used as memory.
            ? MAP_FAILED
            : Glibc.mmap(
                UnsafeMutableRawPointer(bitPattern: UInt(at)), Int(window), PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fixedNoReplace, -1, 0)
        // SAFETY: the pointers are compared and converted to a number, never dereferenced.
        guard let reserved = unsafe reserved, unsafe reserved != MAP_FAILED, UInt64(UInt(bitPattern: reserved)) == at
        else {
            // No window (a degenerate or too large length, or the range is taken): the real
            // call at the same address without replacing anything gives the kernel's answer.
            // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
            let pointer = unsafe Glibc.mmap(
                UnsafeMutableRawPointer(bitPattern: UInt(at)), Int(bitPattern: UInt(length)), protection,
                flags | fixedNoReplace, fd, fileOffset)
            // SAFETY: a mapping this call just made (nothing else uses it) is unmapped again.
            if unsafe pointer == MAP_FAILED { return .failure(SystemErrno(errno)) }
            unsafe Glibc.munmap(pointer, Int(bitPattern: UInt(length)))
            return .failure(SystemErrno(EEXIST))
        }
        // SAFETY: MAP_FIXED replaces only the start of our own reservation.
        let pointer = unsafe Glibc.mmap(reserved, Int(rounded), protection, flags | MAP_FIXED, fd, fileOffset)
        // SAFETY: on failure the reservation, ours alone, is released.
        guard unsafe pointer != MAP_FAILED else {
            let code = errno
            // SAFETY: the reservation is ours alone and nothing uses it yet.
            unsafe Glibc.munmap(reserved, Int(window))
            return .failure(SystemErrno(code))
        }
        return .success(ArenaMapping(address: at, length: rounded, arenaLength: window, protection: protection))
    }

    func pagesLive(_ first: UInt64, _ last: UInt64) -> Bool {
        if unmapped.isEmpty { return true }
        if UInt64(unmapped.count) <= last - first { return !unmapped.contains { $0 >= first && $0 <= last } }
        return !(first...last).contains { unmapped.contains($0) }
    }

    /// Whether `munmap(start, end - start)` would split one live run of this mapping in two:
    /// the pages on both sides of the range and all of it are mapped.
    func wouldSplit(from start: UInt64, to end: UInt64) -> Bool {
        guard start > address, end < address + length else { return false }
        return pagesLive((start - address) >> 12 - 1, (end - address) >> 12)
    }

    /// `munmap(from, to - from)` for the part inside the window (already validated).
    func unmap(from start: UInt64, to end: UInt64) -> Outcome {
        let low = max(start, address)
        let high = min(end, address + arenaLength)
        guard low < high else { return .ok }
        // SAFETY: [low, high) lies inside this object's window.
        if unsafe Glibc.munmap(UnsafeMutableRawPointer(bitPattern: UInt(low)), Int(high - low)) != 0 {
            return .errno(errno)
        }
        // Reserve it again at once: the range stays gmem check's, inaccessible.
        // SAFETY: MAP_FIXED over the range just unmapped, inside this object's window.
        _ = unsafe Glibc.mmap(
            UnsafeMutableRawPointer(bitPattern: UInt(low)), Int(high - low), PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0)
        // The live runs after: those the range meets go, and a run crossing either edge of the
        // range leaves a remainder there.
        let pages = length >> 12
        let first = (low - address) >> 12
        let stop = min((high - address) >> 12, pages)
        func live(_ page: UInt64) -> Bool { page < pages && !unmapped.contains(page) }
        if first < stop {
            var met = 0
            var page = first
            while page < stop {
                if live(page), page == first || !live(page - 1) { met += 1 }
                page += 1
            }
            let left = first > 0 && live(first - 1) && live(first) ? 1 : 0
            let right = live(stop) && live(stop - 1) ? 1 : 0
            pieces += left + right - met
        }
        var page = first
        while page < stop {
            unmapped.insert(page)
            page += 1
        }
        return .ok
    }

    /// `madvise` over the part of [start, end) inside this mapping: the real call on each
    /// live run of its pages; the bytes advised, or the first error.
    func advise(from start: UInt64, to end: UInt64, advice: Int32) -> Result<UInt64, SystemErrno> {
        let low = max(start, address)
        let high = min(end, address + length)
        guard low < high else { return .success(0) }
        var page = (low - address) >> 12
        let endPage = (high - address) >> 12
        var live: UInt64 = 0
        while page < endPage {
            if unmapped.contains(page) {
                page += 1
                continue
            }
            var runEnd = page + 1
            while runEnd < endPage, !unmapped.contains(runEnd) { runEnd += 1 }
            // SAFETY: the run lies inside this object's live mapping.
            let run = unsafe UnsafeMutableRawPointer(bitPattern: UInt(address + page << 12))
            // SAFETY: as above; madvise reads no byte of the run.
            if unsafe Glibc.madvise(run, Int((runEnd - page) << 12), advice) != 0 {
                return .failure(SystemErrno(errno))
            }
            // MADV_DONTFORK only matters to a fork of gmem check itself, which nothing in a
            // scenario makes: undo it once the real call answered.
            // SAFETY: the same live run, MADV_DOFORK.
            if advice == 10 { _ = unsafe Glibc.madvise(run, Int((runEnd - page) << 12), 11) }
            live += (runEnd - page) << 12
            page = runEnd
        }
        return .success(live)
    }

    /// Probes one byte at `offset` of the window, in this process with SIGBUS and SIGSEGV
    /// caught: the signal the access raised, 0, or -errno.
    func probe(offset: UInt64, write: Bool) -> Int32 {
        // SAFETY: the offset lies inside the window (checked by the caller); a fault is caught
        // by ckvm_probe_access_here's handler, and a write probe stores the byte it found.
        unsafe ckvm_probe_access_here(UnsafeMutablePointer<UInt8>(bitPattern: UInt(address + offset))!, write ? 1 : 0)
    }

    func load(at offset: UInt64, width: AccessWidth) -> UInt64 {
        // SAFETY: the caller has established (directly or by a probe) that the bytes are mapped and readable.
        let pointer = unsafe UnsafeRawPointer(bitPattern: UInt(address + offset))!
        switch width {
        // SAFETY: as above, one byte.
        case .byte: return unsafe UInt64(pointer.load(as: UInt8.self))
        // SAFETY: as above, two bytes at any alignment.
        case .half: return unsafe UInt64(UInt16(littleEndian: pointer.loadUnaligned(as: UInt16.self)))
        // SAFETY: as above, four bytes at any alignment.
        case .word: return unsafe UInt64(UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)))
        // SAFETY: as above, eight bytes at any alignment.
        case .double: return unsafe UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self))
        }
    }

    func store(_ value: UInt64, at offset: UInt64, width: AccessWidth) {
        // SAFETY: the caller has established (directly or by a probe) that the bytes are mapped and writable.
        let pointer = unsafe UnsafeMutableRawPointer(bitPattern: UInt(address + offset))!
        switch width {
        // SAFETY: as above, one byte.
        case .byte: unsafe pointer.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
        case .half:
            // SAFETY: as above, two bytes (storeBytes allows any alignment).
            unsafe pointer.storeBytes(
                of: UInt16(truncatingIfNeeded: value).littleEndian, toByteOffset: 0, as: UInt16.self)
        case .word:
            // SAFETY: as above, four bytes (storeBytes allows any alignment).
            unsafe pointer.storeBytes(
                of: UInt32(truncatingIfNeeded: value).littleEndian, toByteOffset: 0, as: UInt32.self)
        // SAFETY: as above, eight bytes (storeBytes allows any alignment).
        case .double: unsafe pointer.storeBytes(of: value.littleEndian, toByteOffset: 0, as: UInt64.self)
        }
    }
}

/// An errno as an `Error` value.
struct SystemErrno: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}
