/// A state of the universe after 2023, in fixed-size inline storage. VMs and files are named
/// by creation index; inode `i` is the inode file `i` created (a linked file names its
/// source's inode).
struct HostState: Hashable, Sendable {
    /// Per VM: see the bit constants.
    var vm = SIMD4<UInt8>()
    /// Per VM × memslot (`vm * 2 + slot`): 0 none, 1 binding invalidated (its file was
    /// released, GMEM-SPEC L5), 2 + f bound to file f.
    var slot = SIMD8<UInt8>()
    /// Per file: bit 0 fd open, bit 1 alive; bits 2–3 its VM; bits 4–5 its inode.
    var file = SIMD4<UInt8>()
    /// Per inode × page (`inode * 2 + page`): 0 not allocated, 1 zero, 2 + w VM w's secret.
    var content = SIMD8<UInt8>()
    /// Per inode × page: bit 0 private, bit 1 pinned by the host.
    var page = SIMD8<UInt8>()
    var vms: UInt8 = 0
    var files: UInt8 = 0

    static let vmOpen: UInt8 = 1, vmAlive: UInt8 = 2, vmConfidential: UInt8 = 4
    static let vmStopped: UInt8 = 8, vmDead: UInt8 = 16
    static let private_: UInt8 = 1, pinned: UInt8 = 2

    /// The state in two words, for hashing (equality stays field by field).
    func hash(into hasher: inout Hasher) {
        var a: UInt64 = 0
        var b: UInt64 = 0
        for n in 0..<4 { a |= UInt64(vm[n]) << (n * 8) | UInt64(file[n]) << (32 + n * 8) }
        for n in 0..<8 { b |= UInt64(slot[n] | content[n] << 3 | page[n] << 6) << (n * 8) }
        hasher.combine(a)
        hasher.combine(b ^ UInt64(vms) << 61 ^ UInt64(files) << 59)
    }

    func has(_ v: Int, _ bit: UInt8) -> Bool { vm[v] & bit != 0 }
    func fileOpen(_ f: Int) -> Bool { file[f] & 1 != 0 }
    func fileAlive(_ f: Int) -> Bool { file[f] & 2 != 0 }
    func owner(_ f: Int) -> Int { Int(file[f] >> 2 & 3) }
    func inode(_ f: Int) -> Int { Int(file[f] >> 4 & 3) }
    func isPrivate(_ i: Int, _ p: Int) -> Bool { page[i * 2 + p] & Self.private_ != 0 }
    func isPinned(_ i: Int, _ p: Int) -> Bool { page[i * 2 + p] & Self.pinned != 0 }

    /// Whether VM `v`'s guest can run now or later: alive, not dead, its fd open (stopped
    /// vCPUs can be resumed).
    func canRun(_ v: Int) -> Bool { has(v, Self.vmAlive) && !has(v, Self.vmDead) && has(v, Self.vmOpen) }
    /// Whether it runs now.
    func runs(_ v: Int) -> Bool { canRun(v) && !has(v, Self.vmStopped) }
    /// Whether a live file names inode `i`.
    func inodeAlive(_ i: Int) -> Bool { (0..<Int(files)).contains { fileAlive($0) && inode($0) == i } }
}

/// The semantics of ``HostStep`` under a ``HostDesign``.
struct HostRules: Sendable {
    let design: HostDesign
    let universe: HostUniverse

