# cdb session hook for fish: `source PATH/cdb.fish` in ~/.config/fish/config.fish, after your
# aliases (or cdb-pre-session init fish | source).
# Each command named in CDB_SESSION_COMMANDS (default: claude) first runs cdb-pre-session, then
# exactly what it ran before (your alias or function of that name, or the program), with all its
# arguments, returning its exit status. The backup runs only inside repositories you enabled
# with `cdb-pre-session enable`; anywhere else the command starts at once and no process is added.
# A failed backup still starts the session unless CDB_BLOCK_ON_FAILURE=1. CDB_HOOKS=0 turns this
# off. Sourcing starts no process and keeps $status; sourcing again is harmless, picks up a
# changed CDB_SESSION_COMMANDS and unwraps names no longer in it.
set -l __cdb_keep_status $status
set -g __cdb_pre_session "@CDB_PRE_SESSION@"
set -q __cdb_functions; or set -g __cdb_functions
set -q __cdb_copied; or set -g __cdb_copied

# Succeeds when the current folder is inside an enabled repository: the nearest folder upward
# (physical path) holding .git is listed in the user's enabled file. Starts no process.
function __cdb_enabled
    set -l list $HOME/.config/cdb/enabled
    if string match -q '/*' -- "$XDG_CONFIG_HOME"
        set list $XDG_CONFIG_HOME/cdb/enabled
    end
    test -r $list; or return 1
    set -l dir (builtin pwd -P)
    while true
        test -e "$dir/.git"; and break
        test -z "$dir"; and return 1
        set dir (string replace -r '/[^/]*$' '' -- $dir)
    end
    test -z "$dir"; and set dir /
    while read -l line
        test "$line" = "$dir"; and return 0
    end <$list
    return 1
end

# The backup before a session. Fails only when the session must not start.
function __cdb_backup
    test "$CDB_HOOKS" = 0; and return 0
    __cdb_enabled; or return 0
    set -l bin $__cdb_pre_session
    if string match -q '@*' -- $bin; or test -z "$bin"
        set bin (command -s cdb-pre-session); or return 0
    end
    $bin </dev/null >/dev/null
    set -l backup_status $status
    if test $backup_status -ne 0; and test "$CDB_BLOCK_ON_FAILURE" = 1
        printf 'cdb: the backup failed (exit %s); not starting %s because CDB_BLOCK_ON_FAILURE=1\n' $backup_status $argv[1] >&2
        return $backup_status
    end
    return 0
end

function __cdb_unwrap
    set -l name $argv[1]
    if contains -- $name $__cdb_functions
        functions -e $name
        set -e __cdb_functions[(contains -i -- $name $__cdb_functions)]
    end
    if contains -- $name $__cdb_copied
        functions -q __cdb_orig_$name; and functions -c __cdb_orig_$name $name
        functions -e __cdb_orig_$name
        set -e __cdb_copied[(contains -i -- $name $__cdb_copied)]
    end
end

function __cdb_wrap
    set -l name $argv[1]
    contains -- $name $__cdb_functions; and return
    if functions -q $name
        # An alias or function of that name: keep what it runs, behind the backup.
        functions -e __cdb_orig_$name
        functions -c $name __cdb_orig_$name
        set -g -a __cdb_copied $name
        functions -e $name
        eval "function $name --wraps __cdb_orig_$name; __cdb_backup $name; or return; __cdb_orig_$name \$argv; end"
    else
        eval "function $name --wraps $name; __cdb_backup $name; or return; command $name \$argv; end"
    end
    set -g -a __cdb_functions $name
end

set -l __cdb_names claude
if set -q CDB_SESSION_COMMANDS
    set __cdb_names (string split -n ' ' -- $CDB_SESSION_COMMANDS)
end
for __cdb_name in $__cdb_functions
    contains -- $__cdb_name $__cdb_names; or __cdb_unwrap $__cdb_name
end
for __cdb_name in $__cdb_names
    string match -qr '^[A-Za-z0-9_.+][A-Za-z0-9_.+-]*$' -- $__cdb_name; or continue
    __cdb_wrap $__cdb_name
end
return $__cdb_keep_status 2>/dev/null; or true
