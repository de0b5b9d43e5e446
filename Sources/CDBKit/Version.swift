/// The toolkit's version, printed by `--version` and in dump headers.
public enum CDBVersion {
    public static let string = "0.1.0"
}
