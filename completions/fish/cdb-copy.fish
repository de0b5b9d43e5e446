function __cdb-copy_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-copy_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __cdb-copy_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-copy_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __cdb-copy_parse_tokens -S
    set -l unparsed_tokens (__cdb-copy_tokens -pc)
    switch $unparsed_tokens[1]
    case 'cdb-copy'
        __cdb-copy_parse_subcommand -r 1 'to=+' 'no-encryption' 'no-delete' 'keep-daily=' 'keep-weekly=' 'keep-monthly=' 'verify' 'encrypt' 'recipient=+' 'recipients-file=+' 'identity=+' 'passphrase-file=' 'lock-wait=' 'backup-root=' 'json' 'q/quiet' 'v/verbose' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __cdb-copy_parse_subcommand -r 1 'version'
        end
    end
end

function __cdb-copy_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __cdb-copy_parse_subcommand -S -a positional_count
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

function __cdb-copy_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __cdb-copy_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__cdb-copy_tokens -p)
    if test -z "$(__cdb-copy_tokens -t)"
        set -l index (count (__cdb-copy_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'cdb-copy' -f
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy"' -l 'to' -d 'A destination: a folder, or an rclone remote name:path (repeatable; default CDB_COPY_TO).' -rfa '(__cdb-copy_complete_directories)'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" no-encryption' -l 'no-encryption' -d 'Copy without encrypting (for a destination you encrypt otherwise); warns.'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" no-delete' -l 'no-delete' -d 'Delete nothing at the destination (append-only storage).'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" keep-daily' -l 'keep-daily' -d 'Copies kept at DEST: the newest of each of the last N days (default 14, CDB_COPY_KEEP_DAILY).' -rfka ''
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" keep-weekly' -l 'keep-weekly' -d '… of each of the last N ISO weeks (default 8, CDB_COPY_KEEP_WEEKLY).' -rfka ''
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" keep-monthly' -l 'keep-monthly' -d '… of each of the last N months (default 12, CDB_COPY_KEEP_MONTHLY).' -rfka ''
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" verify' -l 'verify' -d 'After copying, fetch each copy back and check it decrypts and is complete (needs --identity or CDB_IDENTITY).'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" encrypt' -l 'encrypt' -d 'Encrypt the backup with age (NAME.age) to the configured recipients (also CDB_ENCRYPT=1).'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy"' -l 'recipient' -d 'An age recipient (age1…) to encrypt to (repeatable; default CDB_RECIPIENTS). Implies --encrypt.' -rfka ''
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy"' -l 'recipients-file' -d 'A file of age recipients, one per line, # comments (repeatable; default CDB_RECIPIENTS_FILE). Implies --encrypt.' -rF
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy"' -l 'identity' -d 'An age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes) for .age backups (repeatable; default CDB_IDENTITY).' -rF
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" passphrase-file' -l 'passphrase-file' -d 'A file holding the passphrase of passphrase-encrypted (age -p) backups; without it the passphrase is asked on the terminal.' -rF
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" lock-wait' -l 'lock-wait' -d 'Seconds to wait for the backup root\'s lock (and a dump\'s table locks) before giving up with exit 75 (default 30).' -rfka ''
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" backup-root' -l 'backup-root' -d 'Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).' -rfa '(__cdb-copy_complete_directories)'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" json' -l 'json' -d 'One JSON object per result on standard output.'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" q quiet' -l 'quiet' -s 'q' -d 'Only errors on standard error.'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" v verbose' -l 'verbose' -s 'v' -d 'More detail on standard error.'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_positional "cdb-copy" -ge 1' -fa '(set -l exts \'sql\' \'gz\' \'zst\' \'zip\' \'age\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_positional "cdb-copy" -eq 2' -fa 'help' -d 'Show subcommand help information.'
complete -c 'cdb-copy' -n '__cdb-copy_should_offer_completions_for_flags_or_options "cdb-copy help" version' -l 'version' -d 'Show the version.'
