#!/bin/sh
# SPDX-License-Identifier: MIT
# Thousands of random and mutated control messages (fixed seed) on their
# own connections while a good client works alongside: the server answers
# or drops each bad connection, keeps serving the good client, holds
# nothing afterwards, and still serves a new client.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

fab_start_server --size 64M --provider tcp --ticket-timeout 1
fab_bg "$FAB_CONFORM" ofi "$SERVER_ADDR" basic errors fork basic >"$FAB_TMP/good.out" 2>&1
good=$FAB_BG_PID
"$FAB_TOOL" fuzz "$SERVER_ADDR" 0x5eed 3000 || fail "fuzzer"
wait "$good" || fail "the good client failed during the fuzzing: $(cat "$FAB_TMP/good.out")"
kill -0 "$SERVER_PID" || fail "the server died"
"$FAB_CONFORM" ofi "$SERVER_ADDR" basic || fail "a client after the fuzzing"
fab_stats_zero
errors=$(sed -n 's/.*proto_errors=\([0-9]*\).*/\1/p' "$FAB_TMP/stats")
[ "$errors" -gt 1000 ] || fail "only $errors protocol errors counted"
fab_stop_server TERM
echo "$(cat "$FAB_TMP/stats")"
exit 0