    /// Every step userspace (or a running guest) can take in `s`.
    func steps(in s: HostState) -> [HostStep] {
        var steps: [HostStep] = []
        let vms = Int(s.vms)
        let files = Int(s.files)
        let linking = design.link != nil
        if vms < universe.vms {
            steps.append(.createVM(vm: vms, confidential: false))
            steps.append(.createVM(vm: vms, confidential: true))
        }
        if files < universe.files {
            for v in 0..<vms where s.has(v, HostState.vmOpen) { steps.append(.createFile(file: files, vm: v)) }
            if linking {
                for source in 0..<files where s.fileOpen(source) {
                    for v in 0..<vms where s.has(v, HostState.vmOpen) && v != s.owner(source) {
                        steps.append(.link(file: files, source: source, vm: v))
                    }
                }
            }
        }
        for v in 0..<vms where s.has(v, HostState.vmOpen) {
            for slot in 0..<universe.slots {
                for f in 0..<files where s.fileOpen(f) { steps.append(.bind(vm: v, slot: slot, file: f)) }
            }
        }
        for v in 0..<vms where s.runs(v) {
            for slot in 0..<universe.slots {
                for p in 0..<universe.pages {
                    steps.append(.guestWrite(vm: v, slot: slot, page: p))
                    steps.append(.guestRead(vm: v, slot: slot, page: p))
                }
            }
        }
        for f in 0..<files where s.fileOpen(f) {
            for p in 0..<universe.pages {
                steps.append(.convert(file: f, page: p, toPrivate: true, preserve: false))
                steps.append(.convert(file: f, page: p, toPrivate: true, preserve: true))
                steps.append(.convert(file: f, page: p, toPrivate: false, preserve: false))
                steps.append(.convert(file: f, page: p, toPrivate: false, preserve: true))
                steps.append(.hostRead(file: f, page: p))
                if !s.isPinned(s.inode(f), p) { steps.append(.pin(file: f, page: p)) }
            }
        }
        for i in 0..<files where s.inodeAlive(i) {
            for p in 0..<universe.pages where s.isPinned(i, p) {
                steps.append(.readPinned(inode: i, page: p))
                steps.append(.unpin(inode: i, page: p))
            }
        }
        for v in 0..<vms where s.has(v, HostState.vmOpen) {
            for slot in 0..<universe.slots { steps.append(.deleteSlot(vm: v, slot: slot)) }
        }
        if linking {
            for v in 0..<vms where s.canRun(v) {
                steps.append(s.has(v, HostState.vmStopped) ? .resumeVM(vm: v) : .stopVM(vm: v))
                steps.append(.markDead(vm: v))
            }
        }
        for v in 0..<vms where s.has(v, HostState.vmOpen) { steps.append(.closeVM(vm: v)) }
        for f in 0..<files where s.fileOpen(f) { steps.append(.closeFile(file: f)) }
        return steps
    }

    /// Whether the link precondition holds for a link of `source` into `vm`.
    func precondition(_ condition: LinkPrecondition, source: Int, vm b: Int, in s: HostState) -> Bool {
        let a = s.owner(source)
        let i = s.inode(source)
        for predicate in condition.predicates {
            let holds: Bool
            switch predicate {
            case .sourceDead: holds = s.has(a, HostState.vmDead)
            case .sourceClosed: holds = !s.has(a, HostState.vmOpen)
            case .sourceStopped: holds = s.has(a, HostState.vmStopped) || !s.canRun(a)
            case .sourceUnbound:
                holds = !(0..<universe.slots).contains { slot in
                    let entry = s.slot[a * 2 + slot]
                    return entry >= 2 && s.inode(Int(entry - 2)) == i
                }
            case .allShared: holds = !(0..<universe.pages).contains { s.isPrivate(i, $0) }
            case .noHostReferences: holds = !(0..<universe.pages).contains { s.isPinned(i, $0) }
            case .sameType: holds = s.has(a, HostState.vmConfidential) == s.has(b, HostState.vmConfidential)
            }
            if !holds { return false }
        }
        return true
    }

