function __cdb-pre-session_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-pre-session_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __cdb-pre-session_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-pre-session_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __cdb-pre-session_parse_tokens -S
    set -l unparsed_tokens (__cdb-pre-session_tokens -pc)
    switch $unparsed_tokens[1]
    case 'cdb-pre-session'
        __cdb-pre-session_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'run'
            __cdb-pre-session_parse_subcommand 0 'backup-root=' 'json' 'q/quiet' 'v/verbose' 'skip-db' 'skip-repo' 'lock-wait=' 'min-interval=' 'compress=' 'repo=' 'encrypt' 'recipient=+' 'recipients-file=+' 'd/dbname=' 'h/host=' 'p/port=' 'U/username=' 'require-table=+' 'include-env' 'no-untracked' 'version' 'help'
        case 'enable'
            __cdb-pre-session_parse_subcommand 0 'repo=' 'version' 'h/help'
        case 'disable'
            __cdb-pre-session_parse_subcommand 0 'repo=' 'version' 'h/help'
        case 'status'
            __cdb-pre-session_parse_subcommand 0 'repo=' 'version' 'h/help'
        case 'init'
            __cdb-pre-session_parse_subcommand 1 'version' 'h/help'
        case 'help'
            __cdb-pre-session_parse_subcommand -r 1 'version'
        end
    end
end

function __cdb-pre-session_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __cdb-pre-session_parse_subcommand -S -a positional_count
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

function __cdb-pre-session_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __cdb-pre-session_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__cdb-pre-session_tokens -p)
    if test -z "$(__cdb-pre-session_tokens -t)"
        set -l index (count (__cdb-pre-session_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'cdb-pre-session' -f
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_positional "cdb-pre-session" -eq 1' -fa 'run' -d 'Run the backups (the default when no subcommand is given).'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_positional "cdb-pre-session" -eq 1' -fa 'enable' -d 'Let cdb back up this repository (the session hook and the post-commit hook run only in enabled ones).'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_positional "cdb-pre-session" -eq 1' -fa 'disable' -d 'Stop cdb backing up this repository.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_positional "cdb-pre-session" -eq 1' -fa 'status' -d 'Say whether this repository is enabled (exit 0) or not (exit 1), and where the settings live.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_positional "cdb-pre-session" -eq 1' -fa 'init' -d 'Print the shell hook, for eval "$(cdb-pre-session init bash)" users.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_positional "cdb-pre-session" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" backup-root' -l 'backup-root' -d 'Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).' -rfa '(__cdb-pre-session_complete_directories)'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" json' -l 'json' -d 'One JSON object per result on standard output.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" q quiet' -l 'quiet' -s 'q' -d 'Only errors on standard error.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" v verbose' -l 'verbose' -s 'v' -d 'More detail on standard error.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" skip-db' -l 'skip-db' -d 'Skip the database dump.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" skip-repo' -l 'skip-repo' -d 'Skip the repository snapshot.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" lock-wait' -l 'lock-wait' -d 'Seconds to wait for the backup root\'s lock (and a dump\'s table locks) before giving up with exit 75 (default 30).' -rfka ''
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" min-interval' -l 'min-interval' -d 'Skip when this repository\'s last successful run is younger (default 0, CDB_SESSION_INTERVAL).' -rfka ''
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" compress' -l 'compress' -d 'Compress the dump.' -rfka 'zstd gzip'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" repo' -l 'repo' -d 'The repository (default: the one containing the current folder).' -rfa '(__cdb-pre-session_complete_directories)'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" encrypt' -l 'encrypt' -d 'Encrypt the backup with age (NAME.age) to the configured recipients (also CDB_ENCRYPT=1).'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run"' -l 'recipient' -d 'An age recipient (age1…) to encrypt to (repeatable; default CDB_RECIPIENTS). Implies --encrypt.' -rfka ''
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run"' -l 'recipients-file' -d 'A file of age recipients, one per line, # comments (repeatable; default CDB_RECIPIENTS_FILE). Implies --encrypt.' -rF
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" d dbname' -s 'd' -l 'dbname' -d 'Database name, conninfo string or postgresql:// URI.' -rfka ''
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" h host' -s 'h' -l 'host' -d 'Server host or socket folder.' -rfka ''
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" p port' -s 'p' -l 'port' -d 'Server port.' -rfka ''
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" U username' -s 'U' -l 'username' -d 'Database user.' -rfka ''
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run"' -l 'require-table' -d 'A table the dump must hold (repeatable; default the five trading tables, CDB_REQUIRED_TABLES).' -rfka ''
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" include-env' -l 'include-env' -d 'Add the repository\'s .env to the snapshot as .env.backup (secrets: the zip is 0600; with --encrypt, encrypted).'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" no-untracked' -l 'no-untracked' -d 'Leave untracked files out of the snapshot\'s uncommitted.patch.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session run" help' -l 'help' -d 'Show help information.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session enable" repo' -l 'repo' -d 'The repository (default: the one containing the current folder).' -rfa '(__cdb-pre-session_complete_directories)'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session enable" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session enable" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session disable" repo' -l 'repo' -d 'The repository (default: the one containing the current folder).' -rfa '(__cdb-pre-session_complete_directories)'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session disable" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session disable" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session status" repo' -l 'repo' -d 'The repository (default: the one containing the current folder).' -rfa '(__cdb-pre-session_complete_directories)'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session status" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_positional "cdb-pre-session init" -eq 1' -fka 'bash zsh fish'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session init" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session init" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-pre-session' -n '__cdb-pre-session_should_offer_completions_for_flags_or_options "cdb-pre-session help" version' -l 'version' -d 'Show the version.'
