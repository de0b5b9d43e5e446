#!/usr/bin/env bash
# Installs cdb: the Debian/Ubuntu packages it needs, a release build, the programs into
# PREFIX/bin, the shell hooks into PREFIX/share/cdb/hooks and the completions where each shell
# finds them. Idempotent. --uninstall removes exactly what an install wrote (its manifest).
#
#   ./install.sh [--prefix DIR] [--no-deps] [--from BUILD_DIR] [--schedule[=weekly|daily|monthly]]
#   ./install.sh --uninstall [--prefix DIR]
#
# PREFIX defaults to /usr/local as root and ~/.local otherwise. --from installs programs already
# built in BUILD_DIR instead of building (used by the tests). --schedule also installs the restore
# check (cdb-restore --check --latest) as a systemd user timer, or where no systemd user manager
# runs, as a crontab entry; --uninstall removes either.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
programs=()  # the programs are the folders Sources/cdb-*
for d in "$here"/Sources/cdb-*/; do programs+=("$(basename "$d")"); done

if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix=$HOME/.local; fi
uninstall="" deps=1 from="" schedule=""
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --uninstall) uninstall=1; shift ;;
    --no-deps) deps=""; shift ;;
    --from) from=${2:?--from needs a build folder}; shift 2 ;;
    --schedule) schedule=weekly; shift ;;
    --schedule=*) schedule=${1#*=}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
case $schedule in
  "") ;;
  weekly) calendar="Sun *-*-* 03:00:00" cron="0 3 * * 0" ;;
  daily) calendar="*-*-* 03:00:00" cron="0 3 * * *" ;;
  monthly) calendar="*-*-01 03:00:00" cron="0 3 1 * *" ;;
  *) echo "install.sh: --schedule takes weekly, daily or monthly (got '$schedule')" >&2; exit 64 ;;
esac
unitdir=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
cron_marker="# cdb-restore-check (install.sh --schedule; ./install.sh --uninstall removes it)"
prefix_existed=""; [ -d "$prefix" ] && prefix_existed=1
prefix=$(mkdir -p "$prefix" && cd "$prefix" && pwd)
share=$prefix/share/cdb
manifest=$share/manifest

