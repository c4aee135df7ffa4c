import Foundation
import GmemModel
import KVM
import Logging
import SystemPackage

/// `gmem check` as one library call: picks the backends and the profile, reads the scenario
/// files (bounded), and runs the catalogue, the files, the random differential or the C
/// reproducer writer. The CLI parses arguments into a ``Request`` and prints the ``Outcome``.
public enum ConformanceCheck {
    /// What to check.
    public struct Request: Sendable {
        /// Scenario files to run instead of the built-in catalogue.
        public var files: [String] = []
        /// `model`, `kernel` or `both` (a ``BackendSelection`` raw value).
        public var backend = "both"
        /// Run this many random operations instead of scenarios (``RandomDifferential``).
        public var random: Int?
        /// The seed of the random operations.
        public var seed: UInt64 = 1
        /// The most host memory one scenario may make the kernel allocate, and how it was written.
        public var memoryBudget: UInt64 = MemoryBudget.defaultLimit
        /// The budget as the user wrote it (`256M`), for messages.
        public var memoryBudgetText = "256M"
        /// The kernel profile the model answers like, by name; nil for the one this host names.
        public var profile: String?
        /// Write C reproducers into this directory instead of running.
        public var emitC: String?
        /// Only the scenario with this name.
        public var only: String?
        /// The command line written into each C reproducer.
        public var commandLine = "gmem check"
        /// Whether a divergence that is a known kernel bug (`KnownKernelBug`) leaves the
        /// exit status 0. Off by default: such a kernel is not conformant, and the run says so.
        public var allowsKnownKernelBugs = false
        /// Whether a run with the kernel backend moves this process into a memory cgroup of the
        /// budget plus ``MemoryCgroup/allowance(steps:printed:)`` (``MemoryCgroup/enter(limit:steps:printed:)``), a backstop
        /// behind the budget. The move is process-wide and lasts until exit, so it is for a
        /// process that does nothing else (`gmem check` sets it); an embedding program, or a test
        /// process running other work beside the check, leaves it off and is bounded by the budget.
        public var entersMemoryCgroup = false
        /// Whether the caller prints every step (`--verbose`, `--json`): each step's texts then
        /// cost memory too, and the allowance per step is ``MemoryCgroup/perPrintedStepAllowance``.
        public var printsEveryStep = false
        /// The defaults of `gmem check`: the catalogue on both backends, seed 1, a 256 MiB budget.
        public init() {}
    }

