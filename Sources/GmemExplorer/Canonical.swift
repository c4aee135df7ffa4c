/// A stored state: a ``CompactState`` packed into 256 bits, after symmetry reduction.
struct StateKey: Hashable, Sendable {
    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    @inline(__always) var hash: UInt64 {
        var h = w0 &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 29) ^ w1) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 32) ^ w2) &* 0x94D0_49BB_1331_11EB
        h = (h ^ (h >> 29) ^ w3) &* 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 31)
    }

    @inline(__always) static func < (a: StateKey, b: StateKey) -> Bool {
        if a.w3 != b.w3 { return a.w3 < b.w3 }
        if a.w2 != b.w2 { return a.w2 < b.w2 }
        if a.w1 != b.w1 { return a.w1 < b.w1 }
        return a.w0 < b.w0
    }
}

/// Packs states into keys and back, and picks one representative per symmetry class.
///
/// Symmetry: VMs are interchangeable among themselves, and so are files, and so are the
/// memslot numbers *of each VM* (a memslot's number only places it in guest-physical memory,
/// and every binding covers a whole file at its own address). Renaming VMs renames their
/// secrets, the files' creators and pointers; renaming files renames the memslots' bindings.
/// Every invariant is invariant under these renamings, so the search stores one state per
/// class (the least packed key over the renamings that sort objects by a renaming-invariant
/// signature) and still finds shortest violations.
struct Canonicalizer: Sendable {
    let rules: CompactRules
    let symmetry: Bool
    let slots: Int
    let pages: Int

    init(rules: CompactRules, symmetry: Bool) {
        self.rules = rules
        self.symmetry = symmetry
        slots = rules.universe.slots
        pages = rules.universe.pagesPerFile
    }

    // MARK: Packing

    @inline(__always) private static func put(_ value: UInt8, bits: Int, into key: inout StateKey, at offset: inout Int)
    {
        let v = UInt64(value) & ((1 << UInt64(bits)) - 1)
        let word = offset >> 6
        let shift = offset & 63
        switch word {
        case 0: key.w0 |= v << shift
        case 1: key.w1 |= v << shift
        case 2: key.w2 |= v << shift
        default: key.w3 |= v << shift
        }
        if shift + bits > 64 {
            let rest = v >> (64 - shift)
            switch word {
            case 0: key.w1 |= rest
            case 1: key.w2 |= rest
            default: key.w3 |= rest
            }
        }
        offset += bits
    }

    @inline(__always) private static func take(bits: Int, from key: StateKey, at offset: inout Int) -> UInt8 {
        let word = offset >> 6
        let shift = offset & 63
        @inline(__always) func at(_ index: Int) -> UInt64 {
            switch index {
            case 0: key.w0
            case 1: key.w1
            case 2: key.w2
            case 3: key.w3
            default: 0
            }
        }
        var v = at(word) >> shift
        if shift + bits > 64 { v |= at(word + 1) << (64 - shift) }
        offset += bits
        return UInt8(truncatingIfNeeded: v & ((1 << UInt64(bits)) - 1))
    }

    /// The fields, most significant last: counts first so states order by size.
    @inline(__always) func pack(_ s: CompactState) -> StateKey {
        var key = StateKey()
        var at = 0
        let vms = Int(s.vms)
        let files = Int(s.files)
        Self.put(s.vms, bits: 3, into: &key, at: &at)
        Self.put(s.files, bits: 3, into: &key, at: &at)
        for v in 0..<vms {
            Self.put(s.vm[v] & 3, bits: 2, into: &key, at: &at)
            if rules.reuse { Self.put(s.vm[v] >> 4, bits: 2, into: &key, at: &at) }
            for slot in 0..<slots { Self.put(s.slot[v * 4 + slot], bits: 3, into: &key, at: &at) }
        }
        for f in 0..<files {
            Self.put(s.file[f] & 3, bits: 2, into: &key, at: &at)
            Self.put(s.file[f] >> 4, bits: 2, into: &key, at: &at)
            Self.put(s.owner[f], bits: 3, into: &key, at: &at)
            if rules.zeroOnRebind { Self.put(s.data[f], bits: 3, into: &key, at: &at) }
            for p in 0..<pages { Self.put(s.page[f * 8 + p], bits: 3, into: &key, at: &at) }
        }
        return key
    }

