#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: a throwaway PostgreSQL loaded with the sample
# trading data, then cdb-pre-session for this repository into a temporary backup root — the
# session banner, the files written, and their checksums verified. Uses the installed programs
# (./install.sh), or builds them when they are not installed.
#
#   scripts/demo.sh          # throwaway PostgreSQL with the trading fixture
#   scripts/demo.sh --mine   # your own database instead (PG* variables or the repository's .env)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if command -v cdb-pre-session >/dev/null 2>&1; then
  bin=$(dirname "$(command -v cdb-pre-session)")
else
  scripts/install-deps.sh
  echo "==> cdb is not installed; building it (release)…" >&2
  swift build -c release >/dev/null
  bin=$(swift build -c release --show-bin-path)
fi
demo=$(mktemp -d "${TMPDIR:-/tmp}/cdb-demo.XXXXXX")
root=$demo/Claire_Backups
# cdb backs up only repositories you enabled; the demo enables this one in a throwaway config
# folder, so your own list (~/.config/cdb/enabled) is left alone.
export XDG_CONFIG_HOME=$demo/config

run_job() {
  "$bin/cdb-pre-session" enable >/dev/null
  "$bin/cdb-pre-session" --backup-root "$root" >/dev/null
  echo >&2
  echo "==> written under $root:" >&2
  (cd "$root" && find . -type f ! -name .lock | sort | sed 's|^\./|  |') >&2
  echo "==> checksums (sha256sum -c):" >&2
  for folder in PostgreSQL Repository; do (cd "$root/$folder" && sha256sum -c ./*.sha256 | sed 's/^/  /') >&2; done
}

if [ "${1:-}" = "--mine" ]; then
  run_job
else
  export -f run_job
  export bin root
  scripts/with-postgres.sh --load-fixture bash -c run_job
fi
