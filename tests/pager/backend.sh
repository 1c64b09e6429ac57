# SPDX-License-Identifier: MIT
# Sourced by tests/pager/over_shm.sh and over_tcp.sh (FM_TEST_BACKEND set):
# every pager test once more, with the evicted pages on a farmem-server
# that each test starts (tests/integration/lib.sh, FM_TEST_BACKEND) instead
# of the in-process store. FM_PAGER_TESTS (from make) lists them.
# Exit: 1 if one failed, 99 on a hard error, 77 if every one skipped.

: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
[ -n "${FM_PAGER_TESTS:-}" ] || {
	echo "ERROR: FM_PAGER_TESTS is empty (run through make check)"
	exit 99
}
export FM_TEST_BACKEND
# a hung run is killed after this many seconds: over tcp on a busy 2-core
# machine a page costs up to a millisecond (a descheduled server), and the
# slowest runs take minutes; not a speed check
: "${FM_TEST_TIMEOUT:=600}"
export FM_TEST_TIMEOUT
bk_failed=0 bk_ran=0 bk_why=
bk_out=$(mktemp "${TMPDIR:-/tmp}/farmem-over.XXXXXX") || exit 99
trap 'rm -f "$bk_out"' EXIT
for t in $FM_PAGER_TESTS; do
	echo "=== $t over $FM_TEST_BACKEND"
	bk_t0=$(date +%s)
	${SHELL:-sh} "$abs_top_srcdir/$t" >"$bk_out" 2>&1
	rc=$?
	cat "$bk_out"
	echo "=== $t over $FM_TEST_BACKEND: exit $rc after $(($(date +%s) - bk_t0)) s"
	case $rc in
	0) bk_ran=$((bk_ran + 1)) ;;
	77) ;;
	*)
		# what failed, again at the end, where a cut log keeps it
		bk_why="$bk_why
=== FAIL: $t over $FM_TEST_BACKEND: exit $rc
$(grep -E '^(FAIL|ERROR)|timed out' "$bk_out" | head -n 20)"
		[ $rc -eq 99 ] && break
		bk_failed=$((bk_failed + 1))
		;;
	esac
done
[ -n "$bk_why" ] && echo "$bk_why"
[ $rc -eq 99 ] && exit 99
echo "over $FM_TEST_BACKEND: $bk_ran passed, $bk_failed failed"
[ $bk_failed -eq 0 ] || exit 1
[ $bk_ran -gt 0 ] || exit 77
exit 0
