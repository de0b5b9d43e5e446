# cdb session hook for zsh: `source PATH/cdb.zsh` in ~/.zshrc (or eval "$(cdb-pre-session init zsh)").
# Each command named in CDB_SESSION_COMMANDS (default: claude) first runs cdb-pre-session, then
# itself with all its arguments, returning its exit status. A failed backup still starts the
# session unless CDB_BLOCK_ON_FAILURE=1. CDB_HOOKS=0 turns this off. Sourcing starts no process
# and keeps $?; sourcing again is harmless (and picks up a changed CDB_SESSION_COMMANDS).
typeset -g __cdb_keep_status=$?
typeset -g __cdb_pre_session="@CDB_PRE_SESSION@"
__cdb_session() {
  local __cdb_name=$1 __cdb_bin=$__cdb_pre_session __cdb_status
  shift
  if [[ ${CDB_HOOKS:-1} != 0 ]]; then
    [[ $__cdb_bin == @* || -z $__cdb_bin ]] && __cdb_bin=${commands[cdb-pre-session]}
    if [[ -n $__cdb_bin ]]; then
      "$__cdb_bin" >/dev/null
      __cdb_status=$?
      if (( __cdb_status != 0 )) && [[ ${CDB_BLOCK_ON_FAILURE:-0} == 1 ]]; then
        print -u2 "cdb: the backup failed (exit $__cdb_status); not starting $__cdb_name because CDB_BLOCK_ON_FAILURE=1"
        return $__cdb_status
      fi
    fi
  fi
  command "$__cdb_name" "$@"
}
() {
  local name
  for name in ${=CDB_SESSION_COMMANDS:-claude}; do
    [[ $name == -* || $name == *[^A-Za-z0-9_.+-]* ]] && continue
    eval "function ${(q)name} { __cdb_session ${(q)name} \"\$@\" }"
  done
}
return $__cdb_keep_status
