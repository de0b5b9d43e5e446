import FoundationEssentials
import Glibc

/// The backups at a copy destination (`--from DEST` of cdb-restore and cdb-verify), brought
/// within reach of the local readers: a folder's files are read where they are; an object of
/// an rclone remote is downloaded as it is stored — encrypted, with its sidecar — into a
/// private temporary folder (0700) that `cleanup()` removes. Decryption then streams from that
/// file as for a local backup: no plaintext file is written.
public final class RemoteBackups {
    public let target: CopyTarget
    private var scratch: String?

    public init(destination: String, rclone: String) throws {
        target = try copyTarget(destination, rclone: rclone)
    }

    public init(target: CopyTarget) {
        self.target = target
    }

    deinit { cleanup() }

    /// The object named by `text`: a path under the layout ("PostgreSQL/NAME") or a bare backup
    /// name, whose kind gives the folder.
    public func relative(_ text: String) throws -> String {
        if text.contains("/") { return text }
        guard let parsed = BackupName.parse(text) else {
            throw CDBError.usage("\(Untrusted.escape(text)) is not a backup name cdb knows (e.g. cdb_backup_2026-01-31_0930.sql.zst.age)")
        }
        return (parsed.kind == .postgres ? BackupRoot.Kind.postgres : BackupRoot.Kind.repository).rawValue + "/" + text
    }

    /// The newest backup of each kind at the destination, by the time in its name (never the
    /// listing's order): relative paths, dumps first.
    public func latest() throws -> [String] {
        let present = try target.list()
        return BackupRoot.Kind.allCases.compactMap { kind in
            present.keys.filter { $0.hasPrefix(kind.rawValue + "/") }
                .compactMap { path in BackupName.parse(Path.name(of: path)).flatMap { $0.stamp == nil ? nil : (path, $0) } }
                .max { $0.1.isOlder(than: $1.1) }
                .map(\.0)
        }
    }

    /// A local path holding the object `relative` and, beside it, its sidecar when the
    /// destination has one. Throws "not there" (66) when the destination lacks it.
    public func fetch(_ relative: String) throws -> String {
        guard try target.inspect(relative, hash: nil) != nil else {
            throw CDBError.inputMissing(path: destinationPath(target.display, relative), reason: "no such backup at the destination (cdb-list --from tells what is there)")
        }
        if let folder = target as? FolderTarget { return Path.join(folder.path, relative) }
        let folder = try scratchFolder()
        let local = Path.join(folder, Path.name(of: relative))
        try target.download(relative, to: local)
        if try target.inspect(relative + ".sha256", hash: nil) != nil {
            try target.download(relative + ".sha256", to: local + ".sha256")
        }
        return local
    }

    private func scratchFolder() throws -> String {
        if let scratch { return scratch }
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((Path.join(base, "cdb-from-XXXXXX")).utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CDBError.cannotCreate(path: base, reason: "no temporary folder for the download: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        scratch = path
        return path
    }

    /// Removes the downloads.
    public func cleanup() {
        guard let scratch else { return }
        if let names = try? FileManager.default.contentsOfDirectory(atPath: scratch) {
            for name in names { unlink(Path.join(scratch, name)) }
        }
        rmdir(scratch)
        self.scratch = nil
    }
}
