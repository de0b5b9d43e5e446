#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster, runs a command with PGHOST/PGPORT/PGUSER/PGDATABASE
# pointing at it, then stops the cluster and removes it.
#
#   scripts/with-postgres.sh [--matrix] [--load-fixture [SCALE]] COMMAND [ARGS...]
#
# --load-fixture creates the database "trading" from fixtures/ (scale 1 by default) and points
# PGDATABASE at it. --matrix also starts one cluster of every other major that
# scripts/fetch-postgres.sh provides, and lists them in CDB_TEST_MATRIX
# (`major:bindir:socketdir:port`, space-separated) for the version-matrix tests. As root, the
# servers run as the "postgres" OS user (they refuse root).
# Exit code: the command's; 69 when a server cannot be started.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
load_fixture=""
matrix=""
scale=1
while [ $# -gt 0 ]; do
  case $1 in
    --matrix) matrix=1; shift ;;
    --load-fixture)
      load_fixture=1; shift
      if [[ "${1:-}" =~ ^[0-9]+$ ]]; then scale=$1; shift; fi ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "usage: $0 [--matrix] [--load-fixture [SCALE]] COMMAND [ARGS...]" >&2
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

as_db_user=()
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  as_db_user=(runuser -u postgres --)
fi

started=()  # "bindir data" of every cluster running
cleanup() {
  for entry in "${started[@]}"; do
    "${as_db_user[@]}" "${entry%% *}/pg_ctl" -D "${entry#* }" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# start_cluster NAME BINDIR PORT: a cluster in $work/NAME, its socket in $work/NAME/sock.
start_cluster() {
  local name=$1 bin=$2 port=$3 dir=$work/$1
  mkdir -p "$dir/data" "$dir/sock" "$dir/log"
  [ ${#as_db_user[@]} -gt 0 ] && chown -R postgres "$dir"
  if ! "${as_db_user[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    rm -rf "$dir/data" && mkdir -p "$dir/data" && { [ ${#as_db_user[@]} -eq 0 ] || chown postgres "$dir/data"; }
    if ! "${as_db_user[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2
      echo "with-postgres: initdb of $name failed" >&2
      exit 69
    fi
  fi
  if ! "${as_db_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" -w -t 60 \
       -o "-p $port -k $dir/sock -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
       start >/dev/null; then
    cat "$dir/log/server.log" >&2 || true
    echo "with-postgres: the $name server did not start" >&2
    exit 69
  fi
  started+=("$bin $dir/data")
}

port=${CDB_TEST_PGPORT:-5432}
start_cluster main "$bindir" "$port"
data=$work/main/data
sock=$work/main/sock

export PGHOST=$sock PGPORT=$port PGUSER=postgres PGDATABASE=postgres
export CDB_TEST_PGDATA=$data CDB_TEST_PGBIN=$bindir
unset PGPASSWORD PGSERVICE PGSSLMODE

if [ -n "$matrix" ]; then
  CDB_TEST_MATRIX=""
  next=$((port + 100))
  # Fails under CI when a build cannot be fetched (the matrix must not shrink silently).
  list=$("$here/scripts/fetch-postgres.sh")
  while read -r major bin; do
    [ -n "$major" ] || continue
    start_cluster "pg$major" "$bin" "$next"
    CDB_TEST_MATRIX="$CDB_TEST_MATRIX $major:$bin:$work/pg$major/sock:$next"
    next=$((next + 1))
  done <<<"$list"
  export CDB_TEST_MATRIX=${CDB_TEST_MATRIX# }
  echo "with-postgres: version matrix: $(psql -X -At -d postgres -c 'SHOW server_version' | cut -d' ' -f1) (Debian)$(for e in $CDB_TEST_MATRIX; do printf ', %s' "${e%%:*}"; done)" >&2
fi

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
