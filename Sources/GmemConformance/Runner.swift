import GmemModel
@_spi(Unchecked) import KVM

/// Which backends a run uses.
public enum BackendSelection: String, Sendable, CaseIterable {
    /// `model`: the model alone; `kernel`: the host kernel alone; `both`: both, step by step,
    /// each step's outcomes compared.
    case model, kernel, both
}

/// The outcome of one step on each backend, and what was wrong with it.
public struct StepResult: Hashable, Sendable {
    /// The step as the scenario states it.
    public var step: Step { steps[index] }
    /// The scenario's steps, shared with it (one buffer, not a copy of the step per result),
    /// and this step's index in them.
    private let steps: [Step]
    private let index: Int
    /// What the model answered, or nil when the model did not run.
    public let model: Outcome?
    /// What the kernel answered, or nil when the kernel did not run (or was skipped).
    public let kernel: Outcome?
    /// Everything wrong with the step: a divergence between backends, an unmet
    /// expectation, a step the kernel backend could not perform or refused (budget).
    public let problems: [String]
    /// The id of the known kernel bug this step's divergence is (`KnownKernelBug`), if it is one.
    public var knownKernelBug: String? = nil

    /// The first problem, if any.
    public var problem: String? { problems.first }

    init(
        steps: [Step], index: Int, model: Outcome?, kernel: Outcome?, problems: [String], knownKernelBug: String? = nil
    ) {
        self.steps = steps
        self.index = index
        self.model = model
        self.kernel = kernel
        self.problems = problems
        self.knownKernelBug = knownKernelBug
    }

    /// A result for a step on its own (a one-step array).
    init(step: Step, model: Outcome?, kernel: Outcome?, problems: [String], knownKernelBug: String? = nil) {
        self.init(
            steps: [step], index: 0, model: model, kernel: kernel, problems: problems, knownKernelBug: knownKernelBug)
    }

    /// Whether two results are of equal steps with equal outcomes and problems.
    public static func == (left: StepResult, right: StepResult) -> Bool {
        left.step == right.step && left.model == right.model && left.kernel == right.kernel
            && left.problems == right.problems && left.knownKernelBug == right.knownKernelBug
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(step)
        hasher.combine(model)
        hasher.combine(kernel)
        hasher.combine(problems)
        hasher.combine(knownKernelBug)
    }
}

/// The result of one scenario.
public struct ScenarioResult: Hashable, Sendable {
    /// How a scenario ended.
    public enum Status: String, Hashable, Sendable {
        /// Every step matched its expectation and the backends agreed.
        case passed
        /// A step's outcome differed from its expectation, or the kernel backend could not
        /// perform a step (or refused it for the memory budget).
        case failed
        /// The model and the kernel gave different outcomes.
        case diverged
        /// The model and the kernel differed only where a listed kernel bug
        /// (`KnownKernelBug`) says the kernel breaks the contract: the kernel is not
        /// conformant, but in a known way.
        case kernelBug = "kernel-bug"
        /// The kernel could not run the scenario here for a capability it lacks, named in
        /// the scenario's `requires=` (the model part still ran).
        case skipped
    }

    /// The scenario that ran.
    public let scenario: Scenario
    /// How it ended.
    public let status: Status
    /// The result of each step that ran, in order.
    public let steps: [StepResult]
    /// Why the kernel side was skipped, when it was.
    public let skipReason: String?
    /// Whether a step was refused by the memory budget.
    public let budgetRefused: Bool
    /// The ids of the known kernel bugs its divergences were (`KnownKernelBug`), in step order.
    public var knownKernelBugs: [String] { steps.compactMap(\.knownKernelBug) }

    /// The first problem, for one-line reports.
    public var firstProblem: String? { steps.first { !$0.problems.isEmpty }?.problems.first }
    /// Every problem of every step, with its line.
    public var problems: [String] {
        steps.flatMap { step in step.problems.map { step.step.line > 0 ? "line \(step.step.line): \($0)" : $0 } }
    }
}

/// Runs scenarios on the model, the kernel or both, step by step, comparing outcomes.
public struct ConformanceRunner: Sendable {
    /// Which backends run each scenario.
    public let selection: BackendSelection
    /// What the model's kernel supports; it should describe the kernel compared with.
    public let capabilities: ModelCapabilities
    /// The memory budget of each scenario on the kernel backend.
    public var memoryBudget: UInt64
    /// The kernel profile the model answers like, unless a scenario pins its own (`profile=`).
    public var profile: KernelProfile = .v6_18
    /// The profile this host's kernel answers like (nil: `KernelProfile.host()`, asked when a
    /// pinned scenario meets the kernel); a scenario pinned to another profile runs on the
    /// model only, kernel-skipped with the reason.
    public var hostProfile: KernelProfile?

