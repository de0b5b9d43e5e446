#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages cdb builds and tests with, when any is missing.
# Runs apt-get update once, and only when something has to be installed. Uses sudo when not root.
set -euo pipefail

packages=(libpq-dev libgit2-dev libzstd-dev zlib1g-dev libdeflate-dev pkg-config postgresql postgresql-contrib
          postgresql-client unzip zip zstd gzip git ca-certificates util-linux strace time procps python3 python3-pip age
          rclone openssh-server openssh-client curl)
# --with-shells: what the test suite needs besides (the shells the hooks are tried in, a Python
# virtual environment for the S3 test server, crontab and systemd-analyze for install.sh --schedule).
if [ "${1:-}" = "--with-shells" ]; then packages+=(zsh fish tmux bash-completion python3-venv cron systemd); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 77; }
    sudo=(sudo)
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "install-deps: no Swift toolchain on PATH; install Swift 6 (https://www.swift.org/install/linux/) and run again" >&2
  exit 69
fi

# The S3-compatible server the copy tests start on 127.0.0.1 (moto's standalone server): used
# from PATH when there, else installed once into a virtual environment (Debian's Python refuses
# system-wide pip installs).
if [ "${1:-}" = "--with-shells" ]; then
  venv=${CDB_TEST_VENV:-/opt/cdb-test-venv}
  if ! command -v moto_server >/dev/null 2>&1 && [ ! -x "$venv/bin/moto_server" ]; then
    echo "install-deps: installing moto[server] into $venv (the S3 test server)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'moto[server]'
  fi
fi
