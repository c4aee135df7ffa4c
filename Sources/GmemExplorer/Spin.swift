import Dispatch
import Foundation
import Synchronization

/// Runs Spin on an emitted model: `spin -a`, a breadth-first `pan` compiled with the C
/// compiler, the search to the universe's depth, and on a violation the trail replayed with
/// `spin -t` into explorer steps.
public enum Spin {
    /// What one `pan` run found.
    public struct Run: Sendable {
        /// Per check that fails: the number `pan` gave its first violation (BFS order, so a
        /// shortest one) and that violation's length in steps.
        public let first: [PromelaModel.Check: (error: Int, steps: Int)]
        /// States stored, transitions taken, as `pan` reports them.
        public let states: Int
        public let transitions: Int
        /// `pan`'s own elapsed time for the search (not the compile), in seconds.
        public let seconds: Double
        /// The full `pan` output.
        public let output: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Where `spin` and `cc` are, or why the cross-check cannot run here.
    public static func unavailable() -> String? {
        for tool in ["spin", "cc"] where which(tool) == nil {
            return "`\(tool)` is not installed (apt-get install -y spin gcc)"
        }
        return nil
    }

    static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `arguments` in `directory`; returns its output (stdout and stderr) and status.
    @discardableResult
    static func execute(_ arguments: [String], in directory: String) throws -> (output: String, status: Int32) {
        guard
            let tool = which(arguments[0])
                ?? (arguments[0].hasPrefix("./") ? "\(directory)/\(arguments[0].dropFirst(2))" : nil)
        else {
            throw Failure(description: "\(arguments[0]) not found")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    /// Compiles `model` in `directory` (created if needed) with every check: `spin -a`, then
    /// a breadth-first safety `pan`. `optimize` is the C optimisation level.
    public static func compile(_ model: PromelaModel, in directory: String, optimize: String = "-O0") throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = "\(directory)/model.pml"
        guard FileManager.default.createFile(atPath: file, contents: Data(model.text.utf8)) else {
            throw Failure(description: "cannot write \(file)")
        }
        let generated = try execute(["spin", "-DCHECK_ALL", "-a", "model.pml"], in: directory)
        guard generated.status == 0 else { throw Failure(description: "spin -a failed: \(generated.output)") }
        let compiled = try execute(
            ["cc", optimize, "-DBFS", "-DSAFETY", "-DNOCLAIM", "-DNOFAIR", "-w", "-o", "pan", "pan.c"], in: directory)
        guard compiled.status == 0 else { throw Failure(description: "cc pan.c failed: \(compiled.output)") }
    }

    /// Runs the `pan` compiled in `directory` to `depth` steps without stopping at errors
    /// (`-c0`): every violation is reported with its depth, in breadth-first order.
    public static func search(in directory: String, depth: Int, hashBits: Int = 20) throws -> Run {
        let pan = try execute(["./pan", "-m\(depth)", "-w\(hashBits)", "-c0"], in: directory)
        let output = pan.output
        func number(before marker: String) -> Double? {
            guard let range = output.range(of: marker) else { return nil }
            let word = output[..<range.lowerBound].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).last
            return word.flatMap { Double($0) }
        }
        func number(after marker: String) -> Double? {
            guard let range = output.range(of: marker) else { return nil }
            let word = output[range.upperBound...].split(whereSeparator: {
                $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ")"
            }).first
            return word.flatMap { Double($0) }
        }
        guard let states = number(before: "states, stored"), number(after: "errors:") != nil else {
            throw Failure(description: "unexpected pan output:\n\(output)")
        }
        if output.contains(": invalid end state") {
            throw Failure(description: "pan reports an invalid end state:\n\(output)")
        }
        var first: [PromelaModel.Check: (error: Int, steps: Int)] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("pan:") && line.contains(": assertion violated ")
        {
            // pan:N: assertion violated TEXT (at depth D)
            let parts = line.split(separator: ":", maxSplits: 2)
            guard parts.count == 3, let error = Int(parts[1]), let at = line.range(of: "(at depth "),
                let depthAt = Int(line[at.upperBound...].prefix { $0.isNumber }),
                let check = PromelaModel.check(ofAssertion: parts[2])
            else {
                throw Failure(description: "unexpected pan line: \(line)")
            }
            if first[check] == nil { first[check] = (error, depthAt + 1) }
        }
        return Run(
            first: first, states: Int(states), transitions: Int(number(before: "transitions (= stored+matched)") ?? 0),
            seconds: number(after: "pan: elapsed time") ?? 0, output: output)
    }