    /// Applies `step` to `s`; a refused step leaves `s` as it was.
    func apply(_ step: HostStep, to s: inout HostState) -> HostOutcome {
        switch step {
        case .createVM(let v, let confidential):
            s.vm[v] = HostState.vmOpen | HostState.vmAlive | (confidential ? HostState.vmConfidential : 0)
            s.vms += 1
            return .ok
        case .createFile(let f, let v):
            if s.has(v, HostState.vmDead) { return .refused("EIO") }
            s.file[f] = 3 | UInt8(v) << 2 | UInt8(f) << 4
            for p in 0..<2 {
                s.content[f * 2 + p] = 0
                s.page[f * 2 + p] = 0
            }
            s.files += 1
            return .ok
        case .link(let f, let source, let v):
            guard let condition = design.link else { return .refused("ENOTTY") }
            if s.has(v, HostState.vmDead) { return .refused("EIO") }
            if !precondition(condition, source: source, vm: v, in: s) { return .refused("EBUSY") }
            s.file[f] = 3 | UInt8(v) << 2 | UInt8(s.inode(source)) << 4
            s.files += 1
            return .ok
        case .bind(let v, let slot, let f):
            if s.has(v, HostState.vmDead) { return .refused("EIO") }
            let index = v * 2 + slot
            if s.slot[index] != 0 { return .refused("EINVAL") }
            if boundSlot(of: f, in: s) >= 0 { return .refused("EINVAL") }
            if s.owner(f) != v { return .refused("EINVAL") }  // GMEM-SPEC B5
            s.slot[index] = 2 + UInt8(f)
            return .ok
        case .deleteSlot(let v, let slot):
            if s.has(v, HostState.vmDead) { return .refused("EIO") }
            if s.slot[v * 2 + slot] == 0 { return .refused("EINVAL") }
            s.slot[v * 2 + slot] = 0
            return .ok
        case .closeVM(let v):
            s.vm[v] &= ~HostState.vmOpen
            if !pinned(v, in: s) { destroy(vm: v, in: &s) }
            return .ok
        case .closeFile(let f):
            s.file[f] &= ~1
            release(file: f, in: &s)
            return .ok
        case .stopVM(let v):
            s.vm[v] |= HostState.vmStopped
            return .ok
        case .resumeVM(let v):
            s.vm[v] &= ~HostState.vmStopped
            return .ok
        case .markDead(let v):
            s.vm[v] |= HostState.vmDead
            return .ok
        case .guestWrite(let v, let slot, let p), .guestRead(let v, let slot, let p):
            let entry = s.slot[v * 2 + slot]
            // A private access finds no private memory where no memslot (or no binding) is:
            // KVM_EXIT_MEMORY_FAULT, not MMIO (GmemModel under next agrees).
            if entry <= 1 { return .fault }
            let i = s.inode(Int(entry - 2))
            // A private access to a shared page: KVM_EXIT_MEMORY_FAULT (the VMM converts).
            if !s.isPrivate(i, p) { return .fault }
            if case .guestWrite = step {
                s.content[i * 2 + p] = 2 + UInt8(v)
                return .written
            }
            if s.content[i * 2 + p] == 0 { s.content[i * 2 + p] = 1 }
            return .read(s.content[i * 2 + p] == 1 ? 0 : s.content[i * 2 + p])
        case .convert(let f, let p, let toPrivate, let preserve):
            let i = s.inode(f)
            let index = i * 2 + p
            // The content modes the file's VM type supports (the owner check); ZERO never
            // applies to a conversion to private (EOPNOTSUPP), and is not offered.
            let confidential = s.has(s.owner(f), HostState.vmConfidential)
            if preserve, confidential, design.conversion != .preserveWithoutOwnerCheck {
                return .refusedAt(errno: "EOPNOTSUPP", errorOffset: UInt64(p) << 12)
            }
            if toPrivate {
                if s.isPinned(i, p), design.conversion != .noReferenceCheck {
                    return .refusedAt(errno: "EAGAIN", errorOffset: UInt64(p) << 12)
                }
                s.page[index] |= HostState.private_
            } else {
                s.page[index] &= ~HostState.private_
                // A content mode applies to the whole range, converted or not.
                if !preserve, s.content[index] != 0 { s.content[index] = 1 }
            }
            return .ok
        case .hostRead(let f, let p):
            let i = s.inode(f)
            let index = i * 2 + p
            if s.isPrivate(i, p) { return .sigbus }
            if s.content[index] == 0 { s.content[index] = 1 }
            return .read(s.content[index] == 1 ? 0 : s.content[index])
        case .pin(let f, let p):
            let i = s.inode(f)
            let index = i * 2 + p
            if s.isPrivate(i, p) { return .refused("EFAULT") }
            if s.content[index] == 0 { s.content[index] = 1 }
            s.page[index] |= HostState.pinned
            return .ok
        case .unpin(let i, let p):
            s.page[i * 2 + p] &= ~HostState.pinned
            return .ok
        case .readPinned(let i, let p):
            let value = s.content[i * 2 + p]
            return .read(value <= 1 ? 0 : value)
        }
    }

    func boundSlot(of f: Int, in s: HostState) -> Int {
        for index in 0..<(Int(s.vms) * 2) where s.slot[index] == 2 + UInt8(f) { return index }
        return -1
    }

