import Glibc

/// `CDB_ON_FAILURE` (the user's config file or the environment; never a repository's): a
/// command run through /bin/sh after a program fails, in the background (it never delays or
/// changes the outcome), with CDB_PROGRAM, CDB_EXIT and CDB_MESSAGE (one line, control
/// characters escaped) in its environment; its output goes nowhere.
public func notifyFailure(command: String?, program: String, status: ExitStatus, message: String) {
    guard let command, !command.trimmed().isEmpty else { return }
    setenv("CDB_PROGRAM", program, 1)
    setenv("CDB_EXIT", String(status.rawValue), 1)
    setenv("CDB_MESSAGE", Untrusted.escape(message.isEmpty ? "exit \(status.rawValue)" : message).replacingAll("\n", with: " "), 1)
    try? ChildProcess.startDetached(["/bin/sh", "-c", command])
}
