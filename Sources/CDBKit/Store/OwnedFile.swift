import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The one way cdb opens a file it appends to, locks or marks (logs, `.lock`, markers): never
/// through a symbolic link (`O_NOFOLLOW`), only a regular file owned by the user, created 0600.
public enum OwnedFile {
    /// Opens (creating 0600 when absent) `path` with `flags` (`O_RDWR`, `O_WRONLY | O_APPEND`, …).
    /// A link, a non-regular file or someone else's file is `.cannotCreate` (exit 73).
    public static func open(_ path: String, flags: Int32) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o600)
        if fd < 0 {
            let code = errno
            if code == ELOOP || code == EMLINK {
                throw CDBError.cannotCreate(path: path, reason: "it is a symbolic link; cdb never writes through links — remove it")
            }
            if code == ENOSPC || code == EDQUOT { throw CDBError.fromWrite(errno: code, path: path) }
            throw CDBError.cannotCreate(path: path, reason: String(cString: strerror(code)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw CDBError.cannotCreate(path: path, reason: String(cString: strerror(code)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw CDBError.cannotCreate(path: path, reason: "it is not a regular file — remove it")
        }
        guard info.st_uid == geteuid() else {
            Glibc.close(fd)
            throw CDBError.cannotCreate(path: path, reason: "it belongs to another user (uid \(info.st_uid)) — remove it")
        }
        // Back to blocking I/O (O_NONBLOCK only kept a FIFO from hanging the open).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        if info.st_mode & 0o077 != 0 { fchmod(fd, 0o600) }
        return fd
    }
}
