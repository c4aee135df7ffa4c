// GuestBuilder: a build-tool plugin that compiles the guest programs in
// Guests/ into static ELF64 x86-64 images and embeds them in the target.
//
// Every subdirectory Guests/<name>/ except Runtime is one guest. For each,
// one build command runs `GuestEmbed image`, which
//   clang    Guests/Runtime/entry.S                          -> entry.o
//   swiftc   Guests/Runtime/*.swift + Guests/<name>/*.swift  -> <name>.o   (Embedded Swift, no SSE)
//   ld.lld   -T Guests/Runtime/linker.ld entry.o <name>.o    -> <name>.elf
// checks the image and writes GuestImages+<name>.swift (`GuestImages.<name>`).
// One more command writes GuestImages+All.swift (`GuestImages.all`).
//
// Only Swift files are declared as outputs: SwiftPM treats every other declared
// output of a build command as a resource of the target and would bundle the
// .o/.elf files. The commands declare all guest and runtime sources as inputs,
// so editing them rebuilds exactly the affected images.

import Foundation
import PackagePlugin

@main
struct GuestBuilder: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let guests = context.package.directoryURL.appending(path: "Guests")
        let runtime = guests.appending(path: "Runtime")
        let work = context.pluginWorkDirectoryURL

        let embed = try context.tool(named: "GuestEmbed").url
        let swiftc = try context.tool(named: "swiftc").url
        let clang = try context.tool(named: "clang").url
        let lld = try context.tool(named: "ld.lld").url
        // Optional: with it, GuestEmbed rejects images that use SSE/AVX registers.
        let objdump = (try? context.tool(named: "llvm-objdump").url.path()) ?? "-"

        let runtimeInputs = try files(in: runtime) { $0.hasSuffix(".swift") || $0 == "entry.S" || $0 == "linker.ld" }
        let names = try subdirectories(of: guests).filter { $0 != "Runtime" }

        var commands: [Command] = []
        for name in names {
            let sources = try files(in: guests.appending(path: name)) { $0.hasSuffix(".swift") }
            let output = work.appending(path: "GuestImages+\(name).swift")
            commands.append(
                .buildCommand(
                    displayName: "Building guest image \(name).elf (Embedded Swift)",
                    executable: embed,
                    arguments: [
                        "image", name, output.path(), work.appending(path: name).path(),
                        swiftc.path(), clang.path(), lld.path(), objdump, runtime.path(),
                    ]
                        + sources.map { $0.path() },
                    inputFiles: runtimeInputs + sources + [embed],
                    outputFiles: [output]
                ))
        }
        let index = work.appending(path: "GuestImages+All.swift")
        commands.append(
            .buildCommand(
                displayName: "Listing guest images \(names.joined(separator: ", "))",
                executable: embed,
                arguments: ["index", index.path()] + names,
                inputFiles: [embed],
                outputFiles: [index]
            ))
        return commands
    }

    /// Names of the subdirectories of `directory`, sorted.
    private func subdirectories(of directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path())
            .filter { name in
                var isDirectory: ObjCBool = false
                return !name.hasPrefix(".")
                    && FileManager.default.fileExists(
                        atPath: directory.appending(path: name).path(), isDirectory: &isDirectory)
                    && isDirectory.boolValue
            }
            .sorted()
    }

    /// Files directly inside `directory` whose names satisfy `include`, sorted.
    private func files(in directory: URL, where include: (String) -> Bool) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path())
            .filter(include)
            .sorted()
            .map { directory.appending(path: $0) }
    }
}
