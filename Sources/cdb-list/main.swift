import ArgumentParser
import CDBCommandLine
import CDBKit
import FoundationEssentials
import Glibc

struct List: CDBProgram {
    static let configuration = CommandConfiguration(
        commandName: "cdb-list",
        abstract: "List the backups: kind, time, age, size, commit, encrypted — newest first.",
        usage: """
            cdb-list [--kind db|repo] [--since WHEN] [--from DEST] [--copies] [--json]
            """,
        discussion: """
            One line per backup under the backup root (or at a copy destination with --from DEST): its kind \
            (db, repo, and inc for an increment, shown under the full snapshot it builds on), the time in its \
            name, its age, its size, a snapshot's commit, "age" when encrypted, "no sidecar" when it has \
            no .sha256, and for a dump the outcome of its last restore check (cdb-restore --check records it in \
            check_log.txt). --copies adds which copy destinations (CDB_COPY_TO, or --copies-at DEST) hold \
            each backup with its sidecar, from one listing of each. Newest first, by the time in the name (not the folder's order). --json: one object per \
            line. Nothing found is not an error: a message, exit 0.

            Exit codes: 0 ok, 64 usage, 69 a destination unreachable, 78 configuration.

            EXAMPLES:
              cdb-list
              cdb-list --kind db --since 7d
              cdb-list --from /media/usb/cdb
              cdb-list --copies                  # which destinations hold each one
              cdb-list --json | jq -r 'select(.kind=="db") | .path' | head -1
            """,
        version: CDBVersion.string
    )

