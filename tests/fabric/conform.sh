#!/bin/sh
# SPDX-License-Identifier: MIT
# The libfabric backend against the backend contract, on a real
# farmem-server over provider $FAB_PROVIDER (tcp by default): data across
# many chunks with many transfers in flight, put, fork tickets, threads,
# a full pool (-ENOSPC); then nothing may be left on the server, and
# SIGTERM stops it with status 0. With shm, the client's and the server's
# endpoint files keep at most 1 MiB of their zero padding (fmp_shm_trim).
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

prov=${FAB_PROVIDER:-tcp}
fab_start_server --size 64M --provider "$prov"
"$FAB_CONFORM" ofi "$SERVER_ADDR" || fail "$prov conformance"
"$FAB_CONFORM" ofi "$SERVER_ADDR" enospc=32 || fail "$prov pool full"
if [ "$prov" = shm ]; then
	"$FAB_CONFORM" ofi "$SERVER_ADDR" trim || fail "shm client's padding kept"
	set -- /dev/shm/farmem-s-"$SERVER_PID"-*
	[ -f "$1" ] || fail "no shm file of the server (pid $SERVER_PID)"
	held=$(($(stat -c '%b * %B' "$1")))
	echo "$1: $(stat -c %s "$1") bytes, $held held"
	[ "$held" -le 1048576 ] || fail "shm server's padding kept: $held bytes held"
fi
# two sessions with one server in one list: chunks go round-robin
"$FAB_CONFORM" ofi "$SERVER_ADDR,$SERVER_ADDR" basic fork ||
	fail "$prov with a server list"
fab_stats_zero

# two servers: striped, both full before -ENOSPC, forks span both
first_pid=$SERVER_PID
first=$SERVER_ADDR
fab_start_server --size 32M --provider "$prov"
"$FAB_CONFORM" ofi "$first,$SERVER_ADDR" basic fork threads enospc=48 ||
	fail "$prov with two servers"
"$FAB_TOOL" stats "$SERVER_ADDR" --wait-zero >/dev/null || fail "second server holds memory"
fab_stop_server TERM
SERVER_PID=$first_pid
SERVER_ADDR=$first
fab_stats_zero
fab_stop_server TERM
exit 0