if [ -n "$uninstall" ]; then
  if [ ! -f "$manifest" ]; then
    echo "install.sh: nothing to uninstall under $prefix (no $manifest)" >&2
    exit 0
  fi
  # The scheduled check first: stop the timer (or drop the crontab line) before its files go.
  if grep -qx "$unitdir/cdb-restore-check.timer" "$manifest"; then
    systemctl --user disable --now cdb-restore-check.timer >/dev/null 2>&1 || true
  fi
  if command -v crontab >/dev/null 2>&1 && crontab -l 2>/dev/null | grep -qF "$cron_marker"; then
    { crontab -l 2>/dev/null | grep -vF "$cron_marker" || true; } | crontab -
    echo "removed the restore check from the crontab" >&2
  fi
  dirs=$(cat "$share.dirs" 2>/dev/null || true)
  while IFS= read -r file; do
    case $file in "$prefix"/*|"$HOME"/*) rm -f -- "$file" ;; esac
  done <"$manifest"
  rm -f -- "$manifest" "$share.dirs"
  # Remove the folders an install created, deepest first, when they are empty now.
  if [ -n "$dirs" ]; then
    printf '%s\n' "$dirs" | sort -r | while IFS= read -r dir; do rmdir -- "$dir" 2>/dev/null || true; done
  fi
  echo "cdb uninstalled from $prefix" >&2
  exit 0
fi

if [ -n "$deps" ]; then "$here/scripts/install-deps.sh"; fi
if [ -z "$from" ]; then
  echo "==> building cdb (release)…" >&2
  (cd "$here" && swift build -c release >/dev/null)
  from=$(cd "$here" && swift build -c release --show-bin-path)
fi

# Folders this install creates (so that uninstall removes only those, and only when empty).
created=()
[ -n "$prefix_existed" ] || created+=("$prefix")
ensure_dir() {
  local d=$1 missing=() p=$1
  while [ ! -d "$p" ]; do missing+=("$p"); p=$(dirname "$p"); done
  mkdir -p "$d"
  created+=("${missing[@]}")
}
installed=()
put() {  # put MODE SOURCE DEST
  ensure_dir "$(dirname "$3")"
  install -m "$1" "$2" "$3.cdb-new" && mv -f "$3.cdb-new" "$3"
  installed+=("$3")
}

for p in "${programs[@]}"; do put 0755 "$from/$p" "$prefix/bin/$p"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in cdb.bash cdb.zsh cdb.fish post-commit; do
  sed -e "s|@CDB_PRE_SESSION@|$prefix/bin/cdb-pre-session|g" -e "s|@CDB_REPO_SNAP@|$prefix/bin/cdb-repo-snap|g" \
    "$here/hooks/$f" >"$tmp/$f"
  mode=0644; [ "$f" = post-commit ] && mode=0755
  put "$mode" "$tmp/$f" "$share/hooks/$f"
done

# fish (3.6) searches ~/.config/fish/completions, /etc/fish/completions and the vendor folders
# named in XDG_DATA_DIRS; with XDG_DATA_DIRS unset that is /usr/share's only, not /usr/local's.
if [ "$(id -u)" != 0 ]; then fishdir=${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions
elif [ "$prefix" = /usr/local ]; then fishdir=/etc/fish/completions
elif [ "$prefix" = /usr ]; then fishdir=/usr/share/fish/vendor_completions.d
else fishdir=$prefix/share/fish/vendor_completions.d; fi
for p in "${programs[@]}"; do
  put 0644 "$here/completions/bash/$p" "$prefix/share/bash-completion/completions/$p"
  put 0644 "$here/completions/zsh/_$p" "$prefix/share/zsh/site-functions/_$p"
  put 0644 "$here/completions/fish/$p.fish" "$fishdir/$p.fish"
done

# The scheduled restore check: a systemd user timer where a user manager runs, else cron.
scheduled=""
if [ -n "$schedule" ]; then
  sed -e "s|@PREFIX@|$prefix|g" "$here/systemd/cdb-restore-check.service" >"$tmp/cdb-restore-check.service"
  sed -e "s|@CALENDAR@|$calendar|g" "$here/systemd/cdb-restore-check.timer" >"$tmp/cdb-restore-check.timer"
  put 0644 "$tmp/cdb-restore-check.service" "$unitdir/cdb-restore-check.service"
  put 0644 "$tmp/cdb-restore-check.timer" "$unitdir/cdb-restore-check.timer"
  if systemctl --user daemon-reload >/dev/null 2>&1 && systemctl --user enable --now cdb-restore-check.timer >/dev/null 2>&1; then
    scheduled="systemd user timer cdb-restore-check.timer ($schedule; systemctl --user list-timers shows the next run)"
  elif command -v crontab >/dev/null 2>&1; then
    logdir=${XDG_STATE_HOME:-$HOME/.local/state}/cdb
    line="$cron PATH=$prefix/bin:/usr/bin:/bin; mkdir -p '$logdir' && { cdb-restore --check --latest && cdb-verify --latest --copies; } >>'$logdir/restore-check.log' 2>&1 $cron_marker"
    { crontab -l 2>/dev/null | grep -vF "$cron_marker" || true; printf '%s\n' "$line"; } | crontab -
    scheduled="crontab entry ($schedule; output in $logdir/restore-check.log)"
  else
    scheduled="NOT active: no systemd user manager and no crontab here. The units are in $unitdir:
  enable them where systemd runs (systemctl --user enable --now cdb-restore-check.timer)"
  fi
fi

# The manifest and the list of created folders merge with an earlier install's.
mkdir -p "$share"
{ [ -f "$manifest" ] && cat "$manifest"; printf '%s\n' "${installed[@]}" "$manifest"; } | sort -u >"$tmp/manifest"
mv "$tmp/manifest" "$manifest"
{ [ -f "$share.dirs" ] && cat "$share.dirs"; [ ${#created[@]} -gt 0 ] && printf '%s\n' "${created[@]}"; } | sort -u >"$tmp/dirs" || true
mv "$tmp/dirs" "$share.dirs"
installed+=("$share.dirs")
printf '%s\n' "$share.dirs" >>"$manifest"

cat >&2 <<MSG
cdb $("$prefix/bin/cdb-pg-dump" --version) installed under $prefix.

Add the session hook to your shell's startup file:
  bash (~/.bashrc):                  source $share/hooks/cdb.bash
  zsh  (~/.zshrc):                   source $share/hooks/cdb.zsh
  fish (~/.config/fish/config.fish): source $share/hooks/cdb.fish
Snapshot after every commit, in the trading repository:  cdb-repo-snap --install-hook
MSG
[ -z "$scheduled" ] || echo "Restore check scheduled: $scheduled" >&2
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "Add $prefix/bin to PATH." >&2 ;; esac
if [ "$(id -u)" != 0 ]; then
  echo "zsh completions: add  fpath=($prefix/share/zsh/site-functions \$fpath)  before compinit in ~/.zshrc." >&2
fi
