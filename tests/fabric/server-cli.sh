#!/bin/sh
# SPDX-License-Identifier: MIT
# farmem-server's command line: errors that say what to do, SIGTERM and
# SIGINT with clients connected end with status 0, SIGUSR1 reports.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

expect_fail() { # MESSAGE ARGS...
	msg=$1
	shift
	"$FAB_SERVER" "$@" >"$FAB_TMP/cli.out" 2>&1 &
	pid=$!
	fab_pids="$fab_pids $pid"
	wait $pid && fail "farmem-server $* started"
	grep -q "$msg" "$FAB_TMP/cli.out" || fail "farmem-server $*: expected \"$msg\", got: $(cat "$FAB_TMP/cli.out")"
}

(unset FARMEM_TOKEN; expect_fail "no token: set FARMEM_TOKEN or --token-file" --listen 127.0.0.1:0) || exit 1
expect_fail "provider nosuch not available.*available are .*tcp" --listen 127.0.0.1:0 --provider nosuch
expect_fail "not a size" --size lots
expect_fail "cannot read --token-file" --token-file "$FAB_TMP/none"
expect_fail "expected HOST:PORT" --listen nonsense

fab_start_server --size 16M
expect_fail "port in use: pick another with --listen" --listen "$SERVER_ADDR"

# a token file, and SIGINT with a client holding memory
fab_stop_server TERM
echo "$FARMEM_TOKEN" >"$FAB_TMP/token"
tok=$FARMEM_TOKEN
unset FARMEM_TOKEN
fab_start_server --size 16M --token-file "$FAB_TMP/token"
FARMEM_TOKEN=$tok
export FARMEM_TOKEN
fab_bg "$FAB_TOOL" hold "$SERVER_ADDR" 2 >"$FAB_TMP/hold.out"
fab_wait_line "$FAB_TMP/hold.out" holding "$FAB_BG_PID" || fail "holder"
kill -USR1 "$SERVER_PID"
fab_wait_line "$FAB_TMP/server.err" "stats: pool 8 chunks, 2 used" "$SERVER_PID" || fail "SIGUSR1"
fab_stop_server INT
grep -q "ready on 127.0.0.1:[0-9]* provider tcp;ofi_rxm pool 16.0 MiB" "$FAB_TMP/server.out" || fail "ready line: $(cat "$FAB_TMP/server.out")"
exit 0
