import GmemModel

/// Seeded random scenarios over the whole scenario language, run on the model and the
/// kernel step by step. Every action of the language is generated, with every key, valid
/// and invalid values, all kinds of object as operands (VMs, vCPUs, stats fds,
/// guest_memfds, memfds, /dev/kvm, fds 0–2, closed and raw descriptors, mappings) and
/// reused names. The first divergence is shrunk to a minimal scenario (steps removed while
/// it persists, names kept declared) and returned with the seed.
///
/// Everything generated stays inside the kernel backend's memory budget by construction:
/// files are at most 64 KiB, allocations at most 64 KiB, and at most a few VMs per sequence.
public struct RandomDifferential: Sendable {
    /// The runner each generated scenario runs on (its selection, capabilities and budget).
    public let runner: ConformanceRunner
    /// Operations per sequence; each sequence starts from a fresh model and a fresh set of
    /// kernel objects.
    public let sequenceLength: Int

    /// A generator of random sequences.
    /// - Parameters:
    ///   - runner: The runner each generated scenario runs on.
    ///   - sequenceLength: Operations per sequence.
    public init(runner: ConformanceRunner, sequenceLength: Int = 40) {
        self.runner = runner
        self.sequenceLength = sequenceLength
    }

    /// The first difference found between the model and the kernel, with its shrunk form.
    public struct Divergence: Sendable {
        /// What differed, as the runner reported it for the original sequence.
        public let problem: String
        /// The generated sequence in which the difference first showed.
        public let original: Scenario
        /// The shortest sequence found that still shows it (steps removed while it persists).
        public let minimal: Scenario
    }

    /// An action keyword and the class of its outcome ("EINVAL", "ok", "value", "SIGBUS" …).
    public struct CoverageKey: Hashable, Sendable {
        /// The action keyword of the scenario language (`create_vm`, `mmap` ...).
        public let action: String
        /// The class of outcome it ended in (`ok`, `EINVAL`, `SIGBUS` ...).
        public let outcome: String
    }

    /// What one ``RandomDifferential/run(seed:operations:)`` did and found.
    public struct Report: Sendable {
        /// The seed the run started from: the same seed runs the same sequences again.
        public let seed: UInt64
        /// Operations run in all sequences.
        public let operationsRun: Int
        /// Sequences run.
        public let sequences: Int
        /// Sequences the kernel backend could not finish (a step it cannot perform, or one
        /// the memory budget refused): failures, with the first such problem.
        public let failedSequences: Int
        /// The first problem of a sequence the kernel backend could not finish, if any.
        public let firstFailure: String?
        /// The first divergence, shrunk; nil when the model and the kernel agreed throughout
        /// (but for known kernel bugs, counted below).
        public let divergence: Divergence?
        /// Sequences whose only divergence was a known kernel bug (`KnownKernelBug`): the
        /// kernel side of each stopped there and the run went on.
        public var knownKernelBugs = 0
        /// The first of them: the sequence's name and the runner's problem line.
        public var firstKnownKernelBug: String?
        /// Steps per action keyword.
        public let coverage: [String: Int]
        /// Steps per action keyword and outcome class.
        public let outcomes: [CoverageKey: Int]
    }

    /// Runs `operations` random operations from `seed`; stops at the first divergence.
    public func run(seed: UInt64, operations: Int) -> Report {
        var generator = SplitMix64(seed: seed)
        var done = 0
        var sequences = 0
        var failed = 0
        var firstFailure: String?
        var kernelBugs = 0
        var firstKernelBug: String?
        var coverage: [String: Int] = [:]
        var outcomes: [CoverageKey: Int] = [:]
        while done < operations {
            let length = min(sequenceLength, operations - done)
            let scenario = Self.sequence(length: length, generator: &generator, name: "random-seed\(seed)-\(sequences)")
            sequences += 1
            done += length
            let result = runner.run(scenario)
            for step in result.steps {
                let keyword = step.step.action.keyword
                coverage[keyword, default: 0] += 1
                if let outcome = step.model ?? step.kernel {
                    outcomes[CoverageKey(action: keyword, outcome: Self.outcomeClass(outcome)), default: 0] += 1
                }
            }
            switch result.status {
            case .diverged:
                let minimal = shrink(scenario)
                var report = Report(
                    seed: seed, operationsRun: done, sequences: sequences, failedSequences: failed,
                    firstFailure: firstFailure,
                    divergence: Divergence(
                        problem: result.firstProblem ?? "divergence", original: scenario, minimal: minimal),
                    coverage: coverage, outcomes: outcomes)
                (report.knownKernelBugs, report.firstKnownKernelBug) = (kernelBugs, firstKernelBug)
                return report
            case .kernelBug:
                kernelBugs += 1
                if firstKernelBug == nil {
                    let problem = result.steps.first { $0.knownKernelBug != nil }?.problems.first ?? "known kernel bug"
                    firstKernelBug = "\(scenario.name): \(problem)"
                }
            case .failed:
                failed += 1
                if firstFailure == nil { firstFailure = "\(scenario.name): \(result.firstProblem ?? "failed")" }
            default:
                break
            }
        }
        var report = Report(
            seed: seed, operationsRun: done, sequences: sequences, failedSequences: failed, firstFailure: firstFailure,
            divergence: nil, coverage: coverage, outcomes: outcomes)
        (report.knownKernelBugs, report.firstKnownKernelBug) = (kernelBugs, firstKernelBug)
        return report
    }