    /// The steps of violation number `error` of the last search: `pan -c<error>` writes its
    /// trail, `spin -t` replays it.
    public static func trail(in directory: String, depth: Int, error: Int, hashBits: Int = 20) throws -> [ExplorerStep]
    {
        try? FileManager.default.removeItem(atPath: "\(directory)/model.pml.trail")
        _ = try execute(["./pan", "-m\(depth)", "-w\(hashBits)", "-c\(error)"], in: directory)
        let replay = try execute(["spin", "-DCHECK_ALL", "-t", "model.pml"], in: directory)
        return PromelaModel.steps(fromTrailOutput: replay.output)
    }
}

/// Every design × flavour × invariant (and the hand-off question) of a universe, searched by
/// Spin on the emitted models and by the explorer, side by side.
public struct SpinCrossCheck: Sendable {
    public struct Row: Sendable {
        public let design: Design
        /// nil: the hand-off question.
        public let invariant: Invariant?
        /// Shortest violation length (or hand-off length); nil when it holds (unreachable).
        public let explorer: Int?
        public let spin: Int?
        /// Spin's counterexample, as explorer steps.
        public let spinTrail: [ExplorerStep]?
        public let spinStates: Int
        public let spinSeconds: Double

        public var agrees: Bool { explorer == spin && spinTrail?.count == spin }
    }

    public let universe: Universe
    public let rows: [Row]
    /// Wall time of the whole cross-check (compiles included).
    public let seconds: Double

    /// The standard universe's cross-check, computed once per process.
    public static let standard: Result<SpinCrossCheck, Spin.Failure> = run(universe: .standard)

    /// Compiles and runs one `pan` per design × check in parallel (the flavour changes only
    /// the confidential check, so the other checks run on the plain model and stand for all
    /// three flavours), and runs the explorer on every design.
    public static func run(universe: Universe) -> Result<SpinCrossCheck, Spin.Failure> {
        let started = ContinuousClock.now
        let designs = Design.all
        let root =
            NSTemporaryDirectory()
            + "gmem-spin-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let results = Mutex<[Int: Result<[Row], Spin.Failure>]>([:])
        // One job per design: its pan compiled with every check, and the explorer.
        DispatchQueue.concurrentPerform(iterations: designs.count) { index in
            let design = designs[index]
            let directory = "\(root)/\(index)"
            let result: Result<[Row], Spin.Failure>
            do {
                try Spin.compile(PromelaModel(design: design, universe: universe), in: directory)
                let run = try Spin.search(in: directory, depth: universe.depth)
                let report = Explorer(design: design, universe: universe).run(threads: 1)
                var rows: [Row] = []
                for invariant in Invariant.allCases.map(Optional.some) + [nil]
                where invariant?.applies(to: design.flavour) ?? true {
                    let check = PromelaModel.Check(invariant)
                    let length =
                        invariant.map { report.verdict(for: $0).finding?.trace.count } ?? report.handOff?.trace.count
                    let found = run.first[check]
                    let trail = try found.map { try Spin.trail(in: directory, depth: universe.depth, error: $0.error) }
                    rows.append(
                        Row(
                            design: design, invariant: invariant, explorer: length, spin: found?.steps,
                            spinTrail: trail,
                            spinStates: run.states, spinSeconds: run.seconds))
                }
                result = .success(rows)
            } catch let failure as Spin.Failure {
                result = .failure(failure)
            } catch {
                result = .failure(Spin.Failure(description: "\(error)"))
            }
            results.withLock { $0[index] = result }
        }
        var rows: [Row] = []
        for index in designs.indices {
            switch results.withLock({ $0[index]! }) {
            case .failure(let failure): return .failure(failure)
            case .success(let designRows): rows += designRows
            }
        }
        return .success(
            SpinCrossCheck(universe: universe, rows: rows, seconds: Spin.seconds(ContinuousClock.now - started)))
    }

    /// The table: one line per design, explorer / Spin per column.
    public var table: String {
        var lines = [
            "explorer / Spin (breadth-first, pan -m\(universe.depth)) in \(universe), \(String(format: "%.1f", seconds)) s"
        ]
        let columns = ["exposure", "use-after-free", "confidential", "delete-keeps", "quiescence", "hand-off"]
        lines.append(
            "design".padding(toLength: 30, withPad: " ", startingAt: 0)
                + columns.map { $0.padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
        for design in Design.all {
            var cells: [String] = []
            for invariant in Invariant.allCases.map(Optional.some) + [nil] {
                guard let row = rows.first(where: { $0.design == design && $0.invariant == invariant }) else {
                    cells.append("n/a")
                    continue
                }
                func cell(_ length: Int?) -> String { length.map(String.init) ?? "-" }
                cells.append("\(cell(row.explorer))/\(cell(row.spin))" + (row.agrees ? "" : " DIFFER"))
            }
            lines.append(
                design.description.padding(toLength: 30, withPad: " ", startingAt: 0)
                    + cells.map { $0.padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
        }
        lines.append(
            "n: a shortest violation (hand-off: a second VM binds the file) has n steps; -: holds (unreachable) to depth \(universe.depth)."
        )
        return lines.joined(separator: "\n")
    }
}

extension Spin {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
