#!/usr/bin/env bash
# System packages the test suite needs: redis-server (the queue tests start their own on a
# free port on 127.0.0.1). Installs from Debian's packages when missing and allowed.
set -euo pipefail
if command -v redis-server >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "redis-server is missing: install it (apt-get install redis-server) and run again" >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server
