import FoundationEssentials
import Glibc

/// Where a backup goes: the backup root's folder under a fresh name, exactly one file, or
/// standard output.
public enum BackupDestination: Sendable {
    case backupRoot
    /// Exactly this file, which must not exist yet.
    case file(String)
    /// Exactly this file, replacing it if it exists (`--force`).
    case fileReplacing(String)
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
        case let .file(path), let .fileReplacing(path):
            if case .file = self, FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil {
                throw CDBError.cannotCreate(path: path, reason: "it exists; cdb never replaces a file it was not asked to — choose another name, or remove it (cdb-pg-dump: --force)")
            }
            let directory = Path.directory(of: path)
            let file = try AtomicFile(directory: directory.isEmpty ? "." : directory, stem: Path.name(of: path))
            return Opened(file: file, sink: file.sink)
        }
    }

    /// The name a message gives the backup before it has one (never a temporary name).
    func displayName(folder: String, first: String) -> String {
        switch self {
        case .backupRoot: return Path.join(folder, first)
        case let .file(path), let .fileReplacing(path): return path
        case .standardOutput: return "standard output"
        }
    }

    /// Gives the finished file its final name (the first free candidate, or exactly the path
    /// asked for) with its `.sha256` sidecar. Nil for standard output.
    ///
    /// In the backup root the sidecar takes its name first and the backup second, both without
    /// ever replacing a file: a crash in between leaves an orphan sidecar (which prune removes),
    /// never a backup without its sidecar.
    func commit(_ opened: Opened, candidates: @autoclosure () -> AnySequence<String>, digest: String) throws -> String? {
        guard let file = opened.file else { return nil }
        switch self {
        case .backupRoot:
            for name in candidates() {
                let sidecar = try AtomicFile(directory: file.directory, stem: name + ".sha256", mode: 0o600)
                try Array("\(digest)  \(name)\n".utf8).withUnsafeBytes { try sidecar.sink.write($0) }
                try sidecar.sync()
                guard (try? sidecar.commit(candidates: [name + ".sha256"])) != nil else { continue }
                if (try? file.commit(candidates: [name])) != nil {
                    return Path.join(file.directory, name)
                }
                unlink(Path.join(file.directory, name + ".sha256"))
            }
            throw CDBError.cannotCreate(path: file.directory, reason: "no free file name")
        case let .file(target):
            // Never replaces: a file that appeared meanwhile keeps its place.
            try file.commit(candidates: [Path.name(of: target)])
            try Checksum.writeSidecar(digest: digest, for: target)
            return target
        case let .fileReplacing(target):
            try file.commit(replacing: target)
            try Checksum.writeSidecar(digest: digest, for: target)
            return target
        case .standardOutput:
            return nil
        }
    }
}
