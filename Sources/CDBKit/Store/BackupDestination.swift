import Foundation

/// Where a backup goes: the backup root's folder under a fresh name, exactly one file, or
/// standard output.
public enum BackupDestination: Sendable {
    case backupRoot
    case file(String)
    case standardOutput

    /// An open output: the atomic file (nil for standard output) and the sink that writes it.
    struct Opened {
        let file: AtomicFile?
        let sink: DescriptorSink
    }

    /// Opens the output; `folder` and `stem` name the temporary file in the backup root.
    func open(folder: String, stem: String) throws -> Opened {
        switch self {
        case .standardOutput:
            return Opened(file: nil, sink: DescriptorSink(fd: 1, path: "standard output", ownsDescriptor: false))
        case .backupRoot:
            let file = try AtomicFile(directory: folder, stem: stem)
            return Opened(file: file, sink: file.sink)
        case let .file(path):
            let directory = (path as NSString).deletingLastPathComponent
            let file = try AtomicFile(directory: directory.isEmpty ? "." : directory, stem: (path as NSString).lastPathComponent)
            return Opened(file: file, sink: file.sink)
        }
    }

    /// Gives the finished file its final name (the first free candidate, or exactly the path
    /// asked for) and writes its `.sha256` sidecar. Nil for standard output.
    func commit(_ opened: Opened, candidates: @autoclosure () -> AnySequence<String>, digest: String) throws -> String? {
        guard let file = opened.file else { return nil }
        let path: String
        switch self {
        case .backupRoot: path = try file.commit(candidates: candidates())
        case let .file(target):
            try file.commit(replacing: target)
            path = target
        case .standardOutput: return nil
        }
        try Checksum.writeSidecar(digest: digest, for: path)
        return path
    }
}