    func unpack(_ key: StateKey) -> CompactState {
        var s = CompactState()
        var at = 0
        s.vms = Self.take(bits: 3, from: key, at: &at)
        s.files = Self.take(bits: 3, from: key, at: &at)
        for v in 0..<Int(s.vms) {
            s.vm[v] = Self.take(bits: 2, from: key, at: &at)
            if rules.reuse { s.vm[v] |= Self.take(bits: 2, from: key, at: &at) << 4 }
            for slot in 0..<slots { s.slot[v * 4 + slot] = Self.take(bits: 3, from: key, at: &at) }
        }
        for f in 0..<Int(s.files) {
            s.file[f] = Self.take(bits: 2, from: key, at: &at)
            s.file[f] |= Self.take(bits: 2, from: key, at: &at) << 4
            s.owner[f] = Self.take(bits: 3, from: key, at: &at)
            if rules.zeroOnRebind { s.data[f] = Self.take(bits: 3, from: key, at: &at) }
            for p in 0..<pages { s.page[f * 8 + p] = Self.take(bits: 3, from: key, at: &at) }
        }
        return s
    }

    // MARK: Symmetry

    /// Every permutation of 0..<n (n ≤ 4), as `perm[i]` = the old index placed at i.
    static let permutations: [[SIMD4<UInt8>]] = (0...4).map { n in
        var result: [SIMD4<UInt8>] = []
        func extend(_ prefix: [UInt8]) {
            if prefix.count == n {
                var perm = SIMD4<UInt8>(0, 1, 2, 3)
                for (i, value) in prefix.enumerated() { perm[i] = value }
                result.append(perm)
                return
            }
            for i in 0..<UInt8(n) where !prefix.contains(i) { extend(prefix + [i]) }
        }
        extend([])
        return result
    }

    /// A VM's signature: what renaming files cannot change.
    @inline(__always) private func signature(vm v: Int, _ s: CompactState) -> UInt32 {
        var kinds = SIMD4<UInt8>()
        for slot in 0..<slots { kinds[slot] = min(s.slot[v * 4 + slot], 2) }
        // Sorted slot kinds, as a number.
        var counts: UInt32 = 0
        for slot in 0..<slots { counts += 1 << (UInt32(kinds[slot]) * 3) }
        var created: UInt32 = 0
        for f in 0..<Int(s.files) where s.fileAlive(f) && s.creator(f) == v { created += 1 }
        let secrets = UInt32(rules.secretPages(of: v, in: s))
        return UInt32(s.vm[v]) << 24 | counts << 12 | created << 8 | secrets
    }

    /// A file's signature: what renaming VMs cannot change.
    @inline(__always) private func signature(file f: Int, _ s: CompactState) -> UInt64 {
        var sig = UInt64(s.file[f] & 3) << 60
        let owner = s.owner[f]
        sig |= UInt64(owner == 0 ? 0 : owner == CompactState.dangling ? 1 : 2) << 56
        sig |= UInt64(rules.boundSlot(of: f, in: s) >= 0 ? 1 : 0) << 55
        for p in 0..<pages { sig |= UInt64(min(s.page[f * 8 + p], 2)) << (p * 2) }
        return sig
    }

