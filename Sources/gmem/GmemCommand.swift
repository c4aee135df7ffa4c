import ArgumentParser
import Foundation
import Logging
import MicroVM

/// The entry point: makes the standard descriptors safe (`StandardStreams.prepare`), parses
/// the command, sets up logging (`--log-level`) and runs it. A ``CommandFailure`` thrown by
/// a command, and a usage error, is one line on stderr and its exit code; help is ArgumentParser's.
@main
enum GmemMain {
    static func main() {
        StandardStreams.prepare()
        let arguments = attachingNegativeValues(Array(CommandLine.arguments.dropFirst()))
        do {
            // `gmem help TOPIC` with an unknown topic printed gmem's help and exited 0.
            if arguments.first == "help",
                let unknown = unknownTopic(arguments.dropFirst().filter { !$0.hasPrefix("-") })
            {
                throw ValidationError("unknown command '\(ByteSize.quoted(unknown))'")
            }
            var command = try GmemCommand.parseAsRoot(arguments)
            if let logged = command as? any LoggedCommand { logged.logging.bootstrap() }
            try command.run()
        } catch let failure as CommandFailure {
            fail(cuttingLongQuotes(failure.message), code: failure.exitCode, arguments)
        } catch {
            let code = GmemCommand.exitCode(for: error)
            guard code == .validationFailure else { GmemCommand.exit(withError: error) }
            // ArgumentParser's usage text after the error (and its "See 'gmem X --help'") as a hint.
            let full = GmemCommand.fullMessage(for: error)
            let help = full.range(of: "See '").map { " (see " + full[$0.upperBound...].prefix { $0 != "'" } + ")" }
            fail(
                cuttingLongQuotes("gmem: " + GmemCommand.message(for: error) + (help ?? "")), code: code.rawValue,
                arguments)
        }
    }

    /// The error as one line on stderr (and a JSON object on stdout under `--json`), then the exit.
    static func fail(_ message: String, code: Int32, _ arguments: [String]) -> Never {
        StandardStreams.fail(message, exitCode: code, json: arguments.prefix { $0 != "--" }.contains("--json"))
    }

    /// `message` with every quoted word ('…') over 32 characters cut to its first 32 and "…": an
    /// error never echoes a 10,000-digit value whole, whoever wrote the message.
    ///
    /// A quote opens where a `'` does not follow a letter or digit, and closes at the next `'`
    /// that no letter or digit follows, so the text between two short quoted words (`'flag' for
    /// gmem (expected …; did you mean 'flags'?`) is never taken for one long quoted word, an
    /// apostrophe in prose (`the kernel's`) opens nothing, and a quoted word may hold one (`'don't'`).
    static func cuttingLongQuotes(_ message: String) -> String {
        let characters = Array(message)
        func isWordCharacter(_ index: Int) -> Bool {
            index >= 0 && index < characters.count && (characters[index].isLetter || characters[index].isNumber)
        }
        var result = ""
        var index = 0
        while index < characters.count {
            guard characters[index] == "'", !isWordCharacter(index - 1) else {
                result.append(characters[index])
                index += 1
                continue
            }
            var close = index + 1
            while close < characters.count, characters[close] != "\n",
                characters[close] != "'" || isWordCharacter(close + 1)
            {
                close += 1
            }
            guard close < characters.count, characters[close] == "'" else {
                result.append(characters[index])
                index += 1
                continue
            }
            result += "'" + ByteSize.quoted(String(characters[(index + 1)..<close])) + "'"
            index = close + 1
        }
        return result
    }

    /// `--seed -1` as `--seed=-1`: ArgumentParser takes a word that starts with '-' for an
    /// option, so a negative value after an option's name was "Missing value" with a usage.
    static func attachingNegativeValues(_ arguments: [String]) -> [String] {
        var result: [String] = []
        for argument in arguments {
            if let last = result.last, last.hasPrefix("--"), last.count > 2, !last.contains("="),
                argument.hasPrefix("-"), argument.dropFirst().first.map({ $0.isNumber || $0 == "." }) == true
            {
                result[result.count - 1] = last + "=" + argument
            } else {
                result.append(argument)
            }
        }
        return result
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