    static func outcomeClass(_ outcome: Outcome) -> String {
        switch outcome {
        case .ok: "ok"
        case .value: "value"
        case .written: "written"
        case .errno(let code): errnoName(code)
        case .anyError: "error"
        case .signal(let signal): signal == 7 ? "SIGBUS" : signal == 11 ? "SIGSEGV" : "signal"
        case .memoryFault: "fault"
        case .mmio: "mmio"
        case .userspaceFault: "efault"
        case .errnoAt(let code, _): errnoName(code) + "@offset"
        case .status: "stat"
        case .unsupported: "unsupported"
        case .budgetRefusal: "budget"
        }
    }

    /// Removes steps while the scenario still diverges, keeping every used name declared.
    func shrink(_ scenario: Scenario) -> Scenario {
        var current = scenario
        // Drop everything after the first divergent step.
        if let index = runner.run(current).steps.firstIndex(where: { !$0.problems.isEmpty }) {
            current.steps = Array(current.steps.prefix(index + 1))
        }
        var chunk = max(current.steps.count / 2, 1)
        while chunk >= 1 {
            var start = 0
            var changed = false
            while start < current.steps.count - 1 {
                var candidate = current
                let end = min(start + chunk, current.steps.count - 1)  // keep the divergent last step
                if end <= start { break }
                candidate.steps.removeSubrange(start..<end)
                if candidate.undeclaredUses.isEmpty, runner.run(candidate).status == .diverged {
                    current = candidate
                    changed = true
                } else {
                    start += chunk
                }
            }
            if !changed { chunk /= 2 }
        }
        current.name += "-minimal"
        return current
    }

    // MARK: - Generation

    /// A random sequence of `length` actions over the whole language.
    static func sequence(length: Int, generator: inout SplitMix64, name: String) -> Scenario {
        var world = World()
        var steps: [Step] = []
        steps.reserveCapacity(length)
        for _ in 0..<length {
            steps.append(Step(world.next(&generator)))
        }
        return Scenario(name: name, rules: [], steps: steps, source: "random")
    }

    /// The names bound so far in one sequence, by what they were created as.
    struct World {
        enum Kind: Int, CaseIterable {
            case vm, vcpu, stats, gmem, memfd, kvm, standard, raw
            var index: Int { rawValue }
        }
        /// Names by kind (an array, not a dictionary: generation must not depend on hashing).
        var byKind: [[String]] = Array(repeating: [], count: Kind.allCases.count)
        /// Each mapping, whether it is of a vCPU fd, and (once a munmap named it) how many vCPU
        /// mappings had been made by then.
        var mappings: [(name: String, length: UInt64, vcpu: Bool, unmappedAt: Int?)] = []
        /// The vCPU-fd mappings asked for so far.
        var vcpuMappings = 0
        var vms = 0
        var counter = 0

        mutating func fresh(_ prefix: String, _ g: inout SplitMix64) -> String {
            // Now and then a name is bound again (the old object stays open, unnamed).
            if g.next(12) == 0, let reused = (byKind.flatMap { $0 } + mappings.map(\.name)).randomElement(using: &g) {
                if reused.hasPrefix(prefix) { return reused }
            }
            counter += 1
            return "\(prefix)\(counter)"
        }

