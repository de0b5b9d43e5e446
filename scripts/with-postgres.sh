#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster, runs a command with PGHOST/PGPORT/PGUSER/PGDATABASE
# pointing at it, then stops the cluster and removes it.
#
#   scripts/with-postgres.sh [--load-fixture [SCALE]] COMMAND [ARGS...]
#
# --load-fixture creates the database "trading" from fixtures/ (scale 1 by default) and points
# PGDATABASE at it. As root, the server runs as the "postgres" OS user (it refuses root).
# Exit code: the command's; 69 when the server cannot be started.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
load_fixture=""
scale=1
if [ "${1:-}" = "--load-fixture" ]; then
  load_fixture=1; shift
  if [[ "${1:-}" =~ ^[0-9]+$ ]]; then scale=$1; shift; fi
fi
if [ $# -eq 0 ]; then
  echo "usage: $0 [--load-fixture [SCALE]] COMMAND [ARGS...]" >&2
  exit 64
fi

bindir=""
for candidate in "${PG_BINDIR:-}" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ]; then bindir=$candidate; break; fi
done
if [ -z "$bindir" ]; then
  echo "with-postgres: no PostgreSQL server found (initdb); install it: apt-get install postgresql" >&2
  exit 69
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cdb-pg.XXXXXX")
chmod 755 "$work"
data="$work/data"
sock="$work/sock"
mkdir -p "$data" "$sock" "$work/log"
port=${CDB_TEST_PGPORT:-5432}

as_db_user=()
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  chown -R postgres "$data" "$sock" "$work/log"
  as_db_user=(runuser -u postgres --)
fi

cleanup() {
  "${as_db_user[@]}" "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

if ! "${as_db_user[@]}" "$bindir/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1; then
  if ! "${as_db_user[@]}" "$bindir/initdb" -D "$data" -A trust -U postgres -E UTF8 >"$work/initdb.log" 2>&1; then
    cat "$work/initdb.log" >&2
    echo "with-postgres: initdb failed" >&2
    exit 69
  fi
fi
if ! "${as_db_user[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/log/server.log" -w -t 60 \
     -o "-p $port -k $sock -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
     start >/dev/null; then
  cat "$work/log/server.log" >&2 || true
  echo "with-postgres: the server did not start" >&2
  exit 69
fi

export PGHOST=$sock PGPORT=$port PGUSER=postgres PGDATABASE=postgres
export CDB_TEST_PGDATA=$data CDB_TEST_PGBIN=$bindir
unset PGPASSWORD PGSERVICE PGSSLMODE

if [ -n "$load_fixture" ]; then
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE trading' >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d trading -f "$here/fixtures/trading_schema.sql" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -v scale="$scale" -d trading -f "$here/fixtures/trading_data.sql" >/dev/null
  export PGDATABASE=trading
fi

set +e
"$@"
status=$?
set -e
exit $status
