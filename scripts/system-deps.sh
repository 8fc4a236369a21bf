#!/usr/bin/env bash
# System packages the test suite needs: redis-server (the queue tests start their own on a
# free port on 127.0.0.1) and chromium (the crawler's browser mode; Debian's package, never
# a downloaded browser). Installs from Debian's packages what is missing, when allowed.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} = 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "missing: ${missing[*]}: install them (apt-get install ${missing[*]}) and run again" >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
