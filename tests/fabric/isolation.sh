#!/bin/sh
# SPDX-License-Identifier: MIT
# Two clients of one tcp server: the attacker, with a session and chunk of
# its own, forges keys, addresses and ranges to reach the victim's chunk
# (fab_tool isolate); every access must fail and the victim's data stay
# intact. shm makes no such claim (it trusts the same user): not tested.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

fab_start_server --size 64M --provider tcp
"$FAB_TOOL" isolate "$SERVER_ADDR" || fail "isolation"
fab_stats_zero
grep -q "refused=2" "$FAB_TMP/stats" || fail "refusals not counted: $(cat "$FAB_TMP/stats")"
fab_stop_server TERM
exit 0