    /// The file pins its VM (upstream): VM `v` lives while its fd or a live file of it does.
    func pinned(_ v: Int, in s: HostState) -> Bool {
        if s.has(v, HostState.vmOpen) { return true }
        return (0..<Int(s.files)).contains { s.fileAlive($0) && s.owner($0) == v }
    }

    /// The file's last reference went (memslots hold none): its memslot keeps an invalidated
    /// binding, its VM may go, and the inode's pages go with its last file.
    func release(file f: Int, in s: inout HostState) {
        let bound = boundSlot(of: f, in: s)
        if bound >= 0 { s.slot[bound] = 1 }
        let owner = s.owner(f)
        let i = s.inode(f)
        s.file[f] &= ~2
        if !s.inodeAlive(i) {
            for p in 0..<2 {
                s.content[i * 2 + p] = 0
                s.page[i * 2 + p] = 0
            }
        }
        if s.has(owner, HostState.vmAlive), !pinned(owner, in: s) { destroy(vm: owner, in: &s) }
    }

    func destroy(vm v: Int, in s: inout HostState) {
        for slot in 0..<2 { s.slot[v * 2 + slot] = 0 }
        s.vm[v] &= HostState.vmConfidential
    }

    /// Which invariants the transition `before` —`step`→ `after` breaks (bits of
    /// ``HostInvariant``).
    func check(_ before: HostState, _ step: HostStep, _ outcome: HostOutcome, _ after: HostState) -> UInt8 {
        var broken: UInt8 = 0
        switch (step, outcome) {
        case (.hostRead(let f, let p), .read):
            if before.isPrivate(before.inode(f), p) { broken |= HostInvariant.hostNeverReadsPrivate.bit }
        case (.readPinned(let i, let p), .read):
            if before.isPrivate(i, p) { broken |= HostInvariant.hostNeverReadsPrivate.bit }
        case (.convert(let f, let p, let toPrivate, _), .ok):
            let i = before.inode(f)
            if toPrivate, before.isPinned(i, p) { broken |= HostInvariant.noPrivateConversionWhileReferenced.bit }
            let value = after.content[i * 2 + p]
            if !toPrivate, value >= 2, after.has(Int(value - 2), HostState.vmConfidential) {
                broken |= HostInvariant.conversionKeepsPrivateData.bit
            }
        case (.guestRead(let reader, _, _), .read(let value)):
            if value >= 2, Int(value - 2) != reader, after.canRun(Int(value - 2)) {
                broken |= HostInvariant.privateDataStaysWithItsVM.bit
            }
        default:
            break
        }
        return broken
    }

    /// The last step's wrong, in words.
    func detail(
        _ invariant: HostInvariant, _ before: HostState, _ step: HostStep, _ outcome: HostOutcome,
        _ after: HostState
    ) -> String {
        let vm = ExplorerStep.vmName
        let file = ExplorerStep.fileName
        switch (invariant, step) {
        case (.hostNeverReadsPrivate, .readPinned(let i, let p)):
            return
                "page \(p) of \(file(i))'s inode is private, yet the host read it through the pin it took while the page was shared"
        case (.hostNeverReadsPrivate, _):
            return "the host read a private page"
        case (.conversionKeepsPrivateData, .convert(let f, let p, _, _)):
            let value = after.content[before.inode(f) * 2 + p]
            let writer = Int(value - 2)
            let through = before.owner(f) == writer ? "" : " through VM \(vm(before.owner(f)))'s file \(file(f))"
            return
                "page \(p) is shared again and still holds \(hex(ExplorerStep.secret(ofVM: writer))), confidential VM \(vm(writer))'s "
                + "private data\(through): the host can read it"
        case (.noPrivateConversionWhileReferenced, .convert(let f, let p, _, _)):
            return "page \(p) of \(file(f)) became private while the host still holds its pin"
        case (.privateDataStaysWithItsVM, .guestRead(let reader, _, _)):
            guard case .read(let value) = outcome else { break }
            let writer = Int(value - 2)
            return
                "VM \(vm(reader))'s guest read \(hex(ExplorerStep.secret(ofVM: writer))), VM \(vm(writer))'s private data, "
                + "while VM \(vm(writer)) can still run"
        default:
            break
        }
        return invariant.statement
    }
}
