function __cdb-repo-snap_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-repo-snap_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __cdb-repo-snap_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __cdb-repo-snap_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __cdb-repo-snap_parse_tokens -S
    set -l unparsed_tokens (__cdb-repo-snap_tokens -pc)
    switch $unparsed_tokens[1]
    case 'cdb-repo-snap'
        __cdb-repo-snap_parse_subcommand 0 'backup-root=' 'json' 'q/quiet' 'v/verbose' 'repo=' 'o/output=' 'include-env' 'no-untracked' 'untracked-max-file=' 'untracked-max-total=' 'include=+' 'include-docker-volume=+' 'compression-level=' 'force' 'encrypt' 'recipient=+' 'recipients-file=+' 'lock-wait=' 'install-hook' 'uninstall-hook' 'commit=' 'incremental' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __cdb-repo-snap_parse_subcommand -r 1 'version'
        end
    end
end

function __cdb-repo-snap_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __cdb-repo-snap_parse_subcommand -S -a positional_count
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

function __cdb-repo-snap_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __cdb-repo-snap_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__cdb-repo-snap_tokens -p)
    if test -z "$(__cdb-repo-snap_tokens -t)"
        set -l index (count (__cdb-repo-snap_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'cdb-repo-snap' -f
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" backup-root' -l 'backup-root' -d 'Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).' -rfa '(__cdb-repo-snap_complete_directories)'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" json' -l 'json' -d 'One JSON object per result on standard output.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" q quiet' -l 'quiet' -s 'q' -d 'Only errors on standard error.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" v verbose' -l 'verbose' -s 'v' -d 'More detail on standard error.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" repo' -l 'repo' -d 'The repository (default: the one containing the current folder).' -rfa '(__cdb-repo-snap_complete_directories)'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" o output' -s 'o' -l 'output' -d 'Write to FILE instead, or \'-\' for standard output.' -rfa '(set -l exts \'zip\' \'age\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" include-env' -l 'include-env' -d 'Add the repository\'s .env as .env.backup (secrets: the zip is 0600).'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" no-untracked' -l 'no-untracked' -d 'Leave untracked files out of uncommitted.patch (by default untracked, not ignored files go in as new files).'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" untracked-max-file' -l 'untracked-max-file' -d 'Skip untracked files larger than this (default 10M, CDB_UNTRACKED_MAX_FILE).' -rfka ''
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" untracked-max-total' -l 'untracked-max-total' -d 'Capture at most this much untracked data in all (default 100M, CDB_UNTRACKED_MAX_TOTAL).' -rfka ''
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap"' -l 'include' -d 'Add a file or folder under extra/ (repeatable).' -rF
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap"' -l 'include-docker-volume' -d 'Add a Docker named volume\'s files under volumes/NAME/ (repeatable; default CDB_DOCKER_VOLUMES; not in the post-commit hook\'s runs).' -rfka ''
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" compression-level' -l 'compression-level' -d 'Deflate level for repository.zip, 1 (fastest) to 12 (smallest) (default 4).' -rfka ''
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" force' -l 'force' -d 'Do not warn about uncommitted changes.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" encrypt' -l 'encrypt' -d 'Encrypt the backup with age (NAME.age) to the configured recipients (also CDB_ENCRYPT=1).'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap"' -l 'recipient' -d 'An age recipient (age1…) to encrypt to (repeatable; default CDB_RECIPIENTS). Implies --encrypt.' -rfka ''
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap"' -l 'recipients-file' -d 'A file of age recipients, one per line, # comments (repeatable; default CDB_RECIPIENTS_FILE). Implies --encrypt.' -rF
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" lock-wait' -l 'lock-wait' -d 'Seconds to wait for the backup root\'s lock (and a dump\'s table locks) before giving up with exit 75 (default 30).' -rfka ''
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" install-hook' -l 'install-hook' -d 'Install the post-commit hook into this repository (keeps a foreign hook and calls it).'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" uninstall-hook' -l 'uninstall-hook' -d 'Remove the post-commit hook and put back the hook it replaced.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" commit' -l 'commit' -d 'Snapshot this commit (a full hash) instead of HEAD; the work tree is captured only when it is HEAD.' -rfka ''
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" incremental' -l 'incremental' -d 'Store only what is new since this repository\'s newest full snapshot (an increment, .inc-<base>.zip), when there is one to build on; a full snapshot then carries the history (repository.bundle) for the next ones. The post-commit hook\'s and the session\'s runs do this.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" version' -l 'version' -d 'Show the version.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_positional "cdb-repo-snap" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'cdb-repo-snap' -n '__cdb-repo-snap_should_offer_completions_for_flags_or_options "cdb-repo-snap help" version' -l 'version' -d 'Show the version.'
