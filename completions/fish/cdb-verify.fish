function __cdb-verify_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-verify_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __cdb-verify_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-verify_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __cdb-verify_parse_tokens -S
    set -l unparsed_tokens (__cdb-verify_tokens -pc)
    switch $unparsed_tokens[1]
    case 'cdb-verify'
        __cdb-verify_parse_subcommand -r 1 'backup-root=' 'json' 'q/quiet' 'v/verbose' 'latest' 'no-checksum' 'require-table=+' 'identity=+' 'passphrase-file=' 'from=' 'copies' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __cdb-verify_parse_subcommand -r 1 'version'
        end
    end
end

function __cdb-verify_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __cdb-verify_parse_subcommand -S -a positional_count
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

function __cdb-verify_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __cdb-verify_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__cdb-verify_tokens -p)
    if test -z "$(__cdb-verify_tokens -t)"
        set -l index (count (__cdb-verify_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'cdb-verify' -f
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" backup-root' -l 'backup-root' -d 'Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).' -rfa '(__cdb-verify_complete_directories)'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" json' -l 'json' -d 'One JSON object per result on standard output.'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" q quiet' -l 'quiet' -s 'q' -d 'Only errors on standard error.'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" v verbose' -l 'verbose' -s 'v' -d 'More detail on standard error.'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" latest' -l 'latest' -d 'Check the newest backup of each kind in the backup root.'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" no-checksum' -l 'no-checksum' -d 'Do not require a .sha256 sidecar (files not written by cdb, e.g. pg_dump\'s); one that exists is still checked.'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify"' -l 'require-table' -d 'A table a dump must hold (repeatable; default the five trading tables, CDB_REQUIRED_TABLES).' -rfka ''
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify"' -l 'identity' -d 'An age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes) for .age backups (repeatable; default CDB_IDENTITY).' -rF
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" passphrase-file' -l 'passphrase-file' -d 'A file holding the passphrase of passphrase-encrypted (age -p) backups; without it the passphrase is asked on the terminal.' -rF
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" from' -l 'from' -d 'Read from a copy destination instead of the backup root: a folder (a USB disk) or an rclone remote, as given to cdb-copy --to.' -rfa '(__cdb-verify_complete_directories)'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" copies' -l 'copies' -d 'With --latest: check the newest copies at every destination in CDB_COPY_TO (none configured: nothing to check, exit 0).'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_positional "cdb-verify" -ge 1' -fa '(set -l exts \'sql\' \'gz\' \'zst\' \'zip\' \'age\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_positional "cdb-verify" -eq 2' -fa 'help' -d 'Show subcommand help information.'
complete -c 'cdb-verify' -n '__cdb-verify_should_offer_completions_for_flags_or_options "cdb-verify help" version' -l 'version' -d 'Show the version.'
