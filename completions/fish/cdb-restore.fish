function __cdb-restore_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-restore_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __cdb-restore_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-restore_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __cdb-restore_parse_tokens -S
    set -l unparsed_tokens (__cdb-restore_tokens -pc)
    switch $unparsed_tokens[1]
    case 'cdb-restore'
        __cdb-restore_parse_subcommand 2 'backup-root=' 'json' 'q/quiet' 'v/verbose' 'd/dbname=' 'h/host=' 'p/port=' 'U/username=' 'check' 'clean' 'create' 'no-single-transaction' 'j/jobs=' 'force' 'apply-uncommitted' 'commit=' 'history' 'no-verify' 'latest' 'identity=+' 'passphrase-file=' 'from=' 'version' 'help'
        switch $unparsed_tokens[1]
        case 'help'
            __cdb-restore_parse_subcommand -r 1 'version'
        end
    end
end

function __cdb-restore_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __cdb-restore_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __cdb-restore_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __cdb-restore_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__cdb-restore_tokens -p)
    if test -z "$(__cdb-restore_tokens -t)"
        set -l index (count (__cdb-restore_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'cdb-restore' -f
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" backup-root' -l 'backup-root' -d 'Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).' -rfa '(__cdb-restore_complete_directories)'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" json' -l 'json' -d 'One JSON object per result on standard output.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" q quiet' -l 'quiet' -s 'q' -d 'Only errors on standard error.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" v verbose' -l 'verbose' -s 'v' -d 'More detail on standard error.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" d dbname' -s 'd' -l 'dbname' -d 'Database name, conninfo string or postgresql:// URI.' -rfka ''
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" h host' -s 'h' -l 'host' -d 'Server host or socket folder.' -rfka ''
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" p port' -s 'p' -l 'port' -d 'Server port.' -rfka ''
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" U username' -s 'U' -l 'username' -d 'Database user.' -rfka ''
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" check' -l 'check' -d 'Restore into a scratch database, compare row counts, drop it.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" clean' -l 'clean' -d 'Drop the objects the dump creates before restoring.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" create' -l 'create' -d 'Create the target database first.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" no-single-transaction' -l 'no-single-transaction' -d 'Run statement by statement instead of in one transaction.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" j jobs' -s 'j' -l 'jobs' -d 'Connections restoring at once: the schema in one transaction, then the data (big tables in several COPYs) and the indexes and keys over N connections; not one transaction, so a failure leaves what was restored, unless --create (which drops its database) or --check. (default the cores, at most 8, with --create and --check; else 1)' -rfka ''
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" force' -l 'force' -d 'Write into a folder that is not empty (snapshots).'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" apply-uncommitted' -l 'apply-uncommitted' -d 'Apply uncommitted.patch after unpacking a snapshot (needs git).'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" commit' -l 'commit' -d 'Restore this commit as a git repository, from the newest snapshot or increment of it in the backup root: cdb-restore --commit HASH DIR.' -rfka ''
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" history' -l 'history' -d 'Restore a full snapshot as a git repository with its history (from repository.bundle) instead of its files.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" no-verify' -l 'no-verify' -d 'Restore even when the backup does not match its .sha256 sidecar (to rescue a damaged backup; warns).'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" latest' -l 'latest' -d 'Restore (or --check) the newest dump in the backup root (or at --from DEST), by the time in its name.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_positional "cdb-restore" -eq 1' -fa '(set -l exts \'sql\' \'gz\' \'zst\' \'zip\' \'age\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore"' -l 'identity' -d 'An age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes) for .age backups (repeatable; default CDB_IDENTITY).' -rF
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" passphrase-file' -l 'passphrase-file' -d 'A file holding the passphrase of passphrase-encrypted (age -p) backups; without it the passphrase is asked on the terminal.' -rF
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" from' -l 'from' -d 'Read from a copy destination instead of the backup root: a folder (a USB disk) or an rclone remote, as given to cdb-copy --to.' -rfa '(__cdb-restore_complete_directories)'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_positional "cdb-restore" -eq 2' -fa '(__cdb-restore_complete_directories)'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore" help' -l 'help' -d 'Show help information.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_positional "cdb-restore" -eq 3' -fa 'help' -d 'Show subcommand help information.'
complete -c 'cdb-restore' -n '__cdb-restore_should_offer_completions_for_flags_or_options "cdb-restore help" version' -l 'version' -d 'Show the version.'