        mutating func add(_ name: String, _ kind: Kind) {
            for index in byKind.indices { byKind[index].removeAll { $0 == name } }
            mappings.removeAll { $0.name == name }
            byKind[kind.index].append(name)
        }

        mutating func addMapping(_ name: String, _ length: UInt64, vcpu: Bool) {
            for index in byKind.indices { byKind[index].removeAll { $0 == name } }
            mappings.removeAll { $0.name == name }
            mappings.append((name, length, vcpu, nil))
            if vcpu { vcpuMappings += 1 }
        }

        /// The mappings a host read or write may go through. Not one a munmap has named since
        /// when a vCPU fd was mapped: the model places a mapping in the window an unmapped one
        /// freed, as Linux does, so the stale name may reach that vCPU's kvm_run, which the
        /// model does not describe and the kernel backend refuses to compare after a guest step.
        var accessibleMappings: [(name: String, length: UInt64, vcpu: Bool, unmappedAt: Int?)] {
            mappings.filter { mapping in mapping.unmappedAt.map { $0 == vcpuMappings } ?? true }
        }

        /// A declared descriptor: mostly of `preferred` kinds, sometimes any.
        func pick(_ preferred: [Kind], _ g: inout SplitMix64, safeForFiles: Bool = false) -> String? {
            var pool = preferred.flatMap { names($0) }
            if pool.isEmpty || g.next(5) == 0 {
                // Any kind, but a standard stream only where the action asks for one: a KVM
                // ioctl on gmem check's own stdin answers as whatever the shell put there.
                pool = Kind.allCases.filter { $0 != .standard || preferred.contains(.standard) }
                    .flatMap { names($0) }
            }
            if safeForFiles { pool.removeAll { names(.standard).contains($0) } }
            return pool.isEmpty ? nil : pool[Int(g.next(UInt64(pool.count)))]
        }

        var hasDescriptor: Bool { byKind.contains { !$0.isEmpty } }

        func names(_ kind: Kind) -> [String] { byKind[kind.index] }

        static let sizes: [UInt64] = [4096, 8192, 16384, 65536]
        static let badSizes: [UInt64] = [
            0, 1, 4095, 4097, 0xFFFF_FFFF_FFFF_F000, 0x8000_0000_0000_0000, UInt64(bitPattern: -4096),
        ]

        func size(_ g: inout SplitMix64) -> UInt64 {
            g.next(5) == 0 ? g.pick(Self.badSizes) : g.pick(Self.sizes)
        }

