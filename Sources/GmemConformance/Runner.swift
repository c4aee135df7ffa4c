import GmemModel
@_spi(Unchecked) import KVM

/// Which backends a run uses.
public enum BackendSelection: String, Sendable, CaseIterable {
    case model, kernel, both
}

/// The outcome of one step on each backend, and what was wrong with it.
public struct StepResult: Hashable, Sendable {
    public let step: Step
    public let model: Outcome?
    public let kernel: Outcome?
    /// Set when the step failed: a divergence between backends or an unmet expectation.
    public let problem: String?
}

/// The result of one scenario.
public struct ScenarioResult: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable {
        /// Every step matched its expectation and the backends agreed.
        case passed
        /// A step's outcome differed from its expectation.
        case failed
        /// The model and the kernel gave different outcomes.
        case diverged
        /// The kernel could not run the scenario here (the model part still ran).
        case skipped
    }

    public let scenario: Scenario
    public let status: Status
    public let steps: [StepResult]
    /// Why the kernel side was skipped, when it was.
    public let skipReason: String?

    /// The first problem, for one-line reports.
    public var firstProblem: String? { steps.first { $0.problem != nil }?.problem }
}

/// Runs scenarios on the model, the kernel or both, step by step, comparing outcomes.
public struct ConformanceRunner: Sendable {
    public let selection: BackendSelection
    public let capabilities: ModelCapabilities

    /// A runner; `capabilities` should describe the kernel the model is compared with
    /// (`ConformanceRunner.hostCapabilities()` for this host).
    public init(selection: BackendSelection, capabilities: ModelCapabilities) {
        self.selection = selection
        self.capabilities = capabilities
    }

    /// The model capabilities of this host's kernel, or nil without a usable /dev/kvm.
    public static func hostCapabilities() -> ModelCapabilities? {
        guard let system = try? KVMSystem(), let report = try? system.report() else { return nil }
        let types = (try? system.supportedVMTypes()) ?? [.default]
        return ModelCapabilities(vmTypes: types.map { UInt64($0.rawValue) }, guestMemfdFlags: report.guestMemfdFlags,
                                 memoryAttributes: report.memoryAttributes)
    }

    static func modelSupports(_ requirement: Scenario.Requirement, _ capabilities: ModelCapabilities) -> Bool {
        switch requirement {
        case .memoryAttributes: capabilities.memoryAttributes & 8 != 0
        case .protectedVM: capabilities.vmTypes.contains(1)
        }
    }

    /// Runs `scenario` on fresh backends and compares every step.
    public func run(_ scenario: Scenario) -> ScenarioResult {
        var kernel: KernelBackend?
        var skipReason: String?
        var modelCapabilities = capabilities
        if let requirement = scenario.requires, !Self.modelSupports(requirement, capabilities) {
            // The host lacks what the scenario needs: the model runs it as upstream Linux does.
            modelCapabilities = .upstream
            skipReason = "this kernel lacks \(requirement.rawValue); checked on the model (upstream capabilities) only"
        }
        if selection != .model, skipReason == nil {
            do {
                let backend = try KernelBackend()
                if let requirement = scenario.requires, let reason = backend.unavailableReason(for: requirement) {
                    skipReason = reason
                } else {
                    kernel = backend
                }
            } catch { skipReason = "no usable /dev/kvm: \(error)" }
        }
        let model: ModelBackend? = selection == .kernel ? nil : ModelBackend(capabilities: modelCapabilities)
        if selection == .kernel, kernel == nil {
            return ScenarioResult(scenario: scenario, status: .skipped, steps: [], skipReason: skipReason)
        }
        var results: [StepResult] = []
        var status = ScenarioResult.Status.passed
        for step in scenario.steps {
            let modelOutcome = model?.perform(step.action)
            var kernelOutcome = kernel?.perform(step.action)
            if case .unsupported(let why) = kernelOutcome {
                skipReason = "line \(step.line): \(why)"
                kernel = nil
                kernelOutcome = nil
            }
            var problem: String?
            if let modelOutcome, let kernelOutcome, modelOutcome != kernelOutcome {
                problem = "\(ScenarioFormat.line(for: step.action)): model \(modelOutcome), kernel \(kernelOutcome)"
                status = .diverged
            } else if let expected = step.expected {
                for (name, outcome) in [("model", modelOutcome), ("kernel", kernelOutcome)] {
                    if let outcome, outcome != expected, problem == nil {
                        problem = "\(ScenarioFormat.line(for: step.action)): expected \(expected), \(name) gave \(outcome)"
                        if status == .passed { status = .failed }
                    }
                }
            }
            results.append(StepResult(step: step, model: modelOutcome, kernel: kernelOutcome, problem: problem))
        }
        if status == .passed, skipReason != nil, selection != .model { status = .skipped }
        return ScenarioResult(scenario: scenario, status: status, steps: results, skipReason: skipReason)
    }
}
