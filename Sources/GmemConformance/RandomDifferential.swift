import GmemModel

/// Seeded random operation sequences over 1–3 VMs, 1–3 files each, a few memslots and
/// pages, run on the model and the kernel step by step. The first divergence is shrunk to a
/// minimal scenario (steps removed while the divergence persists) and returned as a
/// scenario file plus the seed.
public struct RandomDifferential: Sendable {
    public let runner: ConformanceRunner
    /// Operations per sequence; each sequence starts from a fresh model and a fresh set of
    /// kernel objects.
    public let sequenceLength: Int

    public init(runner: ConformanceRunner, sequenceLength: Int = 40) {
        self.runner = runner
        self.sequenceLength = sequenceLength
    }

    public struct Divergence: Sendable {
        public let problem: String
        public let original: Scenario
        public let minimal: Scenario
    }

    public struct Report: Sendable {
        public let seed: UInt64
        public let operationsRun: Int
        public let sequences: Int
        /// Sequences the kernel backend could not finish (it reported an action unsupported).
        public let skippedSequences: Int
        public let divergence: Divergence?
    }

    /// Runs `operations` random operations from `seed`; stops at the first divergence.
    public func run(seed: UInt64, operations: Int) -> Report {
        var generator = SplitMix64(seed: seed)
        var done = 0
        var sequences = 0
        var skipped = 0
        while done < operations {
            let length = min(sequenceLength, operations - done)
            let scenario = Self.sequence(length: length, generator: &generator, name: "random-seed\(seed)-\(sequences)")
            sequences += 1
            done += length
            let result = runner.run(scenario)
            switch result.status {
            case .diverged:
                let minimal = shrink(scenario)
                return Report(seed: seed, operationsRun: done, sequences: sequences, skippedSequences: skipped,
                              divergence: Divergence(problem: result.firstProblem ?? "divergence", original: scenario, minimal: minimal))
            case .skipped:
                skipped += 1
            default:
                break
            }
        }
        return Report(seed: seed, operationsRun: done, sequences: sequences, skippedSequences: skipped, divergence: nil)
    }

