#!/usr/bin/env bash
# Kept for existing instructions: the protocol decoder fuzzer (tools/fuzz.sh does the work).
exec "$(dirname "$0")/fuzz.sh" protocol "$@"
