import ArgumentParser
import Foundation
import Logging

/// The entry point: makes the standard descriptors safe (`StandardStreams.prepare`), parses
/// the command, sets up logging (`--log-level`) and runs it. A ``CommandFailure`` thrown by
/// a command is one line on stderr and its exit code; any other error is ArgumentParser's.
@main
enum GmemMain {
    static func main() {
        StandardStreams.prepare()
        // `gmem help TOPIC` with an unknown topic printed gmem's help and exited 0.
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "help", let unknown = unknownTopic(arguments.dropFirst().filter { !$0.hasPrefix("-") }) {
            GmemCommand.exit(withError: ValidationError("unknown command '\(unknown)' (see gmem help)"))
        }
        do {
            var command = try GmemCommand.parseAsRoot()
            if let logged = command as? any LoggedCommand { logged.logging.bootstrap() }
            try command.run()
        } catch let failure as CommandFailure {
            printError(failure.message)
            exit(failure.exitCode)
        } catch {
            GmemCommand.exit(withError: error)
        }
    }

    /// The first of `topics` that is not a subcommand of the one before it, or nil.
    static func unknownTopic(_ topics: [String]) -> String? {
        var command: ParsableCommand.Type = GmemCommand.self
        for topic in topics {
            guard
                let next = command.configuration.subcommands.first(where: {
                    $0._commandName == topic || $0.configuration.aliases.contains(topic)
                })
            else { return topic }
            command = next
        }
        return nil
    }
}

/// `gmem`: run, check and explore KVM virtual machines whose RAM is guest_memfd.
struct GmemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gmem",
        abstract: "Run, check and explore KVM virtual machines whose RAM is guest_memfd.",
        discussion: """
            GmemKit boots small guests whose memory is guest_memfd, checks the host kernel's \
            guest_memfd against an executable model of its contract, and explores the design \
            space of guest_memfd's lifetime rules.
            """,
        subcommands: [
            RunCommand.self, CheckCommand.self, ExploreCommand.self, RulesCommand.self, RestoreCommand.self,
            SnapshotCommand.self, BenchCommand.self, InfoCommand.self, FuzzCommand.self, SoakCommand.self,
        ],
        defaultSubcommand: nil
    )
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--log-level`, on every command: what the libraries log (swift-log) goes to stderr.
struct LoggingOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Library log messages on stderr from this level up: trace, debug, info, notice, warning, error or critical."
    )
    var logLevel: Logger.Level = .info

    func bootstrap() {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// A command with `--log-level`.
protocol LoggedCommand: ParsableCommand {
    var logging: LoggingOptions { get }
}
