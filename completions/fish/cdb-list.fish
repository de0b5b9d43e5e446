function __cdb-list_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-list_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __cdb-list_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-list_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __cdb-list_parse_tokens -S
    set -l unparsed_tokens (__cdb-list_tokens -pc)
    switch $unparsed_tokens[1]
    case 'cdb-list'
        __cdb-list_parse_subcommand 0 'backup-root=' 'json' 'q/quiet' 'v/verbose' 'kind=' 'since=' 'from=' 'copies' 'copies-at=+' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __cdb-list_parse_subcommand -r 1 'version'
        end
    end
end

function __cdb-list_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __cdb-list_parse_subcommand -S -a positional_count
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

function __cdb-list_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __cdb-list_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__cdb-list_tokens -p)
    if test -z "$(__cdb-list_tokens -t)"
        set -l index (count (__cdb-list_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'cdb-list' -f
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" backup-root' -l 'backup-root' -d 'Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).' -rfa '(__cdb-list_complete_directories)'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" json' -l 'json' -d 'One JSON object per result on standard output.'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" q quiet' -l 'quiet' -s 'q' -d 'Only errors on standard error.'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" v verbose' -l 'verbose' -s 'v' -d 'More detail on standard error.'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" kind' -l 'kind' -d 'Only dumps (db) or only repository snapshots (repo).' -rfka ''
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" since' -l 'since' -d 'Only backups from this day on (YYYY-MM-DD), or of the last N days (Nd).' -rfka ''
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" from' -l 'from' -d 'Read from a copy destination instead of the backup root: a folder (a USB disk) or an rclone remote, as given to cdb-copy --to.' -rfa '(__cdb-list_complete_directories)'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" copies' -l 'copies' -d 'Also list the copy destinations (CDB_COPY_TO) and show which of them hold each backup (one listing per destination).'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list"' -l 'copies-at' -d 'A copy destination to look in (repeatable; implies --copies; default CDB_COPY_TO).' -rfa '(__cdb-list_complete_directories)'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_positional "cdb-list" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'cdb-list' -n '__cdb-list_should_offer_completions_for_flags_or_options "cdb-list help" version' -l 'version' -d 'Show the version.'
