import Foundation

/// The repository's root directory, found from this file's path (Tests/TestSupport/…), so
/// that a test reading Guests/, Fuzz/, Scenarios/ or the docs does not depend on how deep its
/// own file sits.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// 1 MiB in bytes.
public let MiB: UInt64 = 1 << 20