    /// The representative of `s`'s symmetry class, packed.
    @inline(__always) func canonical(_ s: CompactState) -> StateKey {
        guard symmetry else { return pack(s) }
        let vms = Int(s.vms)
        let files = Int(s.files)
        var vmSig = SIMD4<UInt32>()
        var fileSig = SIMD4<UInt64>()
        for v in 0..<vms { vmSig[v] = signature(vm: v, s) }
        for f in 0..<files { fileSig[f] = signature(file: f, s) }
        let (vmOrder, vmTies) = Self.order(vmSig, count: vms)
        let (fileOrder, fileTies) = Self.order(fileSig, count: files)
        // The common case: every signature differs, and one renaming sorts them.
        if !vmTies, !fileTies { return pack(renamed(s, vmPerm: vmOrder, filePerm: fileOrder)) }
        var best = StateKey(w0: .max, w1: .max, w2: .max, w3: .max)
        for vmPerm in vmTies ? Self.permutations[vms] : [vmOrder] {
            if vmTies, !Self.sorted(vmSig, by: vmPerm, count: vms) { continue }
            for filePerm in fileTies ? Self.permutations[files] : [fileOrder] {
                if fileTies, !Self.sorted(fileSig, by: filePerm, count: files) { continue }
                let key = pack(renamed(s, vmPerm: vmPerm, filePerm: filePerm))
                if key < best { best = key }
            }
        }
        return best
    }

    @inline(__always) static func sorted<T: SIMD>(_ sig: T, by perm: SIMD4<UInt8>, count: Int) -> Bool
    where T.Scalar: Comparable {
        var i = 1
        while i < count {
            if sig[Int(perm[i - 1])] > sig[Int(perm[i])] { return false }
            i += 1
        }
        return true
    }

    /// The indices sorted by signature, and whether two signatures tie.
    @inline(__always) static func order<T: SIMD>(_ sig: T, count: Int) -> (SIMD4<UInt8>, Bool)
    where T.Scalar: Comparable {
        var order = SIMD4<UInt8>(0, 1, 2, 3)
        var i = 1
        while i < count {
            var k = i
            let value = order[i]
            while k > 0, sig[Int(order[k - 1])] > sig[Int(value)] {
                order[k] = order[k - 1]
                k -= 1
            }
            order[k] = value
            i += 1
        }
        var ties = false
        i = 1
        while i < count {
            if sig[Int(order[i - 1])] == sig[Int(order[i])] { ties = true }
            i += 1
        }
        return (order, ties)
    }

    /// `s` with VM `vmPerm[i]` renamed i and file `filePerm[j]` renamed j, each VM's memslots
    /// sorted.
    @inline(__always) func renamed(_ s: CompactState, vmPerm: SIMD4<UInt8>, filePerm: SIMD4<UInt8>) -> CompactState {
        let vms = Int(s.vms)
        let files = Int(s.files)
        var vmNew = SIMD4<UInt8>(0, 1, 2, 3)
        var fileNew = SIMD4<UInt8>(0, 1, 2, 3)
        for i in 0..<vms { vmNew[Int(vmPerm[i])] = UInt8(i) }
        for j in 0..<files { fileNew[Int(filePerm[j])] = UInt8(j) }
        var r = CompactState()
        r.vms = s.vms
        r.files = s.files
        for i in 0..<vms {
            let old = Int(vmPerm[i])
            r.vm[i] = s.vm[old]
            for slot in 0..<slots {
                let e = s.slot[old * 4 + slot]
                let value = e >= 2 ? 2 + fileNew[Int(e - 2)] : e
                // Insertion sort of this VM's memslots.
                var k = slot
                while k > 0, r.slot[i * 4 + k - 1] > value {
                    r.slot[i * 4 + k] = r.slot[i * 4 + k - 1]
                    k -= 1
                }
                r.slot[i * 4 + k] = value
            }
        }
        let reuse = rules.reuse
        for j in 0..<files {
            let old = Int(filePerm[j])
            r.file[j] = s.file[old] & 3 | (s.fileAlive(old) ? vmNew[s.creator(old)] << 4 : 0)
            let owner = s.owner[old]
            let data = s.data[old]
            r.owner[j] = reuse || owner == 0 || owner == CompactState.dangling ? owner : 1 + vmNew[Int(owner - 1)]
            r.data[j] = reuse || data == 0 || data == CompactState.dangling ? data : 1 + vmNew[Int(data - 1)]
            for p in 0..<pages {
                let value = s.page[old * 8 + p]
                r.page[j * 8 + p] = value >= 2 ? 2 + vmNew[Int(value - 2)] : value
            }
        }
        return r
    }
}
