// GuestEmbed: the build-time tool behind the GuestBuilder plugin.
//
//   GuestEmbed image <name> <output.swift> <work-dir> <swiftc> <clang> <ld.lld> <llvm-objdump|-> <runtime-dir> <guest.swift>...
//     Builds one guest: assembles <runtime-dir>/entry.S, compiles the runtime's and the
//     guest's Swift files as one Embedded Swift module, links them with
//     <runtime-dir>/linker.ld into <work-dir>/<name>.elf, checks the image (ELF64 x86-64,
//     and, given llvm-objdump, that no instruction touches an SSE/AVX register), and
//     writes <output.swift>: `extension GuestImages { public static let <name>: [UInt8] }`.
//   GuestEmbed index <output.swift> <name>...
//     Writes `extension GuestImages { public static let all }` listing the guests.
//
// The plugin runs one `image` command per guest and one `index` command, so the only
// files it declares as outputs are Swift sources (SwiftPM would bundle any other
// declared output as a resource). Not meant to be run by hand.

import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: GuestEmbed: \(message)\n".utf8))
    exit(1)
}

/// Runs `executable` with `arguments`, passing its output through; fails the build on error.
@discardableResult
func run(_ executable: String, _ arguments: [String], captureOutput: Bool = false) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    if captureOutput { process.standardOutput = pipe }
    do { try process.run() } catch { fail("cannot run \(executable): \(error)") }
    let output = captureOutput ? pipe.fileHandleForReading.readDataToEndOfFile() : Data()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        fail(
            "\(URL(fileURLWithPath: executable).lastPathComponent) failed (status \(process.terminationStatus)): "
                + ([executable] + arguments).joined(separator: " "))
    }
    return String(decoding: output, as: UTF8.self)
}

/// Replaces the file only when its contents change, so that an unchanged image
/// does not make SwiftPM recompile the target.
func writeIfChanged(_ text: String, to path: String) {
    let data = Data(text.utf8)
    if FileManager.default.contents(atPath: path) == data { return }
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        fail("cannot write \(path): \(error)")
    }
}

func isIdentifier(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first,
        first == "_" || ("a"..."z").contains(first) || ("A"..."Z").contains(first)
    else { return false }
    return name.unicodeScalars.allSatisfy {
        $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
    }
        && name != "all"
}

/// The compiler and linker flags of every guest image.
enum GuestFlags {
    static let triple = "x86_64-unknown-none-elf"

    static func swiftc(moduleName: String, moduleCache: String) -> [String] {
        [
            "-target", triple,
            "-enable-experimental-feature", "Embedded",
            "-enable-experimental-feature", "Extern",  // @_extern(c) for the entry.S helpers
            "-wmo", "-Osize", "-parse-as-library",
            "-no-allocations",  // no heap, so no posix_memalign/free
            "-Xfrontend", "-disable-stack-protector",  // no __stack_chk_guard in a freestanding image
            "-Xfrontend", "-function-sections",  // lets --gc-sections drop unused runtime stubs
            // No SSE/MMX/AVX: clang's target features also become the "target-features"
            // of every Swift function, so LLVM never picks an xmm register.
            "-Xcc", "-mno-sse", "-Xcc", "-mno-mmx",
            "-module-name", moduleName,
            "-module-cache-path", moduleCache,
            "-c",
        ]
    }

    static let clang = ["-target", triple, "-c"]

    static func lld(linkerScript: String) -> [String] {
        [
            "-T", linkerScript,
            "-static", "-nostdlib",
            "--gc-sections",  // keep only what _start reaches
            "-n",  // don't page-align file offsets: ~4 KiB smaller image
        ]
    }
}

/// Checks the ELF header: 64-bit, little-endian, executable, x86-64, entry at or above 2 MiB.
func checkELF(_ bytes: [UInt8], path: String) {
    func u16(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
    func u64(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) } }
    guard bytes.count > 64, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46], bytes[4] == 2, bytes[5] == 1,
        u16(16) == 2, u16(18) == 62
    else { fail("\(path) is not a little-endian ELF64 x86-64 executable") }
    guard u64(24) >= 0x200000 else { fail("\(path): entry point below 2 MiB") }
}

