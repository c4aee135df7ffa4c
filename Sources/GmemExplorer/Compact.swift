import GmemModel

/// The search's state: only what the design's rules can tell apart, in fixed-size inline
/// storage (no heap, no fd numbers, no kernel ids, no allocation history). VMs and files are
/// named by creation index (VM `A` = 0, file `F` = 0).
///
/// This is the semantics of ``ExplorerStep`` under a ``Policy`` restated over the abstract
/// state (GMEM-SPEC B5, B8, L1–L6 as the design changes them); the test
/// `compactMatchesModel` holds it against GmemModel transition by transition, outcome by
/// outcome, on every reachable state of a universe.
struct CompactState: Hashable, Sendable {
    /// Per VM: bit 0 fd open, bit 1 alive; bits 4–5 its identity when identities are reused
    /// (otherwise a VM's identity is its creation index).
    var vm = SIMD4<UInt8>()
    /// Per VM × memslot (`vm * 4 + slot`): 0 no memslot, 1 a memslot whose file binding was
    /// invalidated (the file was released, GMEM-SPEC L5), 2 + f bound to file f.
    var slot = SIMD16<UInt8>()
    /// Per file: bit 0 fd open, bit 1 alive; bits 4–5 the VM it was created from.
    var file = SIMD4<UInt8>()
    /// Per file: its VM pointer: 0 none, 1 + identity, ``dangling`` (a destroyed VM's, which
    /// can never match; used when identities are not reused).
    var owner = SIMD4<UInt8>()
    /// Per file, protection (c) only: the VM its data last belonged to (same encoding).
    var data = SIMD4<UInt8>()
    /// Per file × page (`file * 8 + page`): 0 not allocated, 1 zero, 2 + w VM w's secret.
    var page = SIMD32<UInt8>()
    /// VMs and files created so far.
    var vms: UInt8 = 0
    var files: UInt8 = 0

    static let dangling: UInt8 = 7
    static let fdOpen: UInt8 = 1
    static let alive: UInt8 = 2

    @inline(__always) func vmOpen(_ v: Int) -> Bool { vm[v] & Self.fdOpen != 0 }
    @inline(__always) func vmAlive(_ v: Int) -> Bool { vm[v] & Self.alive != 0 }
    @inline(__always) func fileOpen(_ f: Int) -> Bool { file[f] & Self.fdOpen != 0 }
    @inline(__always) func fileAlive(_ f: Int) -> Bool { file[f] & Self.alive != 0 }
    @inline(__always) func creator(_ f: Int) -> Int { Int(file[f] >> 4) }
}

/// One move of the search: an ``ExplorerStep`` in two bytes' worth of fields.
struct Move: Hashable, Sendable {
    enum Kind: UInt8 { case createVM, createFile, bind, write, read, delete, closeVM, closeFile }
    var kind: Kind
    var vm: UInt8 = 0
    var slot: UInt8 = 0
    var file: UInt8 = 0
    var page: UInt8 = 0

    var step: ExplorerStep {
        let v = Int(vm)
        let s = Int(slot)
        let f = Int(file)
        let p = Int(page)
        switch kind {
        case .createVM: return .createVM(vm: v)
        case .createFile: return .createFile(file: f, vm: v)
        case .bind: return .bind(vm: v, slot: s, file: f)
        case .write: return .guestWrite(vm: v, slot: s, page: p)
        case .read: return .guestRead(vm: v, slot: s, page: p)
        case .delete: return .deleteSlot(vm: v, slot: s)
        case .closeVM: return .closeVM(vm: v)
        case .closeFile: return .closeFile(file: f)
        }
    }

    /// The code stored per state (which move reached it).
    var code: UInt16 {
        UInt16(kind.rawValue) << 12 | UInt16(vm) << 9 | UInt16(slot) << 6 | UInt16(file) << 3 | UInt16(page)
    }

    init(kind: Kind, vm: Int = 0, slot: Int = 0, file: Int = 0, page: Int = 0) {
        self.kind = kind
        self.vm = UInt8(vm)
        self.slot = UInt8(slot)
        self.file = UInt8(file)
        self.page = UInt8(page)
    }

    init(code: UInt16) {
        kind = Kind(rawValue: UInt8(code >> 12))!
        vm = UInt8(code >> 9 & 7)
        slot = UInt8(code >> 6 & 7)
        file = UInt8(code >> 3 & 7)
        page = UInt8(code & 7)
    }
}

/// What a move returned, as far as the invariants and a reader of the trace care.
enum CompactOutcome: Hashable, Sendable {
    case ok
    /// Refused (`EINVAL` for every refusal this universe can make); nothing changed.
    case refused
    /// A guest read of this page value (0 zero, 2 + w VM w's secret).
    case read(UInt8)
    case written
    /// No memslot at the address: an MMIO exit.
    case mmio
    /// The memslot's binding is gone: a memory-fault exit (GMEM-SPEC L5, G2).
    case fault
}

