import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Installs and removes cdb's post-commit hook. It chains, never clobbers: a foreign hook is
/// moved aside as `post-commit.legacy`, still called, and put back on uninstall.
public enum PostCommitHook {
    /// The line that marks the hook as ours.
    public static let marker = "cdb-managed-hook"

    /// The hook's text: hooks/post-commit, embedded by scripts/generate.sh (a test keeps the
    /// two equal), with `@CDB_REPO_SNAP@` standing for the absolute path of cdb-repo-snap.
    public static var template: String { EmbeddedFiles.postCommit }

    public static func text(program: String) -> String {
        template.replacingAll("@CDB_REPO_SNAP@", with: program)
    }

    /// The hooks folder as git resolves it: core.hooksPath (relative to the work tree), else
    /// the common git folder's hooks (shared by linked worktrees).
    public static func hooksFolder(_ repo: GitRepository) -> String {
        if let configured = repo.configPath("core.hooksPath"), !configured.isEmpty {
            if configured.hasPrefix("/") { return configured }
            let base = repo.workdir.isEmpty ? repo.gitDir : repo.workdir
            return Path.join(base, configured)
        }
        return Path.join(repo.commonDir, "hooks")
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
