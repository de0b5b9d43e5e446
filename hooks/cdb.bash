# cdb session hook for bash: `source PATH/cdb.bash` in ~/.bashrc, after your aliases
# (or eval "$(cdb-pre-session init bash)").
# Each command named in CDB_SESSION_COMMANDS (default: claude) first runs cdb-pre-session, then
# exactly what it ran before (your alias of that name, your function, or the program), with all
# its arguments, returning its exit status. The backup runs only inside repositories you enabled
# with `cdb-pre-session enable`; anywhere else the command starts at once and no process is added.
# A failed backup still starts the session unless CDB_BLOCK_ON_FAILURE=1. CDB_HOOKS=0 turns this
# off. Sourcing starts no process and keeps $?; sourcing again is harmless, picks up a changed
# CDB_SESSION_COMMANDS and unwraps names no longer in it.
__cdb_keep_status=$?
__cdb_pre_session="@CDB_PRE_SESSION@"
declare -gA __cdb_aliases 2>/dev/null || declare -A __cdb_aliases
__cdb_functions=${__cdb_functions-}

# Succeeds when the current folder is inside an enabled repository: the nearest folder upward
# (physical path) holding .git is listed in the user's enabled file. Starts no process.
__cdb_enabled() {
  local list dir line here=$PWD old=${OLDPWD-}
  case ${XDG_CONFIG_HOME-} in /*) list=$XDG_CONFIG_HOME/cdb/enabled ;; *) list=$HOME/.config/cdb/enabled ;; esac
  [ -r "$list" ] || return 1
  builtin cd -P . 2>/dev/null || return 1
  dir=$PWD
  builtin cd -- "$here" 2>/dev/null || builtin cd -P . 2>/dev/null
  OLDPWD=$old
  while :; do
    [ -e "$dir/.git" ] && break
    [ -z "$dir" ] && return 1
    dir=${dir%/*}
  done
  [ -z "$dir" ] && dir=/
  while IFS= read -r line || [ -n "$line" ]; do
    [ "$line" = "$dir" ] && return 0
  done <"$list"
  return 1
}

# The backup before a session. Fails only when the session must not start.
__cdb_backup() {
  local __cdb_bin=$__cdb_pre_session __cdb_status
  [ "${CDB_HOOKS:-1}" = 0 ] && return 0
  __cdb_enabled || return 0
  case $__cdb_bin in "@"*|"") __cdb_bin=$(command -v cdb-pre-session) || return 0 ;; esac
  "$__cdb_bin" </dev/null >/dev/null
  __cdb_status=$?
  if [ "$__cdb_status" -ne 0 ] && [ "${CDB_BLOCK_ON_FAILURE:-0}" = 1 ]; then
    printf 'cdb: the backup failed (exit %s); not starting %s because CDB_BLOCK_ON_FAILURE=1\n' "$__cdb_status" "$1" >&2
    return "$__cdb_status"
  fi
  return 0
}

__cdb_session() {
  local __cdb_name=$1
  shift
  __cdb_backup "$__cdb_name" || return
  command "$__cdb_name" "$@"
}

__cdb_unwrap() {
  if [ -n "${__cdb_aliases[$1]+set}" ]; then
    [ "${BASH_ALIASES[$1]-}" = "__cdb_run_$1" ] && BASH_ALIASES[$1]=${__cdb_aliases[$1]}
    unset "__cdb_aliases[$1]"
    unset -f "__cdb_run_$1"
  fi
  case " $__cdb_functions " in
    *" $1 "*) unset -f "$1"; __cdb_functions=" $__cdb_functions "; __cdb_functions=${__cdb_functions/ $1 / } ;;
  esac
}

__cdb_wrap() {
  local name=$1 original
  if [ -n "${BASH_ALIASES[$name]+set}" ]; then
    # An alias of that name: keep what it runs, behind the backup.
    [ "${BASH_ALIASES[$name]}" = "__cdb_run_$name" ] && return
    __cdb_unwrap "$name"
    original=${BASH_ALIASES[$name]}
    __cdb_aliases[$name]=$original
    unalias -- "$name"
    eval "function __cdb_run_$name { __cdb_backup $name || return; $original \"\$@\"; }"
    BASH_ALIASES[$name]="__cdb_run_$name"
  else
    case " $__cdb_functions " in *" $name "*) return ;; esac
    eval "function $name { __cdb_session $name \"\$@\"; }"
    __cdb_functions="$__cdb_functions $name"
  fi
}

for __cdb_name in ${__cdb_functions} "${!__cdb_aliases[@]}"; do
  case " ${CDB_SESSION_COMMANDS:-claude} " in *" $__cdb_name "*) ;; *) __cdb_unwrap "$__cdb_name" ;; esac
done
for __cdb_name in ${CDB_SESSION_COMMANDS:-claude}; do
  case $__cdb_name in *[!A-Za-z0-9_.+-]*|-*) continue ;; esac
  __cdb_wrap "$__cdb_name"
done
unset __cdb_name
return "$__cdb_keep_status" 2>/dev/null || true
