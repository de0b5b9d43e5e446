function __cdb-prune_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-prune_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __cdb-prune_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-prune_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __cdb-prune_parse_tokens -S
    set -l unparsed_tokens (__cdb-prune_tokens -pc)
    switch $unparsed_tokens[1]
    case 'cdb-prune'
        __cdb-prune_parse_subcommand 0 'backup-root=' 'json' 'q/quiet' 'v/verbose' 'retention-days=' 'keep-last=' 'keep-daily=' 'keep-weekly=' 'keep-monthly=' 'dry-run' 'lock-wait=' 'folder=+' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __cdb-prune_parse_subcommand -r 1 'version'
        end
    end
end

function __cdb-prune_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __cdb-prune_parse_subcommand -S -a positional_count
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

function __cdb-prune_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __cdb-prune_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__cdb-prune_tokens -p)
    if test -z "$(__cdb-prune_tokens -t)"
        set -l index (count (__cdb-prune_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'cdb-prune' -f
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" backup-root' -l 'backup-root' -d 'Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).' -rfa '(__cdb-prune_complete_directories)'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" json' -l 'json' -d 'One JSON object per result on standard output.'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" q quiet' -l 'quiet' -s 'q' -d 'Only errors on standard error.'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" v verbose' -l 'verbose' -s 'v' -d 'More detail on standard error.'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" retention-days' -l 'retention-days' -d 'Delete backups older than this many days (default 14, CDB_RETENTION_DAYS).' -rfka ''
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" keep-last' -l 'keep-last' -d 'Always keep the newest N of each kind (default 3, CDB_KEEP_LAST).' -rfka ''
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" keep-daily' -l 'keep-daily' -d 'Keep the newest backup of each of the last N days that have one (default 0).' -rfka ''
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" keep-weekly' -l 'keep-weekly' -d 'Keep the newest backup of each of the last N ISO weeks that have one (default 0).' -rfka ''
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" keep-monthly' -l 'keep-monthly' -d 'Keep the newest backup of each of the last N months that have one (default 0).' -rfka ''
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" dry-run' -l 'dry-run' -d 'Change nothing; print what would be deleted.'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" lock-wait' -l 'lock-wait' -d 'Seconds to wait for the backup root\'s lock (and a dump\'s table locks) before giving up with exit 75 (default 30).' -rfka ''
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune"' -l 'folder' -d 'A backup folder to prune (repeatable; default: the root\'s PostgreSQL and Repository).' -rfa '(__cdb-prune_complete_directories)'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_positional "cdb-prune" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'cdb-prune' -n '__cdb-prune_should_offer_completions_for_flags_or_options "cdb-prune help" version' -l 'version' -d 'Show the version.'
