#!/usr/bin/env bash
# System packages the test suite needs: redis-server (the queue tests start their own on a
# free port on 127.0.0.1), postgresql (the ledger's tests start a throwaway cluster the same
# way; Debian puts its binaries under /usr/lib/postgresql/*/bin, not on PATH) and chromium
# (the crawler's browser mode; Debian's package, never a downloaded browser). Installs from
# Debian's packages what is missing, when allowed.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} = 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "missing: ${missing[*]}: install them (apt-get install ${missing[*]}) and run again" >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