/// Fails if the disassembly mentions any SSE/AVX register (xmm/ymm/zmm), which PVM cannot afford.
func checkNoSIMD(objdump: String, image: String) {
    let disassembly = run(objdump, ["-d", "--no-show-raw-insn", image], captureOutput: true)
    let offending = disassembly.split(separator: "\n").filter { line in
        line.contains("%xmm") || line.contains("%ymm") || line.contains("%zmm")
    }
    guard offending.isEmpty else {
        fail("\(image) uses SSE/AVX registers:\n" + offending.prefix(10).joined(separator: "\n"))
    }
}

func swiftArrayLiteral(_ bytes: [UInt8]) -> String {
    var text = ""
    for start in stride(from: 0, to: bytes.count, by: 16) {
        text += "       "
        for byte in bytes[start..<min(start + 16, bytes.count)] {
            text += " 0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) + ","
        }
        text += "\n"
    }
    return text
}

func buildImage(_ arguments: [String]) {
    guard arguments.count >= 9 else {
        fail(
            "usage: image <name> <output.swift> <work-dir> <swiftc> <clang> <ld.lld> <llvm-objdump|-> <runtime-dir> <guest.swift>..."
        )
    }
    let (name, output, work) = (arguments[0], arguments[1], arguments[2])
    let (swiftc, clang, lld, objdump, runtime) = (arguments[3], arguments[4], arguments[5], arguments[6], arguments[7])
    let guestSources = Array(arguments[8...])
    guard isIdentifier(name) else { fail("guest name '\(name)' is not usable as a Swift identifier") }

    do { try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true) } catch {
        fail("cannot create \(work): \(error)")
    }
    let runtimeSources = ((try? FileManager.default.contentsOfDirectory(atPath: runtime)) ?? [])
        .filter { $0.hasSuffix(".swift") }.sorted().map { "\(runtime)/\($0)" }
    let entryObject = "\(work)/entry.o"
    let object = "\(work)/\(name).o"
    let image = "\(work)/\(name).elf"

    run(clang, GuestFlags.clang + ["\(runtime)/entry.S", "-o", entryObject])
    run(
        swiftc,
        GuestFlags.swiftc(moduleName: name, moduleCache: "\(work)/ModuleCache")
            + runtimeSources + guestSources + ["-o", object])
    run(lld, GuestFlags.lld(linkerScript: "\(runtime)/linker.ld") + [entryObject, object, "-o", image])

    guard let data = FileManager.default.contents(atPath: image) else { fail("cannot read \(image)") }
    let bytes = [UInt8](data)
    checkELF(bytes, path: image)
    if objdump != "-" { checkNoSIMD(objdump: objdump, image: image) }

    writeIfChanged(
        """
        // Generated by the GuestBuilder plugin from Guests/\(name)/. Do not edit.

        extension GuestImages {
            /// The `\(name)` guest (Guests/\(name)/): a static ELF64 x86-64 image, \(bytes.count) bytes.
            public static let \(name): [UInt8] = [
        \(swiftArrayLiteral(bytes))    ]
        }

        """, to: output)
}

func writeIndex(_ arguments: [String]) {
    guard let output = arguments.first else { fail("usage: index <output.swift> <name>...") }
    let names = arguments.dropFirst()
    writeIfChanged(
        """
        // Generated by the GuestBuilder plugin from the directories in Guests/. Do not edit.

        extension GuestImages {
            /// Every guest image, by name, in name order.
            public static let all: [(name: String, image: [UInt8])] = [
        \(names.map { "        (\"\($0)\", \($0)),\n" }.joined())    ]
        }

        """, to: output)
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "image": buildImage(Array(arguments.dropFirst()))
case "index": writeIndex(Array(arguments.dropFirst()))
default: fail("usage: GuestEmbed image … | GuestEmbed index …")
}

/// When this build tool itself is built with AddressSanitizer (`swift test
/// --sanitize=address` builds tools too), LeakSanitizer would fail the build over a 32-byte
/// weak-reference table that Foundation's `Process.run` never frees. The tool runs for
/// milliseconds; its leaks are irrelevant. GmemKit's own code is leak-checked in the tests.
@_cdecl("__lsan_default_options")
public func leakSanitizerDefaultOptions() -> UnsafePointer<CChar> {
    // SAFETY: a StaticString's UTF-8 bytes are NUL-terminated, immutable and live for the
    // whole process; CChar and UInt8 have the same layout.
    unsafe UnsafeRawPointer(("detect_leaks=0" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
}
