# cdb session hook for fish: `source PATH/cdb.fish` in ~/.config/fish/config.fish
# (or cdb-pre-session init fish | source).
# Each command named in CDB_SESSION_COMMANDS (default: claude) first runs cdb-pre-session, then
# itself with all its arguments, returning its exit status. A failed backup still starts the
# session unless CDB_BLOCK_ON_FAILURE=1. CDB_HOOKS=0 turns this off. Sourcing starts no process
# and keeps $status; sourcing again is harmless (and picks up a changed CDB_SESSION_COMMANDS).
set -l __cdb_keep_status $status
set -g __cdb_pre_session "@CDB_PRE_SESSION@"
function __cdb_session
    set -l name $argv[1]
    set -e argv[1]
    if test "$CDB_HOOKS" != 0
        set -l bin $__cdb_pre_session
        if string match -q '@*' -- $bin; or test -z "$bin"
            set bin (command -s cdb-pre-session)
        end
        if test -n "$bin"
            $bin >/dev/null
            set -l backup_status $status
            if test $backup_status -ne 0; and test "$CDB_BLOCK_ON_FAILURE" = 1
                printf 'cdb: the backup failed (exit %s); not starting %s because CDB_BLOCK_ON_FAILURE=1\n' $backup_status $name >&2
                return $backup_status
            end
        end
    end
    command $name $argv
end
set -l __cdb_names claude
if set -q CDB_SESSION_COMMANDS
    set __cdb_names (string split -n ' ' -- $CDB_SESSION_COMMANDS)
end
for __cdb_name in $__cdb_names
    string match -qr '^[A-Za-z0-9_.+][A-Za-z0-9_.+-]*$' -- $__cdb_name; or continue
    eval "function $__cdb_name --wraps $__cdb_name; __cdb_session $__cdb_name \$argv; end"
end
return $__cdb_keep_status 2>/dev/null; or true