    /// A runner; `capabilities` should describe the kernel the model is compared with
    /// (`ConformanceRunner.hostCapabilities()` for this host).
    public init(
        selection: BackendSelection, capabilities: ModelCapabilities, memoryBudget: UInt64 = MemoryBudget.defaultLimit
    ) {
        self.selection = selection
        self.capabilities = capabilities
        self.memoryBudget = memoryBudget
    }

    /// The model capabilities of this host's kernel, or nil without a usable /dev/kvm.
    public static func hostCapabilities() -> ModelCapabilities? {
        guard let system = try? KVMSystem(), let report = try? system.report() else { return nil }
        let types = (try? system.supportedVMTypes()) ?? [.default]
        var capabilities = ModelCapabilities(
            vmTypes: types.map { UInt64($0.rawValue) }, guestMemfdFlags: report.guestMemfdFlags,
            memoryAttributes: report.memoryAttributes)
        KernelBackend.apply(KernelBackend.extensionTable, to: &capabilities)
        return capabilities
    }

    static func modelSupports(_ requirement: Scenario.Requirement, _ capabilities: ModelCapabilities) -> Bool {
        switch requirement {
        case .memoryAttributes: capabilities.memoryAttributes & 8 != 0
        case .protectedVM: capabilities.vmTypes.contains(1)
        case .debugfs: true
        case .guestMemfdAttributes: capabilities.guestMemfdAttributes & 8 != 0
        case .guestMemfdLink: capabilities.guestMemfdLink
        }
    }

    /// The profile `scenario` runs under on the model: its own `profile=`, else the runner's.
    public func profile(for scenario: Scenario) -> KernelProfile {
        scenario.profile.flatMap(KernelProfile.named) ?? profile
    }

    /// The capabilities the model runs `scenario` with (before a kernel backend refines
    /// them): the runner's, or upstream's when the host lacks a requirement, answering like
    /// the scenario's profile.
    public func modelCapabilities(for scenario: Scenario) -> ModelCapabilities {
        var capabilities = self.capabilities
        if scenario.requires.contains(where: { !Self.modelSupports($0, self.capabilities) }) {
            var upstream = ModelCapabilities.upstream
            upstream.extensions = capabilities.extensions
            upstream.descriptorLimit = capabilities.descriptorLimit
            upstream.vcpuMappingSize = capabilities.vcpuMappingSize
            upstream.maxVCPUIDs = capabilities.maxVCPUIDs
            upstream.kvmDeviceMode = capabilities.kvmDeviceMode
            capabilities = upstream
            // The model runs the kernel configuration the scenario asks for (V, provisional).
            if scenario.requires.contains(.guestMemfdAttributes) {
                capabilities = capabilities.withGuestMemfdAttributes()
                // In-place conversion is for confidential VMs: the model's upstream host has
                // SNP too (KVM_X86_SNP_VM, whose conversions take only ZERO), as the explorer's
                // traces after 2023 assume (`vm B type=4`). Only for a host lacking the
                // requirement: one that has it runs the model with its own VM types.
                if !capabilities.vmTypes.contains(GmemABI.VMType.snp) {
                    capabilities.vmTypes = (capabilities.vmTypes + [GmemABI.VMType.snp]).sorted()
                }
            }
            if scenario.requires.contains(.guestMemfdLink) { capabilities.guestMemfdLink = true }
        }
        return profile(for: scenario).capabilities(capabilities)
    }