        mutating func next(_ g: inout SplitMix64) -> Action {
            if vms == 0 || !hasDescriptor { return createVM(&g) }
            switch g.next(32) {
            case 0: return vms < 3 ? createVM(&g) : region(&g)
            case 1:
                guard let vm = pick([.vm], &g) else { return createVM(&g) }
                let name = fresh("C", &g)
                add(name, .vcpu)
                return .createVCPU(
                    name: name, vm: vm, id: g.next(8) == 0 ? g.pick([16383, 16384, 1 << 32, UInt64.max]) : g.next(4))
            case 2:
                guard let of = pick([.vm, .vcpu], &g) else { return createVM(&g) }
                let name = fresh("S", &g)
                add(name, .stats)
                return .createStats(name: name, of: of)
            case 3, 4: return createFile(&g)
            case 5:
                let name = fresh("M", &g)
                add(name, .memfd)
                return .createMemfd(
                    name: name,
                    size: g.next(6) == 0
                        ? g.pick([0, UInt64(bitPattern: -1), 0x8000_0000_0000_0000, 5000]) : g.pick(Self.sizes))
            case 6:
                let name = fresh("K", &g)
                add(name, .kvm)
                return .openKVM(name: name)
            case 7:
                let name = fresh("Z", &g)
                let fd: Int32 = g.pick([0, 1, 2, -1, 1_000_000, Int32.min])
                add(name, fd >= 0 && fd <= 2 ? .standard : .raw)
                return .rawDescriptor(name: name, fd: fd)
            case 8:
                guard let of = pick(Kind.allCases, &g) else { return createVM(&g) }
                let kind = Kind.allCases.first { names($0).contains(of) } ?? .raw
                let name = fresh(kind == .vm ? "V" : "D", &g)
                add(name, kind == .raw ? .raw : kind)
                return .dup(name: name, of: of)
            case 9:
                guard let name = pick(Kind.allCases, &g, safeForFiles: true) else { return createVM(&g) }
                return .close(name)
            case 10:
                guard let of = pick([.memfd, .gmem, .kvm], &g, safeForFiles: true) else { return createFile(&g) }
                let kind = Kind.allCases.first { names($0).contains(of) } ?? .raw
                let name = fresh("R", &g)
                add(name, kind == .memfd || kind == .kvm ? kind : .raw)
                return .reopen(name: name, of: of)
            case 11, 12, 13: return region(&g)
            case 14:
                guard let vm = pick([.vm], &g) else { return createVM(&g) }
                return .setRegion(
                    vm: vm, version: g.next(6) == 0 ? 1 : 2, slot: slot(&g), flags: 0, gpa: 0, size: 0,
                    userspace: .literal(0), file: nil, offset: 0)
            case 15:
                guard let file = pick([.gmem, .memfd], &g, safeForFiles: true) else { return createFile(&g) }
                let mode: Int32 = g.pick([1, 1, 3, 3, 0, 2, 0x10, 0x11, 0x8, 0x4, 0x40, 0x80, Int32.min])
                let offset: Int64 =
                    g.next(6) == 0
                    ? g.pick([-4096, 1, Int64.max - 4095, 0x7FFF_FFFF_FFFF_0000]) : g.pick([0, 4096, 8192, 12288, 100])
                // A memfd allocates whatever length it is given (past its end with KEEP_SIZE):
                // only lengths that fit the memory budget, or that are refused before allocating.
                let isMemfd = names(.memfd).contains(file)
                var length: Int64 =
                    g.next(6) == 0 ? g.pick([0, -1, 4095, Int64.max]) : g.pick([4096, 8192, 16384, 65536, 5000])
                if isMemfd, mode & 2 == 0, length > 65536, offset.addingReportingOverflow(length).overflow == false {
                    length = 65536
                }
                return .fallocate(file: file, mode: mode, offset: offset, length: length)
            case 16:
                guard let file = pick([.gmem, .memfd, .vm, .stats, .vcpu, .kvm], &g, safeForFiles: true) else {
                    return createFile(&g)
                }
                var operation = g.pick(ModelKernel.FileOperation.allCases)
                if operation == .fchmod, names(.kvm).contains(file) { operation = .fsync }
                return .fileOperation(file: file, operation)
            case 17, 18:
                guard let file = pick([.gmem, .memfd, .vcpu], &g, safeForFiles: true) else { return createFile(&g) }
                let isVCPU = names(.vcpu).contains(file)
                let name = fresh("P", &g)
                let length: UInt64 =
                    g.next(8) == 0
                    ? g.pick([0, 0xFFFF_FFFF_FFFF_F000, 0x8000_0000_0000_0000, 1 << 47])
                    : g.pick([4096, 8192, 16384, 5000])
                let offset: UInt64 =
                    g.next(8) == 0 ? g.pick([1, 0xFFFF_FFFF_FFFF_F000, 1 << 62]) : g.pick([0, 0, 4096])
                addMapping(name, length, vcpu: isVCPU)
                return .mmap(
                    name: name, file: file, protection: g.pick([3, 3, 1, 2, 0, 7, 4, Int32(bitPattern: 0x8000_0000)]),
                    flags: g.pick([1, 1, 2, 3, 0, 4]), offset: offset, length: length)
            case 19:
                let name = fresh("U", &g)
                let length: UInt64 =
                    g.next(8) == 0 ? g.pick([0, 0xFFFF_FFFF_FFFF_F000, 1 << 47]) : g.pick([4096, 16384])
                addMapping(name, length, vcpu: false)
                return .mapAnonymous(name: name, length: length, protection: g.pick([3, 3, 1, 0]))
            case 20:
                guard let mapping = mappings.isEmpty ? nil : g.pick(mappings) else { return mapAnon(&g) }
                let offset: UInt64 =
                    g.next(6) == 0
                    ? g.pick([1, 4095, 1 << 40, UInt64(bitPattern: -4096)]) : g.pick([0, 0, 4096, 8192])
                let length: UInt64 =
                    g.next(6) == 0
                    ? g.pick([0, 1, 0xFFFF_FFFF_FFFF_F000, 1 << 32]) : g.pick([4096, 8192, 16384, 1 << 20])
                if let index = mappings.firstIndex(where: { $0.name == mapping.name }),
                    mappings[index].unmappedAt == nil
                {
                    mappings[index].unmappedAt = vcpuMappings
                }
                return .munmap(mapping: mapping.name, offset: offset, length: length)
            case 21:
                guard let mapping = mappings.isEmpty ? nil : g.pick(mappings) else { return mapAnon(&g) }
                let offset: UInt64 = g.next(8) == 0 ? g.pick([1, 1 << 40]) : g.pick([0, 4096])
                let length: UInt64 =
                    g.next(8) == 0
                    ? g.pick([0, UInt64(bitPattern: -1), 1 << 32]) : g.pick([4096, 8192, 16384, 1 << 20])
                return .madvise(
                    mapping: mapping.name, offset: offset, length: length,
                    advice: g.pick([0, 1, 2, 3, 4, 4, 8, 9, 9, 10, 11, 5, 200, -1]))
            case 22, 23:
                let pool = accessibleMappings
                guard let mapping = pool.isEmpty ? nil : g.pick(pool) else { return mapAnon(&g) }
                let width = g.pick(AccessWidth.allCases)
                var offset: UInt64 = g.pick([0, 0, 8, 4095, 4094, 4096, 4100, 8191, 12288, 16380, 20480, 1 << 20])
                if mapping.vcpu { offset = g.pick([8192, 8200, 12288, 1 << 20]) }
                if g.next(2) == 0 { return .hostRead(mapping: mapping.name, offset: offset, width: width) }
                return .hostWrite(
                    mapping: mapping.name, offset: offset, width: width,
                    value: g.next(width.maxValue == .max ? 1 << 62 : width.maxValue + 1))
            case 24:
                guard let vm = pick([.vm], &g) else { return createVM(&g) }
                return .setAttributes(
                    vm: vm, gpa: g.pick([0, 4096, 1]), size: g.pick([4096, 0, 8192]),
                    attributes: g.pick([8, 0, 1, 16]), flags: g.pick([0, 0, 1]))
            case 25, 26:
                guard let via = pick([.vm, .vcpu], &g) else { return createVM(&g) }
                let gpa: UInt64 = g.pick([
                    0, 4096, 8192, 12288, 0x10_0000, 0x10_1000, 0x20_0000, 0x8000_0000, 0x1_0000_0000, 0x1_0000_1000,
                    0xF_FFFF_F000,
                ])
                return .guestAccess(
                    via: via, gpa: gpa, write: g.next(2) == 0 ? nil : g.next(1000) + 1, isPrivate: false)
            case 27:
                guard let file = pick([.gmem, .memfd, .vm, .vcpu, .stats, .kvm], &g, safeForFiles: true) else {
                    return createFile(&g)
                }
                let other = g.next(3) == 0 ? pick(Kind.allCases, &g, safeForFiles: true) : nil
                return .stat(file, sameInodeAs: other)
            case 29:
                // In-place conversion (GMEM-SPEC V): ENOTTY on a kernel without it.
                guard let file = pick([.gmem, .vm, .memfd, .vcpu], &g, safeForFiles: true) else {
                    return createFile(&g)
                }
                return .convert(
                    file: file, offset: g.pick([0, 0, 4096, 1, 1 << 40]), size: g.pick([4096, 4096, 8192, 0, 4095]),
                    attributes: g.pick([8, 0, 8, 16]), flags: g.pick([0, 0, 1, 2, 3, 4]))
            case 30:
                switch g.next(3) {
                case 0:
                    guard let vm = pick([.vm], &g), let file = pick([.gmem, .memfd, .vm], &g, safeForFiles: true) else {
                        return createFile(&g)
                    }
                    let name = fresh("L", &g)
                    add(name, .gmem)
                    return .link(name: name, file: file, vm: vm, flags: g.next(4) == 0 ? 1 : 0)
                case 1:
                    guard let mapping = mappings.isEmpty ? nil : g.pick(mappings) else { return mapAnon(&g) }
                    // Ends within the first 64 KiB: where the name's mmap failed (address 0) the
                    // range stays below vm.mmap_min_addr, never on another object's pages.
                    let offset: UInt64 = g.pick([0, 0, 4096, 8192])
                    return .pin(
                        mapping: mapping.name, offset: offset, length: min(g.pick([4096, 8192, 65536]), 65536 - offset))
                default:
                    guard let mapping = mappings.isEmpty ? nil : g.pick(mappings) else { return mapAnon(&g) }
                    return .unpin(mapping: mapping.name)
                }
            case 31 where g.next(4) == 0:
                // A lowered fd limit, so that creations meet EMFILE (both backends agree on
                // the count: the kernel backend's is net of gmem check's own descriptors).
                return .limitDescriptors(Int(g.pick([0, 1, 2, 3, 5, 8, 16] as [UInt64])))
            default:
                guard let of = pick([.kvm, .vm], &g) else { return createVM(&g) }
                if g.next(3) == 0 { return .alive(pick([.vm], &g) ?? of) }
                return .checkExtension(
                    of: of,
                    capability: g.pick([231, 233, 234, 235, 244, 10, 66, 128, 118, 81, 0, 255, 1 << 33, UInt64.max]))
            }
        }