    static var pingsMonitor: Bool { false }  // it only looks

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("Only dumps (db) or only repository snapshots (repo).", valueName: "kind"))
    var kind: String?

    @Option(name: .long, help: ArgumentHelp("Only backups from this day on (YYYY-MM-DD), or of the last N days (Nd).", valueName: "when"))
    var since: String?

    @OptionGroup(title: "Copies") var source: FromOptions

    @Flag(name: .long, help: "Also list the copy destinations (CDB_COPY_TO) and show which of them hold each backup (one listing per destination).")
    var copies = false

    @Option(name: .long, help: ArgumentHelp("A copy destination to look in (repeatable; implies --copies; default CDB_COPY_TO).", valueName: "dest"),
            completion: .directory)
    var copiesAt: [String] = []

    func validate() throws {
        if let kind, !["db", "repo"].contains(kind) { throw ValidationError("--kind is db or repo") }
        if let since, Self.cutoff(since, now: Date()) == nil { throw ValidationError("--since takes YYYY-MM-DD or Nd (e.g. 7d)") }
    }

    static func cutoff(_ text: String, now: Date) -> Date? {
        if text.hasSuffix("d"), let days = Int(text.dropLast()), days >= 0 { return now.addingTimeInterval(-Double(days) * 86_400) }
        return Timestamp.parseLocal(text + " 00:00:00")
    }

    struct Entry {
        let relative: String
        let parsed: BackupName
        let size: Int64
        let sidecar: Bool
    }

    func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus {
        let remote = try source.open(settings)
        let place = remote?.target.display ?? settings.backupRoot
        var sizes: [String: Int64] = [:]
        if let remote {
            sizes = try remote.target.list()
        } else {
            // The root read as a copy destination is (its regular files by kind); a root not
            // made yet holds nothing.
            sizes = (try? FolderTarget(path: settings.backupRoot).list()) ?? [:]
        }
        let now = Date()
        let from = since.flatMap { Self.cutoff($0, now: now) }
        var entries: [Entry] = []
        for (relative, size) in sizes {
            guard let parsed = BackupName.parse(Path.name(of: relative)), let stamp = parsed.stamp else { continue }
            if let kind, (kind == "db") != (parsed.kind == .postgres) { continue }
            if let from, stamp < from { continue }
            entries.append(Entry(relative: relative, parsed: parsed, size: size, sidecar: sizes[relative + ".sha256"] != nil))
        }
        guard !entries.isEmpty else {
            reporter.info("no backups\(kind.map { " of kind \($0)" } ?? "")\(since.map { " since \($0)" } ?? "") in \(place)")
            return .success
        }
        // Newest first; an increment right under the full snapshot it builds on.
        let newestFirst = entries.sorted {
            $1.parsed.isOlder(than: $0.parsed) || (!$0.parsed.isOlder(than: $1.parsed) && $0.relative > $1.relative)
        }
        var ordered: [(Entry, Bool)] = []
        var placed = Set<String>()
        for entry in newestFirst where !entry.parsed.isIncrement {
            ordered.append((entry, false))
            placed.insert(entry.relative)
            guard entry.parsed.kind == .repository, let commit = entry.parsed.commit else { continue }
            for increment in newestFirst where increment.parsed.base == commit && !placed.contains(increment.relative) {
                ordered.append((increment, true))
                placed.insert(increment.relative)
            }
        }
        for entry in newestFirst where !placed.contains(entry.relative) { ordered.append((entry, false)) }  // a base gone

        // What the last restore check of each dump said (check_log.txt at the local root).
        let checks = CheckLog.lastResults(root: settings.backupRoot)
        // Where copies exist: each destination's listing (a copy counts with its sidecar).
        var destinations = copiesAt
        if copies && destinations.isEmpty, let (list, _) = settings.sources.lookup("CDB_COPY_TO") {
            destinations = list.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
        if copies && destinations.isEmpty {
            throw CDBError.configuration("--copies: no destination; set CDB_COPY_TO in the config file or give --copies-at DEST")
        }
        var held: [String: [String]] = [:]  // backup name → destinations holding it
        var status = ExitStatus.success
        for destination in destinations {
            do {
                let listing = try copyTarget(destination, rclone: settings.sources.lookup("CDB_RCLONE")?.value ?? "rclone").list()
                for (path, _) in listing where listing[path + ".sha256"] != nil {
                    var name = Path.name(of: path)
                    held[name, default: []].append(destination)
                    if name.hasSuffix(".age") {  // a clear backup copied encrypted
                        name.removeLast(4)
                        held[name, default: []].append(destination)
                    }
                }
            } catch let error as CDBError {
                reporter.error("cannot list \(Untrusted.escape(destination)): \(error.errorDescription ?? "")")
                status = max(status, error.exitStatus)
            }
        }
        for (entry, under) in ordered {
            let p = entry.parsed
            let checked = p.kind == .postgres ? checks[Path.name(of: entry.relative)] : nil
            let kindText = p.isIncrement ? "inc" : (p.kind == .postgres ? "db" : "repo")
            if common.json {
                JSONOutput.emit(JSONRecord(kind: JSONRecord.kind(p.kind), path: destinationPath(place, entry.relative), status: .ok, bytes: entry.size,
                                           extra: ["name": Path.name(of: entry.relative), "increment": p.isIncrement,
                                                   "time": Timestamp.iso8601(p.stamp!, local: true), "age_seconds": Int(now.timeIntervalSince(p.stamp!)),
                                                   "commit": p.commit as Any, "base": p.base as Any, "encrypted": p.encrypted,
                                                   "sidecar": entry.sidecar,
                                                   "checked": checked.map { ["ok": $0.ok, "time": Timestamp.iso8601($0.when, local: true)] as [String: Any] } as Any,
                                                   "copies": destinations.isEmpty ? JSON.null : JSON(any: held[Path.name(of: entry.relative)] ?? [])]))
                continue
            }
            let columns = [
                (under ? "  " : "") + kindText,
                Self.local(p.stamp!),
                Self.age(now.timeIntervalSince(p.stamp!)),
                ByteSize.format(entry.size),
                p.commit ?? "",
                p.encrypted ? "age" : "",
                Path.name(of: entry.relative) + (entry.sidecar ? "" : "  (no sidecar)")
                    + (checked.map { "  [" + ($0.ok ? "restore check OK " : "restore check FAILED ") + Self.age(now.timeIntervalSince($0.when)) + " ago]" } ?? "")
                    + (destinations.isEmpty ? "" : "  [copies: " + (held[Path.name(of: entry.relative)].map { $0.map(Untrusted.escape).joined(separator: ", ") } ?? "none") + "]"),
            ]
            let widths = [6, 16, 7, 10, 8, 3]
            var line = ""
            for (index, column) in columns.enumerated() {
                line += index < widths.count ? column + String(repeating: " ", count: max(0, widths[index] - column.count)) + "  " : column
            }
            while line.hasSuffix(" ") { line.removeLast() }
            emit(line)
        }
        return status
    }

    /// "YYYY-MM-DD HH:MM", local time (as in the names).
    static func local(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&t, &parts)
        return String(Timestamp.dateAndTime(parts).prefix(16))
    }

    static func age(_ seconds: Double) -> String {
        if seconds < 3600 { return "\(max(0, Int(seconds / 60))) min" }
        if seconds < 2 * 86_400 { return "\(Int(seconds / 3600)) h" }
        return "\(Int(seconds / 86_400)) d"
    }
}

ProcessSetup.prepare()
List.main()
