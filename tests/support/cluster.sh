#!/usr/bin/env bash
# Starts (or stops) the one throwaway PostgreSQL cluster of a test run, through loyaltyctl's own
# embedded-cluster code, and migrates its `loyalty` database, which tests use as a template.
set -euo pipefail
action=$1 loyaltyctl=$2 dir=$3
case "$action" in
  start)
    rm -rf "$dir"
    "$loyaltyctl" --data-dir "$dir" db start
    "$loyaltyctl" --data-dir "$dir" migrate
    ;;
  stop)
    "$loyaltyctl" --data-dir "$dir" db stop
    ;;
esac