        func slot(_ g: inout SplitMix64) -> UInt32 {
            g.next(10) == 0 ? g.pick([32764, 32767, 65536, 65537, 1 << 17, UInt32.max]) : UInt32(g.next(3))
        }

        mutating func createVM(_ g: inout SplitMix64) -> Action {
            let device = g.next(6) == 0 ? pick([.kvm], &g) : nil
            let name = fresh("V", &g)
            vms += 1
            add(name, .vm)
            return .createVM(name: name, type: g.next(10) == 0 ? g.pick([1, 2, 5, 1 << 40]) : 0, device: device)
        }

        mutating func createFile(_ g: inout SplitMix64) -> Action {
            guard let vm = pick([.vm], &g) else { return createVM(&g) }
            let name = fresh("F", &g)
            add(name, .gmem)
            return .createGuestMemfd(
                name: name, vm: vm, size: size(&g),
                flags: g.next(8) == 0 ? g.pick([4, 7, 1 << 63]) : g.pick([3, 3, 3, 1, 0, 2]),
                reserved: g.next(10) == 0 ? 0xdead : 0)
        }

        mutating func mapAnon(_ g: inout SplitMix64) -> Action {
            let name = fresh("U", &g)
            addMapping(name, 16384, vcpu: false)
            return .mapAnonymous(name: name, length: 16384, protection: 3)
        }