/// The design's rules, read once from the policy and the choices.
struct CompactRules: Sendable {
    let universe: Universe
    let choices: ModellingChoices
    let fileHoldsVM: Bool
    let slotHoldsFile: Bool
    let clearsOnLastUnbind: Bool
    let zeroOnUnbind: Bool
    let zeroOnRebind: Bool
    let reuse: Bool
    let namesAtCreation: Bool
    let clearsAtTeardown: Bool

    init(policy: Policy, universe: Universe, choices: ModellingChoices) {
        self.universe = universe
        self.choices = choices
        fileHoldsVM = policy.fileHoldsVMReference
        slotHoldsFile = policy.memslotHoldsFileReference
        clearsOnLastUnbind = policy.clearsOwnerOnLastUnbind
        zeroOnUnbind = policy.zeroesOnUnbind
        zeroOnRebind = policy.zeroesOnRebindToAnotherVM
        reuse = choices.vmIdentitiesReused
        // A file that pins its VM names it from creation, whatever the reading.
        namesAtCreation = choices.fileNamesVM == .atCreation || policy.fileHoldsVMReference
        clearsAtTeardown = policy.clearsOwnerOnLastUnbind && choices.pointerAtTeardown == .cleared
    }

    // MARK: Identities and pointers

    @inline(__always) func identity(_ s: CompactState, _ v: Int) -> UInt8 {
        reuse ? (s.vm[v] >> 4) & 3 : UInt8(v)
    }

    /// The live VM whose identity is `pointer - 1`, or -1.
    @inline(__always) func liveVM(named pointer: UInt8, in s: CompactState) -> Int {
        guard pointer != 0, pointer != CompactState.dangling else { return -1 }
        for v in 0..<Int(s.vms) where s.vmAlive(v) && identity(s, v) == pointer - 1 { return v }
        return -1
    }

    // MARK: Moves

    /// Calls `body` with every move userspace can make in `s` (each names only objects
    /// whose fds are open), in the order of ``ExplorerState/steps(in:)``.
    @inline(__always) func forEachMove(_ s: CompactState, _ body: (Move) -> Void) {
        let vms = Int(s.vms)
        let files = Int(s.files)
        if vms < universe.vms { body(Move(kind: .createVM, vm: vms)) }
        if files < universe.files {
            for v in 0..<vms where s.vmOpen(v) { body(Move(kind: .createFile, vm: v, file: files)) }
        }
        for v in 0..<vms where s.vmOpen(v) {
            for slot in 0..<universe.slots {
                for f in 0..<files where s.fileOpen(f) { body(Move(kind: .bind, vm: v, slot: slot, file: f)) }
            }
        }
        for v in 0..<vms where s.vmOpen(v) {
            for slot in 0..<universe.slots {
                for p in 0..<universe.pagesPerFile {
                    body(Move(kind: .write, vm: v, slot: slot, page: p))
                    body(Move(kind: .read, vm: v, slot: slot, page: p))
                }
            }
        }
        for v in 0..<vms where s.vmOpen(v) {
            for slot in 0..<universe.slots { body(Move(kind: .delete, vm: v, slot: slot)) }
        }
        for v in 0..<vms where s.vmOpen(v) { body(Move(kind: .closeVM, vm: v)) }
        for f in 0..<files where s.fileOpen(f) { body(Move(kind: .closeFile, file: f)) }
    }

