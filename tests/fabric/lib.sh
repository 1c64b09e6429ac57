# SPDX-License-Identifier: MIT
# tests/fabric/lib.sh: sourced by the fabric test scripts. Starts
# farmem-server on a free loopback port (the kernel picks it: --listen
# 127.0.0.1:0, the ready line names it), and stops everything the test
# started when it exits, however it exits.

: "${abs_top_builddir:=$(pwd)}"
FAB_SERVER=$abs_top_builddir/farmem-server
FAB_CONFORM=$abs_top_builddir/tests/fabric/fab_conform
FAB_TOOL=$abs_top_builddir/tests/fabric/fab_tool
FAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fabtest.XXXXXX") || exit 99
FARMEM_TOKEN=fabtest-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
export FARMEM_TOKEN
fab_pids=
fab_cleanup_hook=:

fab_cleanup() {
	for p in $fab_pids; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	$fab_cleanup_hook
	rm -rf "$FAB_TMP"
}
trap fab_cleanup EXIT
trap 'exit 1' INT TERM HUP

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*"
	if [ -s "$FAB_TMP/server.err" ]; then
		sed 's/^/  server: /' "$FAB_TMP/server.err" | tail -20
	fi
	exit 1
}

for f in "$FAB_SERVER" "$FAB_CONFORM" "$FAB_TOOL"; do
	[ -x "$f" ] || fail "$f not built (make check builds it)"
done

# fab_bg CMD... - runs CMD in the background, to be killed at exit.
fab_bg() {
	"$@" &
	fab_pids="$fab_pids $!"
	FAB_BG_PID=$!
}

# fab_wait_line FILE PATTERN PID - waits for PATTERN in FILE while PID
# lives. Returns 1 if PID exits first.
fab_wait_line() {
	n=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || return 1
		n=$((n + 1))
		[ $n -lt 600 ] || fail "no \"$2\" from pid $3 within 30 s"
		sleep 0.05
	done
}

# fab_start_server [ARGS...] - sets SERVER_PID and SERVER_ADDR. Skips
# the test if the provider is not available here. FAB_PREFIX runs the
# server inside something (ip netns exec NS), FAB_LISTEN replaces the
# loopback address.
fab_start_server() {
	fab_bg $FAB_PREFIX "$FAB_SERVER" --listen "${FAB_LISTEN:-127.0.0.1:0}" \
		"$@" >"$FAB_TMP/server.out" 2>"$FAB_TMP/server.err"
	SERVER_PID=$FAB_BG_PID
	if ! fab_wait_line "$FAB_TMP/server.out" "ready on" "$SERVER_PID"; then
		wait "$SERVER_PID"
		if grep -q "not available" "$FAB_TMP/server.err"; then
			skip "$(cat "$FAB_TMP/server.err")"
		fi
		fail "farmem-server $* did not start"
	fi
	SERVER_ADDR=$(sed -n 's/^farmem-server: ready on \([^ ]*\) .*/\1/p' \
		"$FAB_TMP/server.out")
	[ -n "$SERVER_ADDR" ] || fail "no address in the ready line"
}

# fab_stop_server [SIGNAL] - stops the server; it must exit 0.
fab_stop_server() {
	kill -"${1:-TERM}" "$SERVER_PID"
	wait "$SERVER_PID"
	rc=$?
	[ $rc -eq 0 ] || fail "farmem-server exited $rc after SIG${1:-TERM}"
}

# fab_stats_zero - the server holds no memory (waits for it to notice
# clients that went away).
fab_stats_zero() {
	$FAB_PREFIX_CLIENT "$FAB_TOOL" stats "$SERVER_ADDR" --wait-zero \
		>"$FAB_TMP/stats" || fail "server still holds memory: $(cat "$FAB_TMP/stats")"
}