        mutating func region(_ g: inout SplitMix64) -> Action {
            guard let vm = pick([.vm], &g) else { return createVM(&g) }
            let file: String? = g.next(4) == 0 ? nil : pick([.gmem, .memfd, .standard, .raw], &g)
            var flags: UInt32 = file == nil ? g.pick([0, 0, 1, 2]) : g.pick([4, 4, 4, 4, 5, 6, 0])
            if g.next(20) == 0 { flags = g.pick([8, 1 << 31]) }
            let userspace: AddressExpression
            if !mappings.isEmpty, g.next(3) == 0 {
                userspace = .mapping(g.pick(mappings).name, offset: g.pick([0, 0, 4096]))
            } else {
                userspace = .literal(g.pick([0x7000_0000_0000, 0x7000_0000_0000, 0, 1, 0x8000_0000_0000]))
            }
            let gpa: UInt64 =
                g.next(10) == 0
                ? g.pick([1, 0xFFFF_FFFF_FFFF_F000, 1 << 52])
                : g.pick([0, 4096, 8192, 0x10_0000, 0x20_0000, 0x1_0000_0000])
            return .setRegion(
                vm: vm, version: g.next(8) == 0 ? 1 : 2, slot: slot(&g), flags: flags,
                gpa: gpa,
                size: g.next(10) == 0 ? g.pick([1, 0xFFFF_FFFF_FFFF_F000, 1 << 44]) : g.pick([4096, 8192, 16384]),
                userspace: userspace, file: flags & 4 == 0 ? nil : file,
                // Near 2^63 too: offset + size above INT64_MAX (a loff_t overflow, GMEM-SPEC KB1).
                offset: g.next(10) == 0
                    ? g.pick([1, UInt64.max & ~4095, 0x7FFF_FFFF_FFFF_F000, 0x7FFF_FFFF_FFFF_E000, 1 << 63])
                    : g.pick([0, 4096, 8192]))
        }
    }
}

extension Array {
    func randomElement(using g: inout SplitMix64) -> Element? {
        isEmpty ? nil : self[Int(g.next(UInt64(count)))]
    }
}
