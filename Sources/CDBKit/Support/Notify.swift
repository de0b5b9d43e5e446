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

/// `CDB_PING_URL`: the healthchecks.io protocol — `URL/start` when a run starts, `URL` when it
/// succeeds, `URL/fail` with the error as the body when it fails — sent by curl in the
/// background (at most 10 s, its output nowhere), so a monitor that is down never delays or
/// fails a backup. The URL (a capability: whoever knows it can ping) reaches curl through its
/// standard input, never a command line.
public enum HealthPing {
    public enum Event: String { case start, success, fail }

    public static func send(_ url: String?, _ event: Event, body: String = "") {
        guard let url = url?.trimmed(), !url.isEmpty, url.hasPrefix("http://") || url.hasPrefix("https://") else { return }
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let target = event == .success ? base : base + "/" + event.rawValue
        func quoted(_ text: String) -> String {
            "\"" + text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll("\n", with: "\\n") + "\""
        }
        var config = "url = \(quoted(target))\nsilent\nmax-time = 10\nretry = 2\n"
        if event == .fail { config += "data-binary = \(quoted(String(body.prefix(10_000))))\n" }
        guard let curl = ChildProcess.find("curl"), let child = try? ChildProcess([curl, "-K", "-", "-o", "/dev/null"], discardOutput: true, detached: true) else { return }
        try? Array(config.utf8).withUnsafeBytes { try FileIO.writeAll(child.input, $0, path: "curl") }
        child.closeInput()
    }
}
