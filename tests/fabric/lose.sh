#!/bin/sh
# SPDX-License-Identifier: MIT
# The server dies (SIGKILL) under a client with transfers in flight: the
# client gets every completion back (failed or not), then -EPIPE from
# every call, and a log line naming the server.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

for prov in tcp shm; do
	fab_start_server --size 64M --provider "$prov"
	"$FAB_CONFORM" ofi "$SERVER_ADDR" "lose=$SERVER_PID" >"$FAB_TMP/lose.out" 2>&1 ||
		fail "$prov: $(cat "$FAB_TMP/lose.out")"
	wait "$SERVER_PID" 2>/dev/null
	grep -q "server $SERVER_ADDR: .*far memory on it is lost" "$FAB_TMP/lose.out" ||
		fail "$prov: no message naming the server: $(cat "$FAB_TMP/lose.out")"
	echo "$prov: $(cat "$FAB_TMP/lose.out")"
done

# two servers, the second dies: the session fails, naming that one
fab_start_server --size 64M
first=$SERVER_ADDR
fab_start_server --size 64M
"$FAB_CONFORM" ofi "$first,$SERVER_ADDR" "lose=$SERVER_PID" \
	>"$FAB_TMP/lose.out" 2>&1 || fail "two servers: $(cat "$FAB_TMP/lose.out")"
grep -q "server $SERVER_ADDR: .*far memory on it is lost" "$FAB_TMP/lose.out" ||
	fail "two servers: no message naming the lost one: $(cat "$FAB_TMP/lose.out")"
SERVER_ADDR=$first
fab_stats_zero
exit 0
