# cdb session hook for zsh: `source PATH/cdb.zsh` in ~/.zshrc, after your aliases
# (or eval "$(cdb-pre-session init zsh)").
# Each command named in CDB_SESSION_COMMANDS (default: claude) first runs cdb-pre-session, then
# exactly what it ran before (your alias of that name, your function, or the program), with all
# its arguments, returning its exit status. The backup runs only inside repositories you enabled
# with `cdb-pre-session enable`; anywhere else the command starts at once and no process is added.
# A failed backup still starts the session unless CDB_BLOCK_ON_FAILURE=1. CDB_HOOKS=0 turns this
# off. Sourcing starts no process and keeps $?; sourcing again is harmless, picks up a changed
# CDB_SESSION_COMMANDS and unwraps names no longer in it.
typeset -g __cdb_keep_status=$?
typeset -g __cdb_pre_session="@CDB_PRE_SESSION@"
typeset -gA __cdb_aliases
typeset -ga __cdb_functions

# Succeeds when the current folder is inside an enabled repository: the nearest folder upward
# (physical path) holding .git is listed in the user's enabled file. Starts no process.
__cdb_enabled() {
  local list dir line
  if [[ ${XDG_CONFIG_HOME-} == /* ]]; then list=$XDG_CONFIG_HOME/cdb/enabled; else list=$HOME/.config/cdb/enabled; fi
  [[ -r $list ]] || return 1
  dir=${PWD:A}
  while true; do
    [[ -e $dir/.git ]] && break
    [[ -z $dir ]] && return 1
    dir=${dir%/*}
  done
  [[ -z $dir ]] && dir=/
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == "$dir" ]] && return 0
  done <$list
  return 1
}

# The backup before a session. Fails only when the session must not start.
__cdb_backup() {
  local __cdb_bin=$__cdb_pre_session __cdb_status
  [[ ${CDB_HOOKS:-1} == 0 ]] && return 0
  __cdb_enabled || return 0
  [[ $__cdb_bin == @* || -z $__cdb_bin ]] && __cdb_bin=${commands[cdb-pre-session]}
  [[ -n $__cdb_bin ]] || return 0
  "$__cdb_bin" </dev/null >/dev/null
  __cdb_status=$?
  if (( __cdb_status != 0 )) && [[ ${CDB_BLOCK_ON_FAILURE:-0} == 1 ]]; then
    print -u2 -r -- "cdb: the backup failed (exit $__cdb_status); not starting $1 because CDB_BLOCK_ON_FAILURE=1"
    return $__cdb_status
  fi
  return 0
}

__cdb_session() {
  local __cdb_name=$1
  shift
  __cdb_backup $__cdb_name || return
  command $__cdb_name "$@"
}

__cdb_unwrap() {
  if (( ${+__cdb_aliases[$1]} )); then
    [[ ${aliases[$1]-} == "__cdb_run_$1" ]] && aliases[$1]=${__cdb_aliases[$1]}
    unset "__cdb_aliases[$1]"
    unfunction "__cdb_run_$1" 2>/dev/null
  fi
  if (( ${__cdb_functions[(Ie)$1]} )); then
    unfunction -- "$1" 2>/dev/null
    __cdb_functions=(${__cdb_functions:#$1})
  fi
}

__cdb_wrap() {
  local name=$1 original
  if (( ${+aliases[$name]} )); then
    # An alias of that name: keep what it runs, behind the backup.
    [[ ${aliases[$name]} == "__cdb_run_$name" ]] && return
    __cdb_unwrap $name
    original=${aliases[$name]}
    __cdb_aliases[$name]=$original
    unalias -- $name
    eval "function __cdb_run_${name} { __cdb_backup ${(q)name} || return; $original \"\$@\" }"
    aliases[$name]="__cdb_run_$name"
  else
    (( ${__cdb_functions[(Ie)$name]} )) && return
    eval "function ${(q)name} { __cdb_session ${(q)name} \"\$@\" }"
    __cdb_functions+=($name)
  fi
}

() {
  local name
  for name in $__cdb_functions ${(k)__cdb_aliases}; do
    (( ${${=CDB_SESSION_COMMANDS:-claude}[(Ie)$name]} )) || __cdb_unwrap $name
  done
  for name in ${=CDB_SESSION_COMMANDS:-claude}; do
    [[ $name == -* || $name == *[^A-Za-z0-9_.+-]* ]] && continue
    __cdb_wrap $name
  done
}
return $__cdb_keep_status
