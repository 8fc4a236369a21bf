#!/bin/sh
# Refuses to start a service whose configuration still holds a placeholder of the env
# template (deploy/env.template): any environment variable, or any file given with --file,
# containing CHANGE_ME stops the container before the real command runs, naming the
# variable or the file (never printing a value: the values are secrets). Then it execs the
# command, so the service is PID 1's direct child and receives SIGTERM itself.
#
#   refuse-placeholders.sh [--file PATH]... [--] COMMAND [ARG]...
#
# POSIX sh (the third-party images have busybox, dash or bash). The compose file's
# ${VAR:?message} refuses a variable that is missing or empty; this refuses one left as the
# template wrote it.
set -eu
PLACEHOLDER=CHANGE_ME
refused=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --file)
      [ "$#" -ge 2 ] || { echo "refuse-placeholders: --file needs a path" >&2; exit 64; }
      if [ ! -s "$2" ]; then
        echo "refusing to start: $2 is missing or empty (see the README, Deploying with docker compose)" >&2
        exit 78
      fi
      if grep -q "$PLACEHOLDER" "$2"; then
        refused="$refused $2"
      fi
      shift 2
      ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ "$#" -gt 0 ] || { echo "refuse-placeholders: no command to run" >&2; exit 64; }
for name in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p'); do
  eval "value=\${$name-}"
  case "$value" in
    *"$PLACEHOLDER"*) refused="$refused $name" ;;
  esac
done
if [ -n "$refused" ]; then
  for name in $refused; do
    echo "refusing to start: $name still holds the placeholder $PLACEHOLDER: set a real value in .env (see deploy/env.template)" >&2
  done
  exit 78
fi
exec "$@"
