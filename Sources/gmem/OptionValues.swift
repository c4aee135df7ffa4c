import ArgumentParser
import MicroVM

/// The one way a command checks its option values, in its `validate()`, before any work starts:
/// a value that cannot be read or is out of range is a `ValidationError`, which `GmemMain`
/// prints as one line and exit 64 (EX_USAGE), as it does a value ArgumentParser cannot read
/// at all. Where a library owns a range (``MachineRequest``, ``RestoreOptions``, the explorer's
/// universe), the command asks the library through ``checked(_:)`` instead of restating it.
enum OptionValues {
    /// The bytes `text` names (``ByteSize``), or a usage error naming `option` and what a size is.
    static func size(_ text: String, option: String) throws -> UInt64 {
        do { return try ByteSize.parse(text) } catch {
            throw ValidationError("\(option) '\(ByteSize.quoted(text))' is \(error)")
        }
    }

    /// A usage error naming `option`, its range and the value unless `range` holds `value`.
    static func require<Value: Comparable>(_ value: Value, in range: ClosedRange<Value>, option: String) throws {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be \(range.lowerBound) to \(range.upperBound) (got \(value))")
        }
    }

    /// A usage error of `problem` (a library's own words for values it cannot take), if any.
    static func require(noProblem problem: String?) throws {
        if let problem { throw ValidationError(problem) }
    }

    /// The value of `body`, a library's check of option values (one that does no work); the
    /// error it throws is a usage error in the library's words.
    static func checked<Value, Failure: Error>(_ body: () throws(Failure) -> Value) throws -> Value {
        do { return try body() } catch { throw ValidationError("\(error)") }
    }
}
