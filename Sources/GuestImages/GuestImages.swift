/// Guest programs for GmemKit VMs, built from `Guests/` during `swift build`.
///
/// Each image is a static ELF64 x86-64 executable linked at 2 MiB, written in
/// Embedded Swift without SSE, following the guest ABI in `Guests/README.md`.
/// The members (`hello`, `pingpong`, `touch`, `smp`, and `all`) are generated
/// by the `GuestBuilder` plugin into `GuestImages+Generated.swift`.
public enum GuestImages {
    /// The image of the guest called `name`, or nil if there is none.
    public static func image(named name: String) -> [UInt8]? {
        all.first { $0.name == name }?.image
    }
}
