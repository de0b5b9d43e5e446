#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds once, runs every test against a
# throwaway PostgreSQL cluster (scripts/with-postgres.sh). Extra arguments go to `swift test`
# (e.g. --filter Dump).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh --with-shells
swift build --build-tests
# with-postgres.sh starts the server: tests that need it fail (not skip) when it is not there.
export CDB_REQUIRE_PG=1
# --matrix: the version-matrix tests also get PostgreSQL 16, 17 and 18 (scripts/fetch-postgres.sh).
scripts/with-postgres.sh --matrix swift test --skip-build "$@"
