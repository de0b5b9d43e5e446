import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Installs and removes cdb's post-commit hook. It chains, never clobbers: a foreign hook is
/// moved aside as `post-commit.legacy`, still called, and put back on uninstall.
public enum PostCommitHook {
    /// The line that marks the hook as ours.
    public static let marker = "cdb-managed-hook"

    /// The hook's text (hooks/post-commit in the source tree; a test keeps the two equal), with
    /// `@CDB_REPO_SNAP@` standing for the absolute path of cdb-repo-snap.
    public static let template = #"""
#!/bin/sh
# cdb post-commit hook -- installed by `cdb-repo-snap --install-hook` (cdb-managed-hook)
# Snapshots the repository in the background after each commit. It never delays or fails the
# commit, always exits 0, and does nothing when CDB_HOOKS=0. A hook that was here before is
# kept as post-commit.legacy and still runs first.
hooks=$(dirname "$0")
if [ -x "$hooks/post-commit.legacy" ]; then "$hooks/post-commit.legacy" "$@" || true; fi
[ "${CDB_HOOKS:-1}" = "0" ] && exit 0
snap="@CDB_REPO_SNAP@"
[ -x "$snap" ] || snap=$(command -v cdb-repo-snap 2>/dev/null) || exit 0
root=${CDB_BACKUP_ROOT:-$HOME/Claire_Backups}
mkdir -p "$root/Repository" 2>/dev/null || exit 0
chmod 700 "$root" "$root/Repository" 2>/dev/null
# Errors go to the backup log (the snapshot logs its own entry too); the path is not needed.
("$snap" --quiet --force --background </dev/null >/dev/null 2>>"$root/Repository/backup_log.txt" &) >/dev/null 2>&1
exit 0
"""#

    public static func text(program: String) -> String {
        // The literal drops the file's final newline; put it back.
        (template + "\n").replacingOccurrences(of: "@CDB_REPO_SNAP@", with: program)
    }

    /// The hooks folder as git resolves it: core.hooksPath (relative to the work tree), else
    /// the common git folder's hooks (shared by linked worktrees).
    public static func hooksFolder(_ repo: GitRepository) -> String {
        if let configured = repo.configPath("core.hooksPath"), !configured.isEmpty {
            if configured.hasPrefix("/") { return configured }
            let base = repo.workdir.isEmpty ? repo.gitDir : repo.workdir
            return (base as NSString).appendingPathComponent(configured)
        }
        return (repo.commonDir as NSString).appendingPathComponent("hooks")
    }

    public enum Outcome: Equatable { case installed, alreadyInstalled, installedKeepingLegacy, removed, removedRestoringLegacy, notInstalled }

    public static func install(_ repo: GitRepository, program: String) throws -> (Outcome, String) {
        let folder = hooksFolder(repo)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let hook = folder + "/post-commit", legacy = folder + "/post-commit.legacy"
        let fresh = text(program: program)
        var outcome = Outcome.installed
        if let existing = try? String(contentsOfFile: hook, encoding: .utf8) {
            if existing.contains(marker) {
                if existing == fresh { return (.alreadyInstalled, hook) }
            } else {
                guard !FileManager.default.fileExists(atPath: legacy) else {
                    throw CDBError.cannotCreate(path: hook, reason: "a foreign post-commit hook is there and \(legacy) exists too; merge them by hand, then run --install-hook again")
                }
                guard rename(hook, legacy) == 0 else { throw CDBError.cannotCreate(path: legacy, reason: String(cString: strerror(errno))) }
                outcome = .installedKeepingLegacy
            }
        } else if FileManager.default.fileExists(atPath: legacy) {
            outcome = .installedKeepingLegacy
        }
        try AtomicFile.write(fresh, to: hook, mode: 0o755)
        chmod(hook, 0o755)
        return (outcome, hook)
    }

    public static func uninstall(_ repo: GitRepository) throws -> (Outcome, String) {
        let folder = hooksFolder(repo)
        let hook = folder + "/post-commit", legacy = folder + "/post-commit.legacy"
        guard let existing = try? String(contentsOfFile: hook, encoding: .utf8), existing.contains(marker) else {
            return (.notInstalled, hook)
        }
        guard unlink(hook) == 0 else { throw CDBError.cannotCreate(path: hook, reason: String(cString: strerror(errno))) }
        if FileManager.default.fileExists(atPath: legacy) {
            guard rename(legacy, hook) == 0 else { throw CDBError.cannotCreate(path: hook, reason: String(cString: strerror(errno))) }
            return (.removedRestoringLegacy, hook)
        }
        return (.removed, hook)
    }
}
