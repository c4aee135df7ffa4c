import GuestMemory
import KVM

/// Why a machine could not be built or run (a guest that crashes is not an error: it is a
/// `RunReport` with a `StopCause`).
public enum MachineError: Error, Sendable, CustomStringConvertible {
    /// A configuration value is out of range (``MachineConfig/validate()`` names which).
    case invalidConfiguration(String)
    /// The guest image is not a loadable ELF.
    case image(ELFError)
    /// KVM refused a step (opening /dev/kvm included).
    case kernel(KVMError)
    /// Guest memory could not be built or written.
    case memory(GuestMemoryError)
    /// A vCPU thread could not be started (`pthread_create` errno).
    case thread(Int32)
    /// A `MachineHandle` was asked for a transition its state does not allow.
    case invalidTransition(action: String, state: String)

    /// One line: what failed, with the underlying error's own words.
    public var description: String {
        switch self {
        case .invalidConfiguration(let what): "invalid configuration: \(what)"
        case .image(let error): "bad guest image: \(error)"
        case .kernel(let error): error.description
        case .memory(let error): error.description
        case .thread(let code): "cannot start a vCPU thread: errno \(code)"
        case .invalidTransition(let action, let state): "cannot \(action) a machine that is \(state)"
        }
    }
}
