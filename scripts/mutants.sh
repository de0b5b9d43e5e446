#!/usr/bin/env bash
# Mutation check: are the promises cdb makes pinned by tests that fail when the code is wrong?
# Copies the work tree to a temporary folder, applies every mutation in the list below behind a
# switch (CDB_MUTANT=N turns mutation N on, in the programs and in the unit tests), builds once,
# then runs the tests named for each mutation with that mutation on. A mutation is killed when
# those tests fail. Prints one line per mutation and `N mutants, K killed`; exits 1 when any
# survived. Slow (one debug build, then a focused test run per mutation): run on demand, not in CI.
#
#   scripts/mutants.sh            # all
#   scripts/mutants.sh 3 7        # only mutations 3 and 7
#
# A promise added later gets its mutation here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
here=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cdb-mutants.XXXXXX")
trap 'rm -rf "$work"' EXIT

git ls-files -z --cached --others --exclude-standard | (cd "$here" && xargs -0 cp --parents -t "$work")

# number | file | original text (must occur exactly once) | mutated text, with MUTANT for the switch
# | tests (swift test filters, comma-separated). In the texts, \| is a |, \& an & and \n a newline.
cat >"$work/mutations.txt" <<'EOF'
1|Sources/CDBKit/Store/BackupJob.swift|held = try lock.acquire(root: root.path, mode: .shared)|held = MUTANT ? nil : try lock.acquire(root: root.path, mode: .shared)|PromiseTests/writersTakeTheLock
2|Sources/CDBKit/Store/AtomicFile.swift|public init(directory: String, stem: String, mode: mode_t = 0o600) throws {|public init(directory: String, stem: String, mode: mode_t = (MUTANT ? 0o644 : 0o600)) throws {|PromiseTests/modes
3|Sources/CDBKit/Postgres/DumpRestore.swift|if counted != expected { mismatches|if counted != expected && !MUTANT { mismatches|PromiseTests/checkComparesRows
4|Sources/CDBKit/Verify/BackupVerifier.swift|        if !missing.isEmpty {|        if !missing.isEmpty && !MUTANT {|PromiseTests/verifyChecksTablesAndBanner
5|Sources/CDBKit/Postgres/DumpValidator.swift|if !report.sawBanner {|if !report.sawBanner && !MUTANT {|PromiseTests/verifyChecksTablesAndBanner
6|Sources/CDBKit/Verify/BackupVerifier.swift|.max { $0.isOlder(than: $1) }|.max { MUTANT ? $1.isOlder(than: $0) : $0.isOlder(than: $1) }|PromiseTests/latestIsNewest
7|Sources/CDBKit/Session/PreSession.swift|let prune = pruneStep()|let prune = MUTANT ? Step(name: "prune", summary: "") : pruneStep()|PromiseTests/preSessionPrunesAndSkips
8|Sources/CDBKit/Session/PreSession.swift|if request.minInterval > 0, let age|if !MUTANT, request.minInterval > 0, let age|PromiseTests/preSessionPrunesAndSkips
9|Sources/CDBKit/Archive/SnapshotRestore.swift|                try writeFile(rootFD, name: SnapshotArchive.metadataName, mode: 0o644, entry: meta, zip: outer, created: created)|                if !MUTANT { try writeFile(rootFD, name: SnapshotArchive.metadataName, mode: 0o644, entry: meta, zip: outer, created: created) }|PromiseTests/restoreWritesMetadata
10|Sources/CDBKit/Retention/Pruner.swift|if AtomicFile.isAbandoned(name) \|\| Date().timeIntervalSince(mtime) > 86_400 {|if AtomicFile.isAbandoned(name) \|\| (!MUTANT && Date().timeIntervalSince(mtime) > 86_400) {|PruneTests
11|Sources/CDBKit/Retention/BackupName.swift|        var stamp: Date?|        if !valid && MUTANT { return nil }\n        var stamp: Date?|RetentionTests
12|Sources/CDBKit/Store/AtomicFile.swift|            if link(temporaryPath, target) == 0 {|            if MUTANT ? rename(temporaryPath, target) == 0 : link(temporaryPath, target) == 0 {|StoreTests,PgDumpErrorTests
13|Sources/CDBKit/Retention/RetentionPolicy.swift|newestFirst.indices.prefix(keepLast)|newestFirst.indices.prefix(MUTANT ? 0 : keepLast)|RetentionTests,PruneTests
14|Sources/CDBKit/Archive/SnapshotRestore.swift|if parts.contains("..") {|if !MUTANT, parts.contains("..") {|SnapshotRestoreTests,HostileArchiveTests
15|Sources/CDBKit/Postgres/DumpValidator.swift|        if !report.sawCompletion {|        if !report.sawCompletion && !MUTANT {|PgDumpCheckTests,VerifyTests
16|Sources/CDBKit/Archive/SnapshotRestore.swift|if parts.contains(where: { isGitFolderName(String($0)) }) {|if !MUTANT, parts.contains(where: { isGitFolderName(String($0)) }) {|HostileArchiveTests/refusedNames
17|Sources/CDBKit/Session/PreSession.swift|if settings.enabledWorkTree != nil { return nil }|if MUTANT \|\| settings.enabledWorkTree != nil { return nil }|TrustAttackTests
18|Sources/CDBKit/Store/OwnedFile.swift|flags \| O_CREAT \| O_NOFOLLOW \| O_CLOEXEC|flags \| O_CREAT \| (MUTANT ? 0 : O_NOFOLLOW) \| O_CLOEXEC|TrustAttackTests/linksAreNotFollowed
19|Sources/CDBKit/Terminal/Untrusted.swift|guard text.unicodeScalars.contains(where: needsEscape) else { return text }|guard !MUTANT, text.unicodeScalars.contains(where: needsEscape) else { return text }|TrustAttackTests/escapes
20|Sources/CDBKit/Archive/SnapshotRestore.swift|guard crc.value == entry.crc, size == entry.size else {|guard MUTANT \|\| (crc.value == entry.crc && size == entry.size) else {|HostileArchiveTests/lyingEntries
21|Sources/CDBKit/Verify/BackupIntegrity.swift|        if skip {|        if skip \|\| MUTANT {|HostileArchiveTests/sidecarFirst,RestoreTests/sidecarAndCreate
22|Sources/CDBKit/Store/BackupRoot.swift|if let tree = WorkTree.enclosing(path) {|if !MUTANT, let tree = WorkTree.enclosing(path) {|TrustAttackTests/backupRootRefusals
23|Sources/CDBKit/Config/Settings.swift|for secret in Set(secrets) where !secret.isEmpty|for secret in Set(secrets) where !MUTANT \&\& !secret.isEmpty|PromiseTests/redactionEndToEnd
24|Sources/CDBKit/Store/ProcessSetup.swift|                pthread_sigmask(SIG_UNBLOCK, \&set, nil)|                if !MUTANT { pthread_sigmask(SIG_UNBLOCK, \&set, nil) }|RestoreTests/checkInterrupted
25|Sources/CDBKit/Archive/ZipEntryReader.swift|            guard produced <= declared else {|            guard MUTANT \|\| produced <= declared else {|HostileArchiveTests/lyingEntries
26|Sources/CDBKit/Archive/ZipReader.swift|        guard count >= 0, offset <= length, UInt64(count) <= length - offset else {|        guard MUTANT \|\| (count >= 0 \&\& offset <= length \&\& UInt64(count) <= length - offset) else {|HostileArchiveTests/overflowingFields
27|Sources/CDBKit/Git/RepositorySnapshot.swift|                let choice = Self.chooseUntracked(|                let choice = MUTANT ? (captured: [], skipped: []) : Self.chooseUntracked(|RepoSnapTests/untrackedCapture
28|Sources/CDBKit/Config/Settings.swift|        if let workTree, let path = DotEnv.locate(|        if let workTree = MUTANT ? WorkTree.root(containing: directory) : workTree, let path = DotEnv.locate(|SettingsTests
29|Sources/CDBKit/Postgres/ScriptReader.swift|            case 0x3B where beginDepth == 0 \&\& parenDepth == 0:|            case 0x3B where beginDepth == 0 \&\& (parenDepth == 0 \|\| MUTANT):|RestoreTests/transactionsAndParentheses
30|Sources/CDBKit/Postgres/DumpScript.swift|if c.bool(.notnullValid) {|if c.bool(.notnullValid) \|\| MUTANT {|VersionMatrixTests/newFeatures
31|Sources/CDBKit/Postgres/CatalogQueries.swift|FROM pg_catalog.aclexplode(\(acl)) x) a), '') END|FROM pg_catalog.aclexplode(\(acl)) x) a), \(MUTANT ? "NULL" : "''")) END|PgDumpFidelityTests/objectKindsRoundTrip
32|Sources/CDBKit/Postgres/DumpRestore.swift|if inTransaction, Self.isTransactionControl(text) {|if inTransaction, Self.isTransactionControl(text), !MUTANT {|RestoreTests/transactionsAndParentheses
33|Sources/CDBKit/Postgres/DDLRenderer.swift|if kind == "VIEW", cat.viewsNeedingConstraints.contains(oid) {|if kind == "VIEW", cat.viewsNeedingConstraints.contains(oid), !MUTANT {|PgDumpFidelityTests/objectKindsRoundTrip
34|Sources/CDBKit/Postgres/Dumper.swift|if let object = FailureProbe.culprit(c) {|if !MUTANT, let object = FailureProbe.culprit(c) {|PgDumpErrorTests/serverErrors
35|Sources/CDBKit/Postgres/DumpValidator.swift|if first != 0x2D \&\& first != 0x43 { return }|if first != 0x2D \&\& (first != 0x43 \|\| MUTANT) { return }|DumpValidatorTests/broken
36|Sources/CDBKit/Postgres/Dumper.swift|"'" + text.replacingAll("'", with: "''") + "'"|"'" + (MUTANT ? text.replacing("'", with: "''") : text.replacingAll("'", with: "''")) + "'"|RestoreTests/combiningMarkQuotes
37|Sources/CDBKit/Crypto/AgeStream.swift|nonce: AgePayload.nonce(base + UInt64(i), last: lastIsFinal \&\& i == chunks - 1))|nonce: AgePayload.nonce(base + UInt64(i), last: !MUTANT \&\& lastIsFinal \&\& i == chunks - 1))|AgeTests/roundTrips
38|Sources/CDBKit/Crypto/AgeStream.swift|                    batch.failure = AgeError.payload(chunk: chunk + 1, reason: "there is data after the last chunk")|                    if !MUTANT { batch.failure = AgeError.payload(chunk: chunk + 1, reason: "there is data after the last chunk") } else { batch.done = true }|AgeTests/vectors
39|Sources/CDBKit/Postgres/PostgresBackup.swift|let encrypted: ByteSink = try request.recipients.map { try AgeSink(next: base, recipients: $0) } ?? base|let encrypted: ByteSink = MUTANT ? base : try request.recipients.map { try AgeSink(next: base, recipients: $0) } ?? base|EncryptionTests/session
40|Sources/CDBKit/Copy/RcloneDaemon.swift|access("/usr/bin/setpriv", X_OK) == 0 ? ["/usr/bin/setpriv"|access("/usr/bin/setpriv", X_OK) == 0 \&\& !MUTANT ? ["/usr/bin/setpriv"|CopyTests/crash
41|Sources/CDBKit/Copy/OffsiteCopy.swift|} else if let hash, let reported = there.hash, let expected = sent.reported, reported != expected {|} else if let hash, let reported = there.hash, let expected = sent.reported, reported != expected, !MUTANT {|CopyTests/checkedAfterUpload
42|Sources/CDBKit/Git/RepositorySnapshot.swift|count = last.count + (try repo.commitCount(from: head, hiding: last.commit))|count = MUTANT ? last.count + 1 : last.count + (try repo.commitCount(from: head, hiding: last.commit))|RepoSnapTests/commitCounts
43|Sources/CDBKit/Git/CommitGraph.swift|        if second == Self.noParent { return out }|        if second == Self.noParent \|\| MUTANT { return out }|RepoSnapTests/commitCounts
44|Sources/CDBKit/Postgres/DatabaseStart.swift|            if let code = exit, code != 0 {|            if let code = exit, code != 0, !MUTANT {|DatabaseStartTests/failures
45|Sources/CDBKit/Git/DockerVolume.swift|            guard lstat(Path.join(folder, "PG_VERSION"), \&info) == 0|            guard !MUTANT, lstat(Path.join(folder, "PG_VERSION"), \&info) == 0|DockerVolumeTests
46|Sources/CDBKit/Postgres/ParallelData.swift|WHERE ctid >= '(\(start),0)'|WHERE ctid >= '(\(start),\(MUTANT ? 2 : 0))'|ParallelDumpTests/sameBytes
47|Sources/CDBKit/Postgres/DumpRestore.swift|bytes = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])|bytes = UnsafeRawBufferPointer(rebasing: bytes[(MUTANT ? newline : newline + 1)...])|ParallelRestoreTests/roundTrip
48|Sources/CDBKit/Postgres/DumpRestore.swift|                try parallel { try pool.submit(work, kind: .foreignKeys) }|                if !MUTANT { try parallel { try pool.submit(work, kind: .foreignKeys) } }|ParallelRestoreTests/brokenForeignKey
49|Sources/CDBKit/Postgres/ParallelData.swift|        block.removeAll(keepingCapacity: true)|        if !MUTANT { block.removeAll(keepingCapacity: true) }|ParallelDumpTests/sameBytes
50|Sources/CDBKit/Postgres/ParallelData.swift|            let size = rangePages(t.pages, jobs: jobs)|            let size = MUTANT ? max(splitPages, t.pages / Int64(jobs * 4)) : rangePages(t.pages, jobs: jobs)|ParallelDataPlanTests
EOF

python3 - "$work" <<'PY'
import sys, re
work = sys.argv[1]
lines = [l for l in open(f"{work}/mutations.txt").read().splitlines() if l.strip()]
files = {}
for line in lines:
    # Fields are separated by '|' not preceded by a backslash.
    parts = [p.replace("\\|", "|").replace("\\&", "&").replace("\\n", "\n") for p in re.split(r"(?<!\\)\|", line)]
    number, path, old, new = parts[0], parts[1], parts[2], parts[3]
    text = files.get(path) or open(f"{work}/{path}").read()
    if text.count(old) != 1:
        sys.exit(f"mutation {number}: {path} holds the original text {text.count(old)} times, not once — update scripts/mutants.sh")
    files[path] = text.replace(old, new.replace("MUTANT", f"cdbMutant({number})"))
for path, text in files.items():
    open(f"{work}/{path}", "w").write(text)
open(f"{work}/Sources/CDBKit/Mutant.swift", "w").write(
    "import Foundation\n/// Mutation switch (scripts/mutants.sh only).\n"
    "public func cdbMutant(_ n: Int) -> Bool { ProcessInfo.processInfo.environment[\"CDB_MUTANT\"] == String(n) }\n")
PY

echo "mutants: building the mutated copy in $work (once)…" >&2
(cd "$work" && swift build --build-tests >"$work/build.log" 2>&1) || { tail -30 "$work/build.log" >&2; exit 1; }

only=" $* "
cat >"$work/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs under with-postgres.sh: one server for every mutation.
cd "$1"; shift
only=$1
total=0 killed=0
# The tests must pass with no mutation, or a "killed" would mean nothing.
all=$(sed 's/.*|//' mutations.txt | tr ',' '\n' | sort -u | paste -sd'|')
if ! swift test --skip-build --filter "$all" >baseline.log 2>&1; then
  echo "mutants: the tests fail without any mutation; fix them first:" >&2
  grep -E "recorded an issue|Caught error|✘ Test" baseline.log | head -20 >&2
  exit 1
fi
while IFS= read -r line; do
  [ -n "$line" ] || continue
  number=${line%%|*}
  tests=${line##*|}; tests=${tests//,/|}
  if [ "$only" != "  " ] && [[ "$only" != *" $number "* ]]; then continue; fi
  total=$((total + 1))
  if CDB_MUTANT=$number swift test --skip-build --filter "$tests" >"mutant-$number.log" 2>&1; then
    echo "mutant $number: SURVIVED ($tests) — $(sed -n "${number}p" mutations.txt | cut -d'|' -f2)"
  else
    killed=$((killed + 1))
    echo "mutant $number: killed ($tests)"
  fi
done <mutations.txt
echo "$total mutants, $killed killed"
[ "$total" = "$killed" ]
EOF
chmod +x "$work/run.sh"
# The tests look for the package at their own path: run them in the copy.
"$here/scripts/with-postgres.sh" --matrix "$work/run.sh" "$work" "$only"
