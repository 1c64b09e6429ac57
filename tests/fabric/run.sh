#!/bin/sh
# SPDX-License-Identifier: MIT
# farmem-run with far memory on farmem-server, end to end (a real program,
# the pager, libfabric, a real server process):
#   - no --server: farmem-run starts a private server (tcp by default, shm
#     with --provider shm), the program gives the answers it gives without
#     farmem, and afterwards neither the server nor its files are left;
#   - --server: a server of our own, with the memory back to zero after;
#   - a server too small: what finds no room stays local, with a warning,
#     and the answers are the same;
#   - the server killed under a running program: the program stops with a
#     message naming the server, never reads zeros;
#   - bad input: a malformed --server, no server there, no or a wrong token.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

RUN=$abs_top_builddir/farmem-run
FILL=$abs_top_builddir/tests/pager/fill
[ -x "$FILL" ] || fail "$FILL not built (make check builds it)"
export FARMEM_LIBRARY="$abs_top_builddir/.libs/libfarmem.so"
unset FARMEM_SERVERS FARMEM_LOCAL_MEM FARMEM_STATS FARMEM_STATS_FILE

# the reference: the same program without farmem
"$FILL" 96 >"$FAB_TMP/ref.out" 2>/dev/null || fail "fill without farmem failed"

# check_run TAG - same stdout as the reference, pages really went out
check_run() {
	cmp -s "$FAB_TMP/ref.out" "$FAB_TMP/$1.out" ||
		fail "$1: stdout differs from the run without farmem"
	grep -q "evicted  *[1-9]" "$FAB_TMP/$1.stats" ||
		fail "$1: nothing was evicted: $(cat "$FAB_TMP/$1.stats")"
}

# ---- the private server -------------------------------------------------
for prov in "" shm; do
	tag=private${prov:-tcp}
	"$RUN" --local-mem 16M --verbose --stats-file "$FAB_TMP/$tag.stats" \
		${prov:+--provider $prov} -- "$FILL" 96 \
		>"$FAB_TMP/$tag.out" 2>"$FAB_TMP/$tag.err" ||
		fail "$tag: exit $?: $(tail -5 "$FAB_TMP/$tag.err")"
	check_run "$tag"
	pid=$(sed -n 's/.*started .*farmem-server (pid \([0-9]*\)).*/\1/p' \
		"$FAB_TMP/$tag.err")
	[ -n "$pid" ] || fail "$tag: no private server was started"
	grep -q "provider ${prov:-tcp}" "$FAB_TMP/$tag.err" ||
		fail "$tag: the server does not run provider ${prov:-tcp}"
	# stopped by farmem-run before it returned (a recycled pid would be
	# another program: check the name)
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = farmem-server ]; then
		fail "$tag: the private server (pid $pid) is still running"
	fi
	# no endpoint file left behind in /dev/shm
	if ls /dev/shm 2>/dev/null | grep -q "^farmem-.-$pid-"; then
		fail "$tag: the server left its shm file"
	fi
	echo "$tag: ok, server pid $pid gone"
done

# a shell whose children exec at once (each opens, or starts to open, a
# session of its own): no endpoint file of a dead process is left behind
"$RUN" --local-mem 16M --provider shm -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do
	/bin/true; done' || fail "shell loop: exit $?"
for f in /dev/shm/farmem-?-*; do
	[ -e "$f" ] || continue
	pid=$(basename "$f" | cut -d- -f3)
	kill -0 "$pid" 2>/dev/null || fail "left behind: $f (pid $pid is gone)"
done
echo "shell loop: no shm file left"

# ---- a server of our own ---------------------------------------------------
fab_start_server --size 256M --provider tcp
"$RUN" --local-mem 16M --server "$SERVER_ADDR" \
	--stats-file "$FAB_TMP/named.stats" -- "$FILL" 96 \
	>"$FAB_TMP/named.out" 2>"$FAB_TMP/named.err" ||
	fail "named: exit $?: $(tail -5 "$FAB_TMP/named.err")"
check_run named
fab_stats_zero
named=$SERVER_ADDR named_pid=$SERVER_PID
echo "named server: ok, $(cat "$FAB_TMP/stats")"

