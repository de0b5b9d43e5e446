import FoundationEssentials
import Glibc

/// The check every restore makes before it writes anything: the backup against its `.sha256`
/// sidecar (`sha256sum` format), when there is one.
public enum BackupIntegrity {
    public enum SidecarState: Equatable {
        case match
        case absent
        case mismatch(expected: String, actual: String)
    }

    public static func sidecarState(of path: String) throws -> SidecarState {
        guard let text = try? String(contentsOfFile: Checksum.sidecarPath(for: path), encoding: .utf8) else { return .absent }
        let expected = String(text.prefix(while: { !$0.isWhitespace })).lowercased()
        let actual = try Checksum.sha256(ofFileAt: path)
        return expected == actual ? .match : .mismatch(expected: expected, actual: actual)
    }

    /// Refuses a backup whose sidecar does not match (65), unless `skip` (`--no-verify`, to rescue
    /// a damaged backup on purpose), which warns instead.
    public static func checkSidecar(of path: String, skip: Bool, reporter: Reporter) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CDBError.inputMissing(path: path, reason: "no such file")
        }
        if skip {
            reporter.warning("--no-verify: \(path) is restored without checking its .sha256 sidecar")
            return
        }
        switch try sidecarState(of: path) {
        case .match:
            reporter.detail("\(path): matches its .sha256 sidecar")
        case .absent:
            reporter.detail("\(path): no .sha256 sidecar; checking its structure only")
        case let .mismatch(expected, actual):
            throw CDBError.validation(path: path, reason: "it does not match its .sha256 sidecar (the sidecar says \(expected.prefix(12))…, the file is \(actual.prefix(12))…): the backup is damaged; nothing was restored — use another backup, or --no-verify to restore it anyway")
        }
    }
}
