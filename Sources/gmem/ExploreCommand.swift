import ArgumentParser
import GmemExplorer

/// `gmem explore`: replay the guest_memfd design debate as a bounded model checker.
struct ExploreCommand: LoggedCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Search a guest_memfd lifetime design for the shortest sequence that breaks it.",
        discussion: """
            Explores every sequence of userspace operations (create VMs and guest_memfd files, \
            bind and delete memslots, close fds, guests writing their secret and reading) up to \
            --depth, under one design, and checks five invariants on every step. A violation is \
            printed as numbered steps and as a scenario file for `gmem check`. Designs: the \
            upstream one (the file pins its VM, memslots do not pin the file, a file binds only \
            to its creator) and slots-pin-file (memslots pin the file, the file forgets its VM \
            when its last binding goes) with protection none, a (never another VM), b (zero on \
            unbind) or c (zero on rebind to another VM); and both-pin (both references, a cycle); \
            each in the plain, snp or tdx flavour. \
            docs/design-explorer.md walks through the results.
            """
    )

    @Option(name: .long, help: "upstream, slots-pin-file or both-pin.") var policy: String = "upstream"
    @Option(name: .long, help: "For slots-pin-file: none, a, b or c.") var protection: String = "none"
    @Option(name: .long, help: "plain, snp or tdx.") var flavour: String = "plain"
    @Option(name: .long, help: "The longest operation sequence searched (0–24).")
    var depth: Int = Universe.standard.depth
    @Option(name: .long, help: "VMs in the universe (1–4).") var vms: Int = Universe.standard.vms
    @Option(name: .long, help: "guest_memfd files in the universe (1–4).") var files: Int = Universe.standard.files
    @Option(name: .long, help: "Memslot numbers per VM (1–4).") var slots: Int = Universe.standard.slots
    @Option(name: .long, help: "Pages per file (1–8).") var pages: Int = Universe.standard.pagesPerFile
    @Flag(name: .long, help: "Explore every design in every flavour and print the table.") var all = false
    @Option(name: .long, help: "Write each trace as a scenario file into this directory.") var scenarios: String?
    @Flag(name: .long, help: "Print the results as JSON.") var json = false
    @Option(
        name: .long, help: "Refuse a search estimated to store more states than this, and stop one that reaches it.")
    var maxStates: Int = 4_000_000
    @Flag(
        name: .long, help: "Search even when the estimate exceeds --max-states; the search still stops at --max-states."
    ) var force = false
    @Flag(name: .long, help: "No progress lines on stderr.") var quiet = false
    @Option(
        name: .long,
        help:
            "When a new file names a VM: at-creation (the kernel) or at-first-bind (the 2023 proposal read literally).")
    var fileNamesVm: String = ModellingChoices.FileNamesVM.atCreation.rawValue
    @Option(
        name: .long,
        help: "A file's VM pointer when its VM is torn down (designs where files do not pin the VM): cleared or kept.")
    var pointerAtTeardown: String = ModellingChoices.PointerAtTeardown.cleared.rawValue
    @Flag(name: .long, help: "Count a file freed by a memslot deletion as data destroyed (memslot-delete-keeps-data).")
    var countFreedFiles = false
    @Flag(
        name: .long,
        help: "Let a new VM get a destroyed VM's identity (kernel pointer), so a dangling pointer can match it.")
    var reuseVmIdentities = false
    @Flag(name: .long, help: "With --all: also the verdict table under each alternative modelling choice.")
    var choices = false
    @Flag(name: .long, help: "Store every state, not one per class of renamed VMs, files and memslots.")
    var noSymmetry = false
    @Option(name: .long, help: "Cores per search (0: all).") var threads: Int = 0
    @Option(name: .long, help: "Write each design × flavour as a Promela model for Spin into this directory, and stop.")
    var emitPromela: String?
    @OptionGroup var logging: LoggingOptions

    /// The universe's ranges (`Universe.problem`, which `Exploration.run` checks again), the
    /// thread count and the state bound, before anything is searched or written.
    func validate() throws {
        let universe = Universe(vms: vms, files: files, slots: slots, pagesPerFile: pages, depth: depth)
        try OptionValues.require(noProblem: universe.problem)
        try OptionValues.require(threads, in: 0...64, option: "--threads")
        try OptionValues.require(maxStates, in: 1...Int.max, option: "--max-states")
    }

    func run() throws {
        var request = Exploration.Request()
        (request.policy, request.protection, request.flavour) = (policy, protection, flavour)
        (request.depth, request.vms, request.files, request.slots, request.pages) = (depth, vms, files, slots, pages)
        (request.all, request.scenarios, request.maxStates, request.force, request.quiet) = (
            all, scenarios, maxStates, force, quiet
        )
        (request.fileNamesVM, request.pointerAtTeardown) = (fileNamesVm, pointerAtTeardown)
        (request.countFreedFiles, request.reuseVMIdentities, request.choices) = (
            countFreedFiles, reuseVmIdentities, choices
        )
        (request.symmetry, request.threads, request.emitPromela) = (!noSymmetry, threads, emitPromela)
        let outcome = try attempt("gmem explore") { try Exploration.run(request) { printError("gmem explore: \($0)") } }
        if json { try printJSON(outcome) } else { emit(outcome.formatted()) }
    }
}