# ---- a server too small: the pages that find no room stay local --------------
fab_start_server --size 8M --provider tcp
full=$SERVER_ADDR
"$RUN" --local-mem 16M --server "$full" --stats-file "$FAB_TMP/full.stats" \
	-- "$FILL" 96 >"$FAB_TMP/full.out" 2>"$FAB_TMP/full.err" ||
	fail "full: exit $?: $(tail -5 "$FAB_TMP/full.err")"
cmp -s "$FAB_TMP/ref.out" "$FAB_TMP/full.out" ||
	fail "full: stdout differs from the run without farmem"
grep -q "far memory is full" "$FAB_TMP/full.err" ||
	fail "full: no warning that far memory is full: $(cat "$FAB_TMP/full.err")"
echo "pool full: same answers, $(grep -m1 'far memory is full' "$FAB_TMP/full.err")"
SERVER_ADDR=$named SERVER_PID=$named_pid

# ---- the server goes away under the program ---------------------------------
# A program that keeps re-reading 64 MiB under a 16 MiB budget until it is
# stopped: every pass fetches most of it from the server.
cat >"$FAB_TMP/loop.py" <<'EOF'
import os, sys
a = [os.urandom(4096) for _ in range(16384)]
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    for x in a:
        x[0]
EOF
fab_bg "$RUN" --local-mem 16M --server "$SERVER_ADDR" -- \
	python3 "$FAB_TMP/loop.py" >"$FAB_TMP/loop.out" 2>"$FAB_TMP/loop.err"
prog=$FAB_BG_PID
fab_wait_line "$FAB_TMP/loop.out" ready "$prog" ||
	fail "loop: ended before it was ready: $(tail -5 "$FAB_TMP/loop.err")"
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
wait "$prog"
rc=$?
[ "$rc" -ne 0 ] || fail "loop: exit 0 after its server died"
grep -q "server $SERVER_ADDR: .*lost" "$FAB_TMP/loop.err" ||
	fail "loop: no message naming the server: $(tail -5 "$FAB_TMP/loop.err")"
echo "server killed: program exit $rc, $(grep -c . "$FAB_TMP/loop.err") lines:"
sed 's/^/  /' "$FAB_TMP/loop.err"

# ---- bad input -------------------------------------------------------------
# expect TAG STATUS PATTERN CMD... - exit status STATUS, stderr matching
expect() {
	tag=$1 want=$2 pat=$3
	shift 3
	"$@" >"$FAB_TMP/$tag.out" 2>"$FAB_TMP/$tag.err"
	rc=$?
	[ "$rc" -eq "$want" ] ||
		fail "$tag: exit $rc, expected $want: $(cat "$FAB_TMP/$tag.err")"
	grep -q -- "$pat" "$FAB_TMP/$tag.err" ||
		fail "$tag: no \"$pat\" in: $(cat "$FAB_TMP/$tag.err")"
	echo "$tag: $(head -1 "$FAB_TMP/$tag.err")"
}
expect bad-server 2 "expected HOST:PORT" \
	"$RUN" --local-mem 16M --server nonsense -- true
expect bad-port 2 "port must be" \
	"$RUN" --local-mem 16M --server 127.0.0.1:99999 -- true
expect both 2 "pick one" \
	"$RUN" --local-mem 16M --server 127.0.0.1:1 --no-server -- true
expect bad-provider 2 "not a provider" \
	"$RUN" --local-mem 16M --provider carrier-pigeon -- true
expect no-token 2 "set FARMEM_TOKEN" \
	env -u FARMEM_TOKEN "$RUN" --local-mem 16M --server 127.0.0.1:1 -- true
# nothing listens there (the server above is dead): refused at start-up
expect no-server 1 "no farmem-server answers" \
	"$RUN" --local-mem 16M --server "$SERVER_ADDR" -- "$FILL" 1
fab_start_server --size 64M --provider tcp
expect wrong-token 1 "refused the token" \
	env FARMEM_TOKEN=not-the-token "$RUN" --local-mem 16M \
	--server "$SERVER_ADDR" -- "$FILL" 1
fab_stop_server TERM
exit 0
