# cdb session hook for bash: `source PATH/cdb.bash` in ~/.bashrc (or eval "$(cdb-pre-session init bash)").
# Each command named in CDB_SESSION_COMMANDS (default: claude) first runs cdb-pre-session, then
# itself with all its arguments, returning its exit status. A failed backup still starts the
# session unless CDB_BLOCK_ON_FAILURE=1. CDB_HOOKS=0 turns this off. Sourcing starts no process
# and keeps $?; sourcing again is harmless (and picks up a changed CDB_SESSION_COMMANDS).
__cdb_keep_status=$?
__cdb_pre_session="@CDB_PRE_SESSION@"
__cdb_session() {
  local __cdb_name=$1 __cdb_bin=$__cdb_pre_session __cdb_status
  shift
  if [ "${CDB_HOOKS:-1}" != 0 ]; then
    case $__cdb_bin in "@"*|"") __cdb_bin=$(command -v cdb-pre-session) ;; esac
    if [ -n "$__cdb_bin" ]; then
      "$__cdb_bin" >/dev/null
      __cdb_status=$?
      if [ "$__cdb_status" -ne 0 ] && [ "${CDB_BLOCK_ON_FAILURE:-0}" = 1 ]; then
        printf 'cdb: the backup failed (exit %s); not starting %s because CDB_BLOCK_ON_FAILURE=1\n' "$__cdb_status" "$__cdb_name" >&2
        return "$__cdb_status"
      fi
    fi
  fi
  command "$__cdb_name" "$@"
}
for __cdb_name in ${CDB_SESSION_COMMANDS:-claude}; do
  case $__cdb_name in *[!A-Za-z0-9_.+-]*|-*) continue ;; esac
  eval "$__cdb_name() { __cdb_session $__cdb_name \"\$@\"; }"
done
unset __cdb_name
return "$__cdb_keep_status" 2>/dev/null || true
