#!/bin/sh
# SPDX-License-Identifier: MIT
# A client killed with SIGKILL (no CLOSE): the server sees its control
# connection end and frees everything it held, a pending fork ticket
# included once it expires: no chunk in use, no pool page resident.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

for prov in tcp shm; do
	fab_start_server --size 64M --provider "$prov" --ticket-timeout 1
	fab_bg "$FAB_TOOL" hold "$SERVER_ADDR" 8 >"$FAB_TMP/hold.out"
	holder=$FAB_BG_PID
	fab_wait_line "$FAB_TMP/hold.out" holding "$holder" || fail "holder died"
	"$FAB_TOOL" stats "$SERVER_ADDR" >"$FAB_TMP/stats" || fail "stats"
	grep -q "chunks_used=8 " "$FAB_TMP/stats" || fail "$prov: not 8 chunks held: $(cat "$FAB_TMP/stats")"
	resident=$(sed -n 's/.*pool_resident=\([0-9]*\).*/\1/p' "$FAB_TMP/stats")
	[ "$resident" -ge $((16 << 20)) ] || fail "$prov: the written chunks are not resident ($resident)"
	kill -9 "$holder"
	wait "$holder" 2>/dev/null
	fab_stats_zero
	fab_stop_server TERM
	echo "$prov: $(cat "$FAB_TMP/stats")"
done
exit 0