    /// Runs `scenario` on fresh backends and compares every step.
    public func run(_ scenario: Scenario) -> ScenarioResult {
        var kernel: KernelBackend?
        var skipReason: String?
        var modelCapabilities = modelCapabilities(for: scenario)
        let lacking = scenario.requires.filter { !Self.modelSupports($0, capabilities) }
        if !lacking.isEmpty {
            // The host lacks what the scenario needs: the model runs it as upstream Linux does.
            skipReason =
                "this kernel lacks \(lacking.map { "\($0.rawValue) (\($0.capabilityName))" }.joined(separator: ", ")); checked on the model (upstream capabilities) only"
        }
        let scenarioProfile = profile(for: scenario)
        if selection != .model, skipReason == nil, scenario.profile != nil,
            case let hostProfile = self.hostProfile ?? KernelProfile.host().profile, scenarioProfile != hostProfile
        {
            skipReason =
                "the scenario is pinned to kernel profile \(scenarioProfile.name); this kernel answers like \(hostProfile.name): checked on the model only"
        }
        if selection != .model, skipReason == nil {
            do {
                let backend = try KernelBackend(budget: MemoryBudget(limit: memoryBudget))
                if let reason = scenario.requires.lazy.compactMap({ backend.unavailableReason(for: $0) }).first {
                    skipReason = reason
                } else {
                    kernel = backend
                    backend.describe(into: &modelCapabilities)
                    modelCapabilities = scenarioProfile.capabilities(modelCapabilities)
                }
            } catch { skipReason = "no usable /dev/kvm: \(error)" }
        }
        let model: ModelBackend? = selection == .kernel ? nil : ModelBackend(capabilities: modelCapabilities)
        if selection == .kernel, kernel == nil {
            return ScenarioResult(
                scenario: scenario, status: .skipped, steps: [], skipReason: skipReason, budgetRefused: false)
        }
        var results: [StepResult] = []
        results.reserveCapacity(scenario.steps.count)
        var status = ScenarioResult.Status.passed
        var refused = false
        // passed < kernel-bug < failed < diverged: a known bug never hides anything else.
        func rank(_ status: ScenarioResult.Status) -> Int {
            switch status {
            case .passed, .skipped: 0
            case .kernelBug: 1
            case .failed: 2
            case .diverged: 3
            }
        }
        func worsen(_ next: ScenarioResult.Status) {
            if rank(next) > rank(status) { status = next }
        }
        let steps = scenario.steps
        for (index, step) in steps.enumerated() {
            let modelOutcome = model?.perform(step.action)
            var kernelOutcome = kernel?.perform(step.action)
            var problems: [String] = []
            var knownBug: String?
            var text: String { step.actionText }
            switch kernelOutcome {
            case .unsupported(let why):
                problems.append(
                    "\(text): the kernel backend cannot perform this step: \(why); the rest of the scenario ran on the model only"
                )
                kernel = nil
                kernelOutcome = nil
                worsen(.failed)
            case .budgetRefusal(let why):
                problems.append(
                    "\(text): refused before the syscall by the memory budget: \(why); the rest of the scenario ran on the model only"
                )
                kernel = nil
                kernelOutcome = nil
                refused = true
                worsen(.failed)
            default:
                break
            }
            if case .budgetRefusal(let why)? = modelOutcome {
                // A limit both backends keep (MemoryBudget.mappingLimit): nothing runs past it.
                problems = [
                    "\(text): refused before the syscall by the memory budget: \(why); the rest of the scenario was not run"
                ]
                refused = true
                worsen(.failed)
                results.append(
                    StepResult(steps: steps, index: index, model: modelOutcome, kernel: nil, problems: problems))
                break
            }
            if let modelOutcome, let kernelOutcome, modelOutcome != kernelOutcome,
                let bug = KnownKernelBug.matching(step.action, model: modelOutcome, kernel: kernelOutcome)
            {
                // The kernel's state now differs from the model's in a known way: the rest runs
                // on the model only (and nothing touches what the kernel wrongly accepted).
                problems.append(
                    "\(text): model \(modelOutcome), kernel \(kernelOutcome): kernel bug (known: \(bug.summary)); "
                        + "the rest of the scenario ran on the model only")
                knownBug = bug.id
                kernel = nil
                worsen(.kernelBug)
            } else if let modelOutcome, let kernelOutcome, modelOutcome != kernelOutcome {
                var which = ""
                if let expected = step.expected {
                    let modelMet = expected.isMet(by: modelOutcome)
                    let kernelMet = expected.isMet(by: kernelOutcome)
                    which =
                        modelMet
                        ? " (the model met the expectation '\(step.expectationText ?? "")', the kernel did not)"
                        : kernelMet
                            ? " (the kernel met the expectation '\(step.expectationText ?? "")', the model did not)"
                            : " (neither met the expectation '\(step.expectationText ?? "")')"
                }
                problems.append("\(text): model \(modelOutcome), kernel \(kernelOutcome)\(which)")
                worsen(.diverged)
            } else if let expected = step.expected {
                for (name, outcome) in [("model", modelOutcome), ("kernel", kernelOutcome)] {
                    if let outcome, !expected.isMet(by: outcome) {
                        problems.append(
                            "\(text): expected \(step.expectationText ?? ""), \(name) gave \(outcome)")
                        worsen(.failed)
                        break
                    }
                }
            }
            results.append(
                StepResult(
                    steps: steps, index: index, model: modelOutcome, kernel: kernelOutcome, problems: problems,
                    knownKernelBug: knownBug))
        }
        if status == .passed, skipReason != nil, selection != .model { status = .skipped }
        return ScenarioResult(
            scenario: scenario, status: status, steps: results, skipReason: skipReason, budgetRefused: refused)
    }
}
