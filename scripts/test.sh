#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds once, runs every test against a
# throwaway PostgreSQL cluster (scripts/with-postgres.sh). Extra arguments go to `swift test`
# (e.g. --filter Dump).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh --with-shells
swift build --build-tests
# Tests that need PostgreSQL fail (not skip) under CI=true when it is not there.
scripts/with-postgres.sh swift test --skip-build "$@"