    /// Applies `move` to `s`. A refused move leaves `s` as it was (GMEM-SPEC P1).
    @inline(__always) func apply(_ move: Move, to s: inout CompactState) -> CompactOutcome {
        let v = Int(move.vm)
        let f = Int(move.file)
        switch move.kind {
        case .createVM:
            var flags = CompactState.fdOpen | CompactState.alive
            if reuse {
                // The lowest identity no live VM holds (freed memory is reused first).
                var taken: UInt8 = 0
                for other in 0..<Int(s.vms) where s.vmAlive(other) { taken |= 1 << identity(s, other) }
                var id: UInt8 = 0
                while taken & (1 << id) != 0 { id += 1 }
                flags |= id << 4
            }
            s.vm[v] = flags
            s.vms += 1
            return .ok
        case .createFile:
            s.file[f] = CompactState.fdOpen | CompactState.alive | UInt8(v) << 4
            let pointer = namesAtCreation ? identity(s, v) + 1 : 0
            s.owner[f] = pointer
            s.data[f] = zeroOnRebind ? pointer : 0
            s.files += 1
            return .ok
        case .bind:
            let index = v * 4 + Int(move.slot)
            // An existing memslot cannot be re-bound (kvm_set_memory_region: EINVAL).
            if s.slot[index] != 0 { return .refused }
            // The whole file is bound at most once (GMEM-SPEC B6).
            if boundSlot(of: f, in: s) >= 0 { return .refused }
            // The bind-time owner check (B5 upstream; the design's rule otherwise).
            let me = identity(s, v) + 1
            if s.owner[f] != 0 && s.owner[f] != me { return .refused }
            if zeroOnRebind {
                if s.data[f] != me { clearPages(of: f, in: &s) }
                s.data[f] = me
            }
            s.owner[f] = me
            s.slot[index] = 2 + UInt8(f)
            return .ok
        case .delete:
            let index = v * 4 + Int(move.slot)
            let was = s.slot[index]
            if was == 0 { return .refused }
            s.slot[index] = 0
            if was >= 2 { unbind(file: Int(was - 2), in: &s) }
            return .ok
        case .closeVM:
            s.vm[v] &= ~CompactState.fdOpen
            if !pinned(v, in: s) { destroy(vm: v, in: &s) }
            return .ok
        case .closeFile:
            s.file[f] &= ~CompactState.fdOpen
            if !(slotHoldsFile && boundSlot(of: f, in: s) >= 0) { release(file: f, in: &s) }
            return .ok
        case .write, .read:
            let entry = s.slot[v * 4 + Int(move.slot)]
            if entry == 0 { return .mmio }
            if entry == 1 { return .fault }
            let index = Int(entry - 2) * 8 + Int(move.page)
            if move.kind == .write {
                s.page[index] = 2 + UInt8(v)
                return .written
            }
            if s.page[index] == 0 { s.page[index] = 1 }  // a read allocates a zero page
            return .read(s.page[index] == 1 ? 0 : s.page[index])
        }
    }

    /// The memslot index (`vm * 4 + slot`) file `f` is bound as, or -1.
    @inline(__always) func boundSlot(of f: Int, in s: CompactState) -> Int {
        let target = 2 + UInt8(f)
        for index in 0..<(Int(s.vms) * 4) where s.slot[index] == target { return index }
        return -1
    }

    @inline(__always) func clearPages(of f: Int, in s: inout CompactState) {
        for p in 0..<8 { s.page[f * 8 + p] = 0 }
    }

    /// Whether VM `v` is still referenced: its fd, or (when files pin their VM) a live file
    /// created from it.
    @inline(__always) func pinned(_ v: Int, in s: CompactState) -> Bool {
        if s.vmOpen(v) { return true }
        guard fileHoldsVM else { return false }
        for f in 0..<Int(s.files) where s.fileAlive(f) && s.creator(f) == v { return true }
        return false
    }

    /// A binding of file `f` went (memslot deleted, or its VM destroyed).
    func unbind(file f: Int, in s: inout CompactState) {
        if zeroOnUnbind { clearPages(of: f, in: &s) }
        if clearsOnLastUnbind { s.owner[f] = 0 }
        if slotHoldsFile, !s.fileOpen(f) { release(file: f, in: &s) }
    }

    /// The last reference of file `f` went: its memslot (if any) loses the binding but stays
    /// (GMEM-SPEC L5), its pages are freed, and a pinned VM loses that reference.
    func release(file f: Int, in s: inout CompactState) {
        let bound = boundSlot(of: f, in: s)
        if bound >= 0 { s.slot[bound] = 1 }
        let creator = s.creator(f)
        s.file[f] = 0
        s.owner[f] = 0
        s.data[f] = 0
        clearPages(of: f, in: &s)
        if fileHoldsVM, s.vmAlive(creator), !pinned(creator, in: s) { destroy(vm: creator, in: &s) }
    }

    /// VM `v`'s last reference went: its memslots are unbound in slot order, then the files
    /// that still name it are told (``ModellingChoices/PointerAtTeardown``).
    func destroy(vm v: Int, in s: inout CompactState) {
        let me = identity(s, v) + 1
        for slot in 0..<4 {
            let entry = s.slot[v * 4 + slot]
            s.slot[v * 4 + slot] = 0
            if entry >= 2 { unbind(file: Int(entry - 2), in: &s) }
        }
        s.vm[v] = 0
        let gone = reuse ? me : CompactState.dangling
        for f in 0..<Int(s.files) where s.fileAlive(f) {
            if s.owner[f] == me { s.owner[f] = clearsAtTeardown ? 0 : gone }
            if s.data[f] == me { s.data[f] = gone }
        }
    }

    // MARK: Facts the invariants read

    /// Pages of live files that hold VM `w`'s secret.
    @inline(__always) func secretPages(of w: Int, in s: CompactState) -> Int {
        var count = 0
        let token = 2 + UInt8(w)
        for f in 0..<Int(s.files) where s.fileAlive(f) {
            for p in 0..<universe.pagesPerFile where s.page[f * 8 + p] == token { count += 1 }
        }
        return count
    }

    @inline(__always) func pages(of f: Int, in s: CompactState) -> UInt64 {
        var word: UInt64 = 0
        for p in 0..<8 { word |= UInt64(s.page[f * 8 + p]) << (p * 8) }
        return word
    }
}