    /// A refusal or failure of the check itself (not of a scenario), as one line.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// The failure as one line (the CLI prints it and exits non-zero).
        public let description: String
        /// A failure with its one-line text.
        public init(_ description: String) { self.description = description }
    }

    /// What a check produced.
    public enum Outcome: Sendable, Encodable {
        /// The catalogue or scenario files ran.
        case scenarios(ConformanceReport)
        /// The random differential ran.
        case random(RandomCheckReport)
        /// C reproducers were written (`--emit-c`).
        case reproducers(ReproducerReport)

        /// Whether the command's exit status is 0.
        public var succeeded: Bool {
            switch self {
            case .scenarios(let report): report.succeeded
            case .random(let report): report.succeeded
            case .reproducers(let report): report.succeeded
            }
        }

        /// The human form of the report (every scenario and step with `verbose`).
        public func formatted(verbose: Bool = false) -> String {
            switch self {
            case .scenarios(let report): report.formatted(verbose: verbose)
            case .random(let report): report.formatted()
            case .reproducers(let report): report.formatted()
            }
        }

        /// Encodes the report itself (what `--json` prints).
        /// - Throws: What `encoder` throws.
        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .scenarios(let report): try report.encode(to: encoder)
            case .random(let report): try report.encode(to: encoder)
            case .reproducers(let report): try report.encode(to: encoder)
            }
        }
    }

    /// The largest scenario file read: a 1,000,000-step scenario is about 30 MiB; a 1,000 MiB
    /// file of zeros once cost 3 GiB of memory and 25 s to report its first byte.
    public static let maximumFileBytes = 64 << 20

    /// Runs `request`.
    /// - Parameters:
    ///   - request: What to check.
    ///   - logger: Where the check logs (swift-log).
    /// - Throws: ``ConformanceCheck/Failure`` for a request it refuses (a bad backend, profile or
    ///   budget, files with `--random`, no usable /dev/kvm for the kernel backend) or a file it cannot
    ///   read or parse; a scenario that fails is a report, not a throw.
    public static func run(_ request: Request, logger: Logger = Logger(label: "gmemkit.conformance")) throws(Failure)
        -> Outcome
    {
        guard var selection = BackendSelection(rawValue: request.backend) else {
            throw Failure("--backend must be model, kernel or both (got '\(request.backend)')")
        }
        if request.random != nil, !request.files.isEmpty {
            throw Failure(
                "--random generates its own scenarios; it does not take FILE arguments (got \(request.files.joined(separator: " ")))"
            )
        }
        let hostCapabilities = ConformanceRunner.hostCapabilities()
        var notes: [String] = []
        if hostCapabilities == nil, selection != .model {
            if selection == .kernel { throw Failure(KVMHost.unavailableReason ?? "no usable /dev/kvm") }
            notes.append("no usable /dev/kvm (\(KVMHost.unavailableReason ?? "unknown")): running the model alone")
            selection = .model
        }
        if selection != .model,
            let refusal = MemoryBudget.refusal(limit: request.memoryBudget, available: MemoryBudget.hostAvailable())
        {
            throw Failure("--memory-budget \(request.memoryBudgetText): \(refusal)")
        }
        var runner = ConformanceRunner(
            selection: selection, capabilities: hostCapabilities ?? .referenceHost,
            memoryBudget: request.memoryBudget)
        let host = KernelProfile.host()
        runner.hostProfile = hostCapabilities == nil ? nil : host.profile
        runner.profile = host.profile
        if let profile = request.profile {
            switch KernelProfile.parse(profile) {
            case .success(let chosen): runner.profile = chosen
            case .failure(let error): throw Failure("--profile: \(error)")
            }
            notes.insert(
                "kernel profile \(runner.profile.name) (--profile; this host answers like \(host.profile.name): \(host.reason))",
                at: 0)
        } else {
            notes.insert("kernel profile \(runner.profile.name) (picked: \(host.reason))", at: 0)
        }
        logger.debug(
            "gmem check", metadata: ["backends": "\(selection.rawValue)", "profile": "\(runner.profile.name)"])
        if let count = request.random {
            guard count > 0 else { throw Failure("--random needs a positive count") }
            guard selection != .kernel else {
                throw Failure("--random runs on the model, or on both to compare them; not on the kernel alone")
            }
            if selection != .model, request.entersMemoryCgroup,
                let note = MemoryCgroup.enter(limit: request.memoryBudget)
            {
                notes.append(note)
            }
            return try random(request, runner: runner, count: count, notes: notes)
        }
        var scenarios: [Scenario] = []
        if request.files.isEmpty {
            scenarios = Catalogue.scenarios
        } else {
            // A name is a scenario's handle (--only, the C file --emit-c writes): two files may
            // not both hold one, as one file may not (the parser refuses that).
            var files: [String: String] = [:]
            for path in request.files {
                for scenario in try readScenarios(path) {
                    if let first = files.updateValue(path, forKey: scenario.name) {
                        throw Failure(
                            first == path
                                ? "\(path) is given twice"
                                : "scenario '\(scenario.name)' is in both \(first) and \(path)")
                    }
                    scenarios.append(scenario)
                }
            }
        }
        if let only = request.only {
            scenarios = scenarios.filter { $0.name == only }
            if scenarios.isEmpty { throw Failure("--only: no scenario named '\(only)'") }
        }
        // The steps parsed, and what gmem check keeps per step while it runs them: refused here,
        // with the figures, when that cannot fit in this host's memory (not left to an OOM kill),
        // and allowed for in the memory cgroup's limit.
        let steps = scenarios.reduce(0) { $0 + $1.steps.count }
        if let refusal = stepRefusal(
            steps: steps, printed: request.printsEveryStep, budget: selection == .model ? 0 : request.memoryBudget,
            available: MemoryBudget.hostAvailable())
        {
            throw Failure(refusal)
        }
        if selection != .model, request.entersMemoryCgroup,
            let note = MemoryCgroup.enter(limit: request.memoryBudget, steps: steps, printed: request.printsEveryStep)
        {
            notes.append(note)
        }
        if let directory = request.emitC {
            return .reproducers(
                try writeReproducers(
                    scenarios, runner: runner, directory: directory, notes: notes,
                    commandLine: request.commandLine))
        }
        let started = ContinuousClock.now
        let results = scenarios.map(runner.run)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var report = ConformanceReport(results: results, selection: selection, notes: notes, seconds: seconds) {
            scenario in
            let file = request.files.contains(scenario.source) ? " \(scenario.source)" : ""
            return
                "gmem check\(request.profile.map { " --profile \($0)" } ?? "") --emit-c repro-c --only \(scenario.name)\(file)"
        }
        report.allowsKnownKernelBugs = request.allowsKnownKernelBugs
        return .scenarios(report)
    }

    /// Why `steps` scenario steps cannot be run here, or nil when they can: gmem check keeps
    /// ``MemoryCgroup/perStepAllowance`` bytes per step (``MemoryCgroup/perPrintedStepAllowance``
    /// when every step is `printed`) and ``MemoryCgroup/ownAllowance`` beside the scenarios'
    /// `budget`, and refuses before running when that is more than the host's `available`
    /// memory (nil: unknown, not refused).
    public static func stepRefusal(steps: Int, printed: Bool = false, budget: UInt64, available: UInt64?) -> String? {
        guard let available else { return nil }
        let own = MemoryCgroup.allowance(steps: steps, printed: printed)
        let (needed, overflow) = (own ?? .max).addingReportingOverflow(budget)
        guard overflow || needed > available else { return nil }
        let perStep = printed ? MemoryCgroup.perPrintedStepAllowance : MemoryCgroup.perStepAllowance
        return
            "\(steps) scenario steps need \(overflow ? "more than \(MemoryBudget.text(.max))" : MemoryBudget.text(needed)) "
            + "(\(perStep) bytes per step for gmem check's records\(printed ? " and their --verbose or --json text" : ""), plus "
            + "\(MemoryBudget.text(MemoryCgroup.ownAllowance)) for gmem check itself and the \(MemoryBudget.text(budget)) "
            + "memory budget); this host has \(MemoryBudget.text(available)) available: split the scenarios into smaller files"
    }

    /// Reads and parses one scenario file, refusing one over ``maximumFileBytes`` before reading it.
    /// - Throws: ``ConformanceCheck/Failure`` when the file is too large, unreadable, not UTF-8, or
    ///   does not parse (with the parser's line and column).
    public static func readScenarios(_ path: String) throws(Failure) -> [Scenario] {
        let limit = maximumFileBytes
        // One stat(2), following symlinks: a directory, FIFO or device is refused before it is
        // opened (a FIFO would block the read), and so is a file over the limit; a missing or
        // unreadable path falls through to the read, which names the errno.
        guard !path.isEmpty else { throw Failure("an empty FILE argument names no scenario file") }
        switch HostCall.status(ofPath: path) {
        case .success(let status):
            guard status.st_mode & S_IFMT == S_IFREG else { throw Failure("\(path) is not a regular file") }
            guard status.st_size <= limit else {
                throw Failure("\(path): \(status.st_size) bytes; a scenario file may be at most 64 MiB")
            }
        case .failure(let error):
            let errno = Errno(rawValue: error.code)
            throw Failure("cannot read \(path): \(errno.symbolicName) (\(errno.description))")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            // The errno is the underlying POSIX error of Foundation's CocoaError.
            let underlying = (error as? CocoaError)?.underlying
            let code =
                (underlying as? POSIXError)?.code.rawValue
                ?? (underlying as? NSError).flatMap {
                    $0.domain == NSPOSIXErrorDomain ? Int32(truncatingIfNeeded: $0.code) : nil
                }
            guard let code, code > 0 else { throw Failure("cannot read \(path): \(error.localizedDescription)") }
            let errno = Errno(rawValue: code)
            throw Failure("cannot read \(path): \(errno.symbolicName) (\(errno.description))")
        }
        guard data.count <= limit else {
            throw Failure("\(path): more than 64 MiB; a scenario file may be at most 64 MiB")
        }
        do {
            // Not UTF-8 is the parser's error, at the line and column of the byte.
            return try ScenarioFormat.parse(bytes: [UInt8](data), source: path)
        } catch {
            throw Failure("\(error)")
        }
    }

    private static func writeReproducers(
        _ scenarios: [Scenario], runner: ConformanceRunner, directory: String,
        notes: [String], commandLine: String, succeeded: Bool = true
    ) throws(Failure) -> ReproducerReport {
        do {
            let paths = try CReproducer.write(scenarios, runner: runner, into: directory, command: commandLine)
            return ReproducerReport(
                notes: notes, directory: directory, paths: paths, profile: runner.profile.name, succeeded: succeeded)
        } catch {
            throw Failure("--emit-c: \(error)")
        }
    }

    private static func random(_ request: Request, runner: ConformanceRunner, count: Int, notes: [String])
        throws(Failure) -> Outcome
    {
        let started = ContinuousClock.now
        let report = RandomDifferential(runner: runner).run(seed: request.seed, operations: count)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if let directory = request.emitC {
            guard let divergence = report.divergence else {
                return .reproducers(
                    ReproducerReport(
                        notes: notes, directory: directory, paths: [], profile: runner.profile.name,
                        noDivergence:
                            "no divergence in \(report.operationsRun) random operations (seed \(request.seed)): no C reproducer written"
                    ))
            }
            return .reproducers(
                try writeReproducers(
                    [divergence.minimal], runner: runner, directory: directory, notes: notes,
                    commandLine: request.commandLine, succeeded: false))
        }
        let reproduce =
            "gmem check --random \(count) --seed \(request.seed)\(request.profile.map { " --profile \($0)" } ?? "") --emit-c repro-c"
        var checked = RandomCheckReport(
            report: report, seconds: seconds, notes: notes, backends: runner.selection, reproduce: reproduce)
        checked.allowsKnownKernelBugs = request.allowsKnownKernelBugs
        return .random(checked)
    }
}
