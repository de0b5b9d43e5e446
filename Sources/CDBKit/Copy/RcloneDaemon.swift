import FoundationEssentials
import Glibc

/// One `rclone rcd` (rclone's remote control server) for a whole cdb-copy run: every listing,
/// upload, move and delete goes through one rclone process and the one connection it keeps to
/// the remote, instead of a new process and a new SSH or TLS handshake per step (which cost
/// about 0.25 s each on SFTP: six of them tripled the time of a copy).
///
/// - It listens on 127.0.0.1 on a port the kernel picks, behind basic authentication with a
///   random password that only its environment holds (other local users cannot drive it; no
///   secret is on any command line).
/// - It dies with cdb: started through util-linux's `setpriv --pdeathsig KILL`, so a cdb killed
///   with -9 takes it along, and an upload cut off that way stays under its temporary name.
/// - Requests are HTTP/1.1 on one connection each; an upload streams its body (chunked) as it
///   is produced — no temporary file anywhere (rclone streams a multipart part into `rcat`).
final class RcloneDaemon {
    struct Failure: Error { let message: String }

    private let child: ChildProcess
    private let port: UInt16
    private let authorization: String

    /// Starts the daemon; throws `Failure` with rclone's words when it does not come up.
    init(rclone: String) throws {
        var secret = SystemRandomNumberGenerator()
        let password = Format.hex((0..<24).map { _ in UInt8.random(in: 0...255, using: &secret) })
        authorization = "Basic " + Data("cdb:\(password)".utf8).base64EncodedString()
        // --ignore-checksum: rclone would hash every streamed upload and have the server hash it
        // again; cdb checks each object itself, with the one hash the destination offers.
        // --streaming-upload-cutoff: an upload up to this size (of unknown size to rclone) is
        // held in memory and sent as one request of known size (one PUT on S3, not a multipart
        // upload); larger ones go through `rclone rcat --size` (RcloneTarget).
        // --low-level-retries 3 (not 10): a server that is down is reported in seconds, not minutes.
        // Its log on standard error at NOTICE, whatever RCLONE_LOG_FILE, _LEVEL or _FORMAT say:
        // cdb reads the port from it, and a DEBUG log would print the password's variable.
        child = try ChildProcess(Self.dyingWithParent([rclone, "rcd", "--rc-addr", "127.0.0.1:0", "--ignore-checksum", "--low-level-retries", "3",
                                                       "--streaming-upload-cutoff", "\(Self.streamingCutoff >> 20)M",
                                                       "--log-file=", "--log-level=NOTICE", "--use-json-log=false", "--log-format=date,time"]),
                                 discardOutput: true, environment: ["RCLONE_RC_USER": "cdb", "RCLONE_RC_PASS": password])
        child.closeInput()
        // Its log goes to standard error: the first line names the port; later lines are read
        // and dropped (errors come back in the replies).
        final class Start: @unchecked Sendable {
            let condition = Condition()
            var port: UInt16?
            var ended = false
            var text = ""
        }
        let start = Start()
        let errors = dup(child.errors)  // the thread's own descriptor: it closes it
        detachThread {
            defer { close(errors) }
            var pending = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(errors, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                pending += buffer[0..<n]
                while let newline = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    start.condition.lock()
                    if start.port == nil, let range = line.byteRange(of: "http://127.0.0.1:") {
                        let digits = line[range.upperBound...].prefix { $0.isNumber }
                        start.port = UInt16(digits)
                        start.condition.broadcast()
                    } else if start.port == nil {
                        start.text += line + "\n"
                    }
                    start.condition.unlock()
                }
            }
            start.condition.lock()
            start.ended = true
            start.condition.broadcast()
            start.condition.unlock()
        }
        start.condition.lock()
        let deadline = Date().addingTimeInterval(30)
        while start.port == nil && !start.ended && Date() < deadline { _ = start.condition.wait(seconds: 0.2) }
        let found = start.port, text = start.text
        start.condition.unlock()
        guard let found else {
            child.terminate()
            _ = child.waitForExit()
            throw Failure(message: text.isEmpty ? "rclone's remote control did not start" : text)
        }
        port = found
    }

    /// The size up to which the daemon takes an upload itself (held in its memory).
    static let streamingCutoff = 8 << 20

    /// `arguments` run so that the child is killed when cdb ends, however it ends (util-linux's
    /// setpriv sets the parent-death signal before it executes the program).
    static func dyingWithParent(_ arguments: [String]) -> [String] {
        access("/usr/bin/setpriv", X_OK) == 0 ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] + arguments : arguments
    }

    deinit {
        child.terminate()
        _ = child.waitForExit()
    }

    // MARK: Requests

    /// Calls `command` (e.g. "operations/list") with JSON parameters; returns the JSON reply.
    /// rclone's own error text is thrown as `Failure`.
    func call(_ command: String, _ parameters: JSON) throws -> [UInt8] {
        let body = Array(parameters.text().utf8)
        let (status, reply) = try exchange(command, contentType: "application/json", length: body.count) { socket in
            try body.withUnsafeBytes { try socket.send($0) }
        }
        return try Self.checked(status: status, reply: reply)
    }

    /// Uploads one object named `name` into the folder `remote` of `fs`, streaming what
    /// `produce` writes (rclone's operations/uploadfile: a multipart part fed into rcat).
    func upload(fs: String, remote: String, name: String, _ produce: (ByteSink) throws -> Void) throws {
        var random = SystemRandomNumberGenerator()
        let boundary = "cdb-" + Format.hex((0..<12).map { _ in UInt8.random(in: 0...255, using: &random) })
        let query = "?fs=" + Self.percentEncoded(fs) + "&remote=" + Self.percentEncoded(remote)
        let (status, reply) = try exchange("operations/uploadfile" + query, contentType: "multipart/form-data; boundary=" + boundary, length: nil) { socket in
            let chunked = ChunkedSink(socket: socket)
            let head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file0\"; filename=\"\(name)\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            try Array(head.utf8).withUnsafeBytes { try chunked.write($0) }
            try produce(chunked)
            try Array("\r\n--\(boundary)--\r\n".utf8).withUnsafeBytes { try chunked.write($0) }
            try chunked.end()
        }
        _ = try Self.checked(status: status, reply: reply)
    }

    private static func checked(status: Int, reply: [UInt8]) throws -> [UInt8] {
        if status == 200 { return reply }
        struct Problem: Decodable { let error: String? }
        let message = (try? JSONDecoder().decode(Problem.self, from: Data(reply)))?.error
            ?? String(decoding: reply.prefix(2000), as: UTF8.self)
        throw Failure(message: status == 401 ? "rclone's remote control refused cdb's password" : message)
    }

    /// Characters other than unreserved ones as %XX (RFC 3986), byte by byte.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + Format.hex([byte]).uppercased()
            }
        }
        return out
    }

    /// One request on a fresh connection: the head, the body `send` writes (`length` bytes, or
    /// chunked when nil), then the whole reply (the server closes after it).
    private func exchange(_ target: String, contentType: String, length: Int?, _ send: (Socket) throws -> Void) throws -> (Int, [UInt8]) {
        let socket = try Socket(port: port)
        let framing = length.map { "Content-Length: \($0)" } ?? "Transfer-Encoding: chunked"
        let head = "POST /\(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(authorization)\r\nContent-Type: \(contentType)\r\n\(framing)\r\nConnection: close\r\n\r\n"
        do {
            try Array(head.utf8).withUnsafeBytes { try socket.send($0) }
            try send(socket)
        } catch let error as Socket.Closed {
            // rclone answered early (an error) and closed: its reply says why.
            if let reply = try? socket.receiveAll(), let parsed = try? Self.parse(reply), parsed.0 != 200 { return parsed }
            throw Failure(message: error.message)
        }
        return try Self.parse(try socket.receiveAll())
    }

    /// Status and body of an HTTP/1.1 reply (plain or chunked).
    static func parse(_ reply: [UInt8]) throws -> (Int, [UInt8]) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = reply.indices.first(where: { reply[$0...].starts(with: separator) }) else {
            throw Failure(message: "rclone's remote control sent no complete reply")
        }
        let head = String(decoding: reply[..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw Failure(message: "rclone's remote control sent a reply cdb cannot read")
        }
        var body = Array(reply[(end + 4)...])
        if lines.dropFirst().contains(where: { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }) {
            var decoded = [UInt8](), position = 0
            while position < body.count {
                guard let lineEnd = body[position...].firstIndex(of: 13) else { break }
                let sizeText = String(decoding: body[position..<lineEnd], as: UTF8.self).prefix { $0 != ";" }
                guard let size = Int(sizeText.trimmed(), radix: 16) else { break }
                if size == 0 { break }
                let start = lineEnd + 2
                guard start + size <= body.count else { break }
                decoded += body[start..<(start + size)]
                position = start + size + 2
            }
            body = decoded
        }
        return (status, body)
    }
}

/// A TCP connection to 127.0.0.1.
final class Socket {
    struct Closed: Error { let message: String }
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RcloneDaemon.Failure(message: "cannot open a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RcloneDaemon.Failure(message: "cannot reach rclone's remote control: \(reason)")
        }
    }

    deinit { close(fd) }

    func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Closed(message: "rclone closed the connection: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    func receiveAll() throws -> [UInt8] {
        var out = [UInt8](), buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && out.isEmpty { throw RcloneDaemon.Failure(message: "no reply from rclone: \(String(cString: strerror(errno)))") }
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }
}

/// Writes an HTTP/1.1 chunked body to a socket.
final class ChunkedSink: ByteSink {
    let socket: Socket
    init(socket: Socket) { self.socket = socket }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        try Array((String(bytes.count, radix: 16) + "\r\n").utf8).withUnsafeBytes { try socket.send($0) }
        try socket.send(bytes)
        try [UInt8(13), 10].withUnsafeBytes { try socket.send($0) }
    }
    /// The inner sinks' finish does not end the body: `end` does, after the multipart epilogue.
    func finish() throws {}
    func end() throws { try Array("0\r\n\r\n".utf8).withUnsafeBytes { try socket.send($0) } }
}
