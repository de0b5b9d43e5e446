import Dispatch
import FoundationEssentials
import Glibc

/// A Docker named volume to add to a snapshot (`--include-docker-volume NAME`,
/// `CDB_DOCKER_VOLUMES`): where its files are, and whether copying them is a backup at all.
public struct DockerVolume: Sendable {
    public let name: String
    /// The folder holding the volume's files.
    public let mountpoint: String
    /// How the mountpoint was found ("docker volume inspect" or Docker's data root).
    public let foundBy: String

    /// CDB_DOCKER_VOLUMES: names separated by spaces or commas.
    public static func configured(_ sources: SettingSources) -> [String] {
        (sources.lookup("CDB_DOCKER_VOLUMES")?.value ?? "").split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
    }

    /// Docker's rule for volume names; anything else (a slash, "..") is refused before any
    /// path is built from it.
    public static func validName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 255 else { return false }
        func ok(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        return ok(first) && name.utf8.allSatisfy { ok($0) || $0 == 0x5F || $0 == 0x2E || $0 == 0x2D }
    }

    /// Finds the volume: `docker volume inspect` when a Docker daemon answers, else Docker's
    /// data root (`CDB_DOCKER_DATA_ROOT`, default /var/lib/docker) `/volumes/NAME/_data` when it
    /// is readable; else a clear error naming both.
    public static func locate(_ name: String, sources: SettingSources) throws -> DockerVolume {
        guard validName(name) else {
            throw CDBError.usage("--include-docker-volume \(Untrusted.escape(name)): not a Docker volume name (letters, digits, _ . -)")
        }
        var tried: [String] = []
        if let docker = ChildProcess.find(sources.lookup("CDB_DOCKER")?.value ?? "docker") {
            if let path = try? inspect(docker: docker, name: name) { return DockerVolume(name: name, mountpoint: path, foundBy: "docker volume inspect") }
            tried.append("`docker volume inspect \(name)` did not answer with a mountpoint (no daemon, or no such volume)")
        } else {
            tried.append("no docker command on PATH")
        }
        let dataRoot = sources.lookup("CDB_DOCKER_DATA_ROOT")?.value ?? "/var/lib/docker"
        let path = Path.join(dataRoot, "volumes/\(name)/_data")
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, access(path, R_OK | X_OK) == 0 {
            return DockerVolume(name: name, mountpoint: path, foundBy: "Docker's data root")
        }
        tried.append("\(path) is not a readable folder")
        throw CDBError.inputMissing(path: "Docker volume \(name)", reason: tried.joined(separator: "; ") + " — start Docker, check the name (docker volume ls), or run as a user who can read Docker's data root")
    }

    static func inspect(docker: String, name: String) throws -> String? {
        let child = try ChildProcess([docker, "volume", "inspect", "--format", "{{.Mountpoint}}", name], captureOutput: true)
        close(child.input)
        final class Box: @unchecked Sendable { var errors: [UInt8] = [] }
        let box = Box()
        let reader = DispatchGroup()
        reader.enter()
        detachThread {  // both pipes drained at once: a chatty stderr cannot block the answer
            box.errors = child.readErrors(limit: 4096)
            reader.leave()
        }
        let out = child.readOutput(limit: 4096)
        reader.wait()
        guard child.waitForExit() == 0 else { return nil }
        let path = String(decoding: out, as: UTF8.self).trimmed()
        return path.hasPrefix("/") ? path : nil
    }

    /// Why this volume must not be copied as files: it is a PostgreSQL data directory in use
    /// (PG_VERSION and postmaster.pid, at its top or one folder down, as the official image's
    /// PGDATA may be). Nil when it may be copied.
    public func liveDatabaseRefusal() -> String? {
        var candidates = [mountpoint]
        if let children = try? FileManager.default.contentsOfDirectory(atPath: mountpoint) {
            candidates += children.map { Path.join(mountpoint, $0) }
        }
        for folder in candidates {
            var info = stat()
            guard lstat(Path.join(folder, "PG_VERSION"), &info) == 0, lstat(Path.join(folder, "postmaster.pid"), &info) == 0 else { continue }
            return "Docker volume \(name) is the data directory of a running PostgreSQL server (\(Untrusted.escape(folder))): the dump (cdb-pg-dump) already covers the database, and a file copy of a live data directory is not a backup — leave it out"
        }
        return nil
    }
}