    /// Removes steps while the scenario still diverges (one pass per removal size).
    func shrink(_ scenario: Scenario) -> Scenario {
        var current = scenario
        // Drop everything after the first divergent step.
        if let index = runner.run(current).steps.firstIndex(where: { $0.problem != nil }) {
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
                if runner.run(candidate).status == .diverged {
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

    /// A random sequence of `length` actions over a small universe of names.
    static func sequence(length: Int, generator: inout SplitMix64, name: String) -> Scenario {
        var world = World()
        var steps: [Step] = []
        for _ in 0..<length {
            steps.append(Step(world.next(&generator)))
        }
        return Scenario(name: name, rules: [], steps: steps, source: "random")
    }

    /// The names created so far in one sequence, and the shape of each mapping.
    struct World {
        var vms: [String] = []
        var files: [String] = []
        var vcpus: [String] = []
        var descriptorsClosed: Set<String> = []
        var mappings: [(name: String, length: UInt64)] = []
        var counter = 0

        mutating func fresh(_ prefix: String) -> String {
            counter += 1
            return "\(prefix)\(counter)"
        }

        var descriptors: [String] { vms + files + vcpus }

        mutating func next(_ g: inout SplitMix64) -> Action {
            if vms.isEmpty { return createVM() }
            let roll = g.next(100)
            switch roll {
            case 0..<6:
                return vms.count < 3 ? createVM() : createFile(&g)
            case 6..<18:
                return files.count < 6 ? createFile(&g) : region(&g)
            case 18..<22:
                let name = fresh("C")
                vcpus.append(name)
                return .createVCPU(name: name, vm: g.pick(vms), id: UInt32(g.next(2)))
            case 22..<38:
                return region(&g)
            case 38..<48:
                guard !files.isEmpty else { return createFile(&g) }
                return .fallocate(file: g.pick(files), mode: g.pick([1, 1, 3, 3, 0]), offset: Int64(g.pick([0, 4096, 8192, 12288])),
                                  length: Int64(g.pick([4096, 8192, 16384])))
            case 48..<56:
                guard !files.isEmpty else { return createFile(&g) }
                let name = fresh("P")
                let length: UInt64 = g.pick([4096, 8192, 16384])
                mappings.append((name, length))
                return .mmap(name: name, file: g.pick(files), protection: g.pick([3, 3, 3, 1]), flags: g.pick([1, 1, 1, 2]),
                             offset: 0, length: length)
            case 56..<66:
                guard let mapping = mappings.isEmpty ? nil : g.pick(mappings) else { return createFile(&g) }
                let offset = g.next(mapping.length / 4096) * 4096
                return g.next(2) == 0 ? .hostRead(mapping: mapping.name, offset: offset)
                    : .hostWrite(mapping: mapping.name, offset: offset, value: g.next(1000) + 1)
            case 66..<80:
                let via = vcpus.isEmpty || g.next(2) == 0 ? g.pick(vms) : g.pick(vcpus)
                let gpa: UInt64 = g.pick([0, 4096, 8192, 12288, 0x10_0000, 0x10_1000])
                return .guestAccess(via: via, gpa: gpa, write: g.next(2) == 0 ? nil : g.next(1000) + 1, isPrivate: false)
            case 80..<88:
                let name = g.pick(descriptors)
                descriptorsClosed.insert(name)
                return .close(name)
            case 88..<92:
                guard let source = descriptors.isEmpty ? nil : g.pick(descriptors) else { return createVM() }
                let name = fresh(source.hasPrefix("F") ? "F" : source.hasPrefix("C") ? "C" : "V")
                if source.hasPrefix("F") { files.append(name) } else if source.hasPrefix("C") { vcpus.append(name) } else { vms.append(name) }
                return .dup(name: name, of: source)
            case 92..<95:
                // Only file mappings: anonymous ones may back memslots (userspace_addr), and
                // where the next mmap lands after an munmap is the kernel's choice, not part
                // of the contract (the model places first-fit; the kernel backend reserves
                // the range), so a freed range must never be reachable again.
                let candidates = mappings.indices.filter { mappings[$0].name.hasPrefix("P") }
                guard !candidates.isEmpty else { return createFile(&g) }
                let mapping = mappings.remove(at: g.pick(candidates))
                return .munmap(mapping: mapping.name, offset: 0, length: mapping.length)
            case 95..<97:
                guard !files.isEmpty else { return createFile(&g) }
                return .fileOperation(file: g.pick(files), g.pick([.read, .pwrite, .ftruncate, .fsync]))
            default:
                let name = fresh("U")
                mappings.append((name, 16384))
                return .mapAnonymous(name: name, length: 16384, protection: 3)
            }
        }

        mutating func createVM() -> Action {
            let name = fresh("V")
            vms.append(name)
            return .createVM(name: name, type: 0)
        }

        mutating func createFile(_ g: inout SplitMix64) -> Action {
            let name = fresh("F")
            files.append(name)
            return .createGuestMemfd(name: name, vm: g.pick(vms), size: g.pick([4096, 8192, 16384]),
                                     flags: g.pick([3, 3, 3, 1, 0, 2]), reserved: 0)
        }

        mutating func region(_ g: inout SplitMix64) -> Action {
            let vm = g.pick(vms)
            let slot = UInt32(g.next(3))
            if g.next(5) == 0 {
                return .setRegion(vm: vm, version: 2, slot: slot, flags: 0, gpa: 0, size: 0, userspace: .literal(0), file: nil, offset: 0)
            }
            let anonymous = mappings.filter { $0.name.hasPrefix("U") }
            let file: String? = files.isEmpty ? nil : g.pick(files)
            let userspace: AddressExpression = anonymous.isEmpty || g.next(3) != 0 ? .literal(0) : .mapping(g.pick(anonymous).name, offset: 0)
            let flags: UInt32 = file == nil ? 0 : g.pick([4, 4, 4, 4, 5, 0])
            return .setRegion(vm: vm, version: g.next(10) == 0 ? 1 : 2, slot: slot, flags: flags,
                              gpa: g.pick([0, 4096, 8192, 0x10_0000]), size: g.pick([4096, 8192, 16384]),
                              userspace: flags & 4 == 0 && userspace == .literal(0) ? .literal(0x7000_0000_0000) : userspace,
                              file: flags & 4 == 0 ? nil : file, offset: g.pick([0, 4096, 8192]))
        }
    }
}
