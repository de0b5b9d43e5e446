function __cdb-pg-dump_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-pg-dump_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __cdb-pg-dump_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-pg-dump_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __cdb-pg-dump_parse_tokens -S
    set -l unparsed_tokens (__cdb-pg-dump_tokens -pc)
    switch $unparsed_tokens[1]
    case 'cdb-pg-dump'
        __cdb-pg-dump_parse_subcommand 0 'o/output=' 'compress=' 'require-table=+' 'no-owner' 'no-privileges' 'allow-unsupported' 'force' 'j/jobs=' 'encrypt' 'recipient=+' 'recipients-file=+' 'lock-wait=' 'backup-root=' 'json' 'q/quiet' 'v/verbose' 'd/dbname=' 'h/host=' 'p/port=' 'U/username=' 'version' 'help'
        switch $unparsed_tokens[1]
        case 'help'
            __cdb-pg-dump_parse_subcommand -r 1 'version'
        end
    end
end

function __cdb-pg-dump_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __cdb-pg-dump_parse_subcommand -S -a positional_count
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

function __cdb-pg-dump_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __cdb-pg-dump_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__cdb-pg-dump_tokens -p)
    if test -z "$(__cdb-pg-dump_tokens -t)"
        set -l index (count (__cdb-pg-dump_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'cdb-pg-dump' -f
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" f file o output' -s 'o' -s 'f' -l 'output' -l 'file' -d 'Write to FILE (which must not exist; see --force) instead, or \'-\' for standard output.' -rfa '(set -l exts \'sql\' \'gz\' \'zst\' \'age\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" compress' -l 'compress' -d 'Compress the dump.' -rfka 'zstd gzip'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump"' -l 'require-table' -d 'A table the dump must hold (repeatable; default the five trading tables, CDB_REQUIRED_TABLES).' -rfka ''
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" no-owner' -l 'no-owner' -d 'Leave out ownership (to restore as another role).'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" no-privileges' -l 'no-privileges' -d 'Leave out GRANT/REVOKE statements.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" allow-unsupported' -l 'allow-unsupported' -d 'Dump everything else when the database holds objects cdb-pg-dump cannot dump, naming each skipped one.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" force' -l 'force' -d 'With -o FILE: replace FILE when it exists.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" j jobs' -s 'j' -l 'jobs' -d 'Connections reading table data at once, in one snapshot; big tables are split into page ranges (PostgreSQL 14+). The file is the same bytes whatever N is; 1 reads with the dump\'s own connection alone (default the cores, at most 8).' -rfka ''
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" encrypt' -l 'encrypt' -d 'Encrypt the backup with age (NAME.age) to the configured recipients (also CDB_ENCRYPT=1).'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump"' -l 'recipient' -d 'An age recipient (age1…) to encrypt to (repeatable; default CDB_RECIPIENTS). Implies --encrypt.' -rfka ''
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump"' -l 'recipients-file' -d 'A file of age recipients, one per line, # comments (repeatable; default CDB_RECIPIENTS_FILE). Implies --encrypt.' -rF
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" lock-wait' -l 'lock-wait' -d 'Seconds to wait for the backup root\'s lock (and a dump\'s table locks) before giving up with exit 75 (default 30).' -rfka ''
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" backup-root' -l 'backup-root' -d 'Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).' -rfa '(__cdb-pg-dump_complete_directories)'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" json' -l 'json' -d 'One JSON object per result on standard output.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" q quiet' -l 'quiet' -s 'q' -d 'Only errors on standard error.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" v verbose' -l 'verbose' -s 'v' -d 'More detail on standard error.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" d dbname' -s 'd' -l 'dbname' -d 'Database name, conninfo string or postgresql:// URI.' -rfka ''
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" h host' -s 'h' -l 'host' -d 'Server host or socket folder.' -rfka ''
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" p port' -s 'p' -l 'port' -d 'Server port.' -rfka ''
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" U username' -s 'U' -l 'username' -d 'Database user.' -rfka ''
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump" help' -l 'help' -d 'Show help information.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_positional "cdb-pg-dump" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'cdb-pg-dump' -n '__cdb-pg-dump_should_offer_completions_for_flags_or_options "cdb-pg-dump help" version' -l 'version' -d 'Show the version.'
