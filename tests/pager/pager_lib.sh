# SPDX-License-Identifier: MIT
# Helpers of the pager's tests (tests/pager/*.sh), on top of the integration
# tests' lib.sh (sourced, not copied: fm_plain, fm_farmem, fm_same,
# fm_stat_bytes, fm_ok/fm_fail, the temporary directory and clean-up).
#
# A pager test runs a program without farmem (the reference) and under a
# tight FARMEM_LOCAL_MEM, and checks:
#   - same exit status and stdout, byte for byte (fm_same);
#   - pages were really evicted and fetched back (the exit statistics), so
#     that a test cannot pass with the pager off;
#   - the pager's own count stayed within the budget ("resident peak");
#   - the process's peak RSS (VmHWM, printed by the program on stderr as
#     "fmp: VmHWM <n> kB") stayed within budget + the program's non-heap
#     RSS + FMP_SLACK_MIB (see fmp_check_rss).
#
# POSIX sh, like lib.sh.

# A hung run wastes this many seconds before lib.sh's timeout kills it
# (the slowest run here takes about 15 s on the project's 2-core VMs).
: "${FM_TEST_TIMEOUT:=150}"
. "$(dirname "$0")/../integration/lib.sh"

FMP_BIN=$abs_top_builddir/tests/pager
FMP_SRC=$abs_top_srcdir/tests/pager

# Peak RSS allowed above budget + the program's own non-heap RSS (measured
# on a tiny run without farmem). What the budget does not count, and the
# tiny run does not have:
#   - libfarmem.so, libmimalloc and libfabric with its dependencies
#     (libibverbs, librdmacm, libnl, psm...): about 3 MiB of text and data;
#   - the pager's metadata outside the region: 4 bytes of page table and
#     4 of slot stack per page ever touched (0.5 MiB per 256 MiB), the
#     fetch buffers, the memfd backend's slot words, the pager thread's
#     stack;
#   - the runtime's private heap: kilobytes with the in-process store,
#     and with a farmem-server libfabric's queues and buffers (tcp: about
#     15 MiB per process). Added as the statistics report it.
# Measured on the project's VMs: 1 to 5 MiB. 16 MiB leaves room for other
# machines' libraries, and still fails a pager that lets a 32 MiB budget
# be passed by half. (The pager's own count, "resident peak", is checked
# against the budget exactly.)
FMP_SLACK_MIB=${FMP_SLACK_MIB:-16}

# Processes a test starts outside fm_run (daemons, children that outlive
# their parent), by pid file: fmp_cleanup stops them before lib.sh's own
# clean-up removes the temporary directory.
fmp_cleanup() {
	for f in "$fm_tmp"/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null)
		case $p in
		'' | *[!0-9]*) continue ;;
		esac
		# only if it is still ours (the pid may have been reused)
		[ -r "/proc/$p/cmdline" ] || continue
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
			grep -F "$FMP_BIN/" >/dev/null; then
			kill -KILL "$p" 2>/dev/null
		fi
	done
	fm_cleanup
}
trap fmp_cleanup EXIT

# fmp_need_prog NAME... - the test programs are built (make check).
fmp_need_prog() {
	for b in "$@"; do
		[ -x "$FMP_BIN/$b" ] ||
			fm_error "$FMP_BIN/$b is not built (make check builds it)"
	done
}

# fmp_have_uffd - may this process use userfaultfd? A tiny program under
# the preload with a budget says so when it cannot (fmp_no_uffd: why).
fmp_have_uffd() {
	fmp_need_prog fill
	fm_farmem uffd-probe FARMEM_LOCAL_MEM=16M "$FMP_BIN/fill" 1
	[ "$fm_rc" -eq 0 ] && return 0
	fmp_no_uffd=$(grep userfaultfd "$fm_tmp/uffd-probe.err" | head -n 1)
	[ -n "$fmp_no_uffd" ] && return 1
	fm_show uffd-probe
	fm_error "a tiny program does not run under the pager"
}

# fmp_need_uffd - skip (77) if this process may not use userfaultfd.
fmp_need_uffd() {
	fmp_have_uffd || fm_skip "userfaultfd is not permitted here: $fmp_no_uffd"
}

# fmp_hwm TAG - the largest VmHWM (kB) that run TAG's processes printed.
fmp_hwm() {
	sed -n 's/^fmp: VmHWM \([0-9][0-9]*\) kB$/\1/p' "$fm_tmp/$1.err" |
		sort -n | tail -n 1
}

# fmp_baseline TAG CMD ARGS... - runs the tiny version of a program without
# farmem; its VmHWM (kB) becomes fmp_base_kb, the non-heap RSS.
fmp_baseline() {
	fmp_bt=$1
	shift
	fm_plain "$fmp_bt" "$@"
	fmp_base_kb=$(fmp_hwm "$fmp_bt")
	if [ "$fm_rc" -ne 0 ] || [ -z "$fmp_base_kb" ]; then
		fm_show "$fmp_bt"
		fm_error "$fmp_bt: the tiny run failed or printed no VmHWM"
	fi
	echo "$fmp_bt: non-heap RSS without farmem: $fmp_base_kb kB"
}

# fmp_check_rss TAG BUDGET_MIB - peak RSS of run TAG within budget +
# fmp_base_kb + FMP_SLACK_MIB, and the pager's resident peak within budget.
fmp_check_rss() {
	fmp_kb=$(fmp_hwm "$1")
	fmp_priv=$(($(fm_stat_bytes "$1" "runtime private heap") / 1024))
	fmp_limit=$(($2 * 1024 + fmp_base_kb + fmp_priv + FMP_SLACK_MIB * 1024))
	fmp_why="budget $2 MiB + non-heap $fmp_base_kb kB + runtime $fmp_priv kB + slack $FMP_SLACK_MIB MiB"
	if [ -z "$fmp_kb" ]; then
		fm_fail "$1: no VmHWM printed"
	elif [ "$fmp_kb" -le "$fmp_limit" ]; then
		fm_ok "$1: peak RSS $fmp_kb kB <= $fmp_limit kB ($fmp_why)"
	else
		fm_fail "$1: peak RSS $fmp_kb kB > $fmp_limit kB ($fmp_why)"
	fi
	fmp_rp=$(fm_stat_bytes "$1" "resident peak")
	if [ "$fmp_rp" -le $(($2 * 1048576)) ]; then
		fm_ok "$1: pager's resident peak $fmp_rp bytes <= $2 MiB"
	else
		fm_fail "$1: pager's resident peak $fmp_rp bytes > $2 MiB"
	fi
}

# fmp_check_paged TAG - run TAG evicted and fetched pages (FARMEM_STATS=1).
# With fmp_paged=evicted, evictions only: for a program whose evicted
# pages come back after the statistics are printed (at exit).
fmp_check_paged() {
	fmp_ev=$(fm_stat_bytes "$1" evicted)
	fmp_fe=$(fm_stat_bytes "$1" fetched)
	if [ "${fmp_paged:-}" = evicted ]; then
		if [ "$fmp_ev" -gt 0 ]; then
			fm_ok "$1: $((fmp_ev / 1048576)) MiB evicted"
		else
			fm_fail "$1: nothing evicted: the pager did not page"
			fm_show "$1"
		fi
		return
	fi
	if [ "$fmp_ev" -gt 0 ] && [ "$fmp_fe" -gt 0 ]; then
		fm_ok "$1: $((fmp_ev / 1048576)) MiB evicted, $((fmp_fe / 1048576)) MiB fetched"
	else
		fm_fail "$1: evicted $fmp_ev bytes, fetched $fmp_fe: the pager did not page"
		fm_show "$1"
	fi
}

# fmp_check_stat TAG FIELD - run TAG's statistics show more than zero
# bytes in FIELD (FARMEM_STATS=1).
fmp_check_stat() {
	fmp_sv=$(fm_stat_bytes "$1" "$2")
	if [ "$fmp_sv" -gt 0 ]; then
		fm_ok "$1: $2: $((fmp_sv / 1024)) KiB"
	else
		fm_fail "$1: $2: 0 bytes"
	fi
}

# fmp_show_stats TAG - the pager's lines of run TAG's statistics, for the
# log.
fmp_show_stats() {
	for f in "$fm_tmp/$1".stats.*; do
		[ -f "$f" ] || continue
		grep -E 'statistics|resident peak|evicted|fetched|dropped|faults|far chunks' "$f"
	done
}

# fmp_compare NAME BUDGET_MIB CMD ARGS... - the standard pager test: the
# reference run and a run under FARMEM_LOCAL_MEM=BUDGET_MIB M; same exit
# status and stdout, quiet, paged, within budget. Call fmp_baseline first.
# FMP_EXPECT_EVICT=1 tells the program to check (mincore) that its data is
# mostly out where it should be.
# Extra VAR=VALUE for the farmem run may be given in $fmp_env.
fmp_compare() {
	fmp_n=$1
	fmp_b=$2
	shift 2
	fm_plain "$fmp_n.ref" "$@"
	fmp_ref_rc=$fm_rc
	if [ "$fmp_ref_rc" -ne 0 ]; then
		fm_fail "$fmp_n: the reference run (no preload) failed: $fmp_ref_rc"
		fm_show "$fmp_n.ref"
		return 1
	fi
	echo "$fmp_n.ref: peak RSS without farmem: $(fmp_hwm "$fmp_n.ref") kB"
	# shellcheck disable=SC2086
	fm_farmem "$fmp_n.fm" FARMEM_LOCAL_MEM="${fmp_b}M" FARMEM_STATS=1 \
		FMP_EXPECT_EVICT=1 ${fmp_env:-} "$@"
	fmp_show_stats "$fmp_n.fm"
	grep '^fmp:' "$fm_tmp/$fmp_n.fm.err"
	fm_same "$fmp_n.ref" "$fmp_n.fm" "$fmp_ref_rc" && fm_quiet "$fmp_n.fm"
	fmp_check_paged "$fmp_n.fm"
	fmp_check_rss "$fmp_n.fm" "$fmp_b"
}

# fmp_wait_file FILE SECONDS - waits (bounded) until FILE exists and is
# complete (ends with a newline). Returns 1 if it did not appear.
fmp_wait_file() {
	fmp_i=0
	while [ "$fmp_i" -lt $(($2 * 10)) ]; do
		if [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]; then
			return 0
		fi
		sleep 0.1
		fmp_i=$((fmp_i + 1))
	done
	return 1
}

# fmp_detached TAG RUNNER... - runs RUNNER... VERDICT_FILE (RUNNER is
# fm_plain TAG ... or fm_farmem TAG ...), a program whose last act is a
# process left behind (an orphan, a daemon) that writes its pid to
# VERDICT_FILE.pid and then its verdict to VERDICT_FILE. Waits, bounded,
# for that process to end (or, if it never said its pid, for the verdict),
# then prints the verdict. Returns 1 if there is none.
fmp_detached() {
	fmp_dt=$1
	shift
	fmp_dt_v=$fm_tmp/$fmp_dt.verdict
	"$@" "$fmp_dt_v"
	fmp_dt_rc=$fm_rc
	fmp_i=0
	while [ "$fmp_i" -lt 1200 ]; do
		if [ -s "$fmp_dt_v.pid" ]; then
			kill -0 "$(cat "$fmp_dt_v.pid")" 2>/dev/null || break
		elif [ "$fmp_dt_rc" -ne 0 ] || [ "$fmp_i" -ge 100 ]; then
			break # no detached process: the parent died first
		fi
		sleep 0.1
		fmp_i=$((fmp_i + 1))
	done
	fm_rc=$fmp_dt_rc
	if ! fmp_wait_file "$fmp_dt_v" 1; then
		fm_fail "$fmp_dt: the detached process wrote no verdict"
		fm_show "$fmp_dt"
		return 1
	fi
	echo "$fmp_dt: verdict: $(cat "$fmp_dt_v")"
}

# fmp_compare_detached NAME BUDGET_MIB CMD ARGS... - fmp_compare for such
# a program: the detached process's verdict must match the reference's
# too, and both processes must have written statistics.
fmp_compare_detached() {
	fmp_n=$1
	fmp_b=$2
	shift 2
	fmp_detached "$fmp_n.ref" fm_plain "$fmp_n.ref" "$@"
	if [ "$fm_rc" -ne 0 ] || [ ! -s "$fm_tmp/$fmp_n.ref.verdict" ]; then
		fm_fail "$fmp_n: the reference run (no preload) failed: $fm_rc"
		fm_show "$fmp_n.ref"
		return 1
	fi
	fmp_detached "$fmp_n.fm" fm_farmem "$fmp_n.fm" \
		FARMEM_LOCAL_MEM="${fmp_b}M" FARMEM_STATS=1 FMP_EXPECT_EVICT=1 \
		"$@"
	fmp_show_stats "$fmp_n.fm"
	grep '^fmp:' "$fm_tmp/$fmp_n.fm.err"
	fm_same "$fmp_n.ref" "$fmp_n.fm" 0 && fm_quiet "$fmp_n.fm"
	if cmp -s "$fm_tmp/$fmp_n.ref.verdict" "$fm_tmp/$fmp_n.fm.verdict"; then
		fm_ok "$fmp_n.fm: the detached process's verdict is the reference's"
	else
		fm_fail "$fmp_n.fm: the detached process's verdict differs"
		fm_show "$fmp_n.fm"
	fi
	fmp_check_paged "$fmp_n.fm"
	fmp_check_rss "$fmp_n.fm" "$fmp_b"
	if [ "$(fm_stat_files "$fmp_n.fm")" -ge 2 ]; then
		fm_ok "$fmp_n.fm: both processes wrote statistics"
	else
		fm_fail "$fmp_n.fm: $(fm_stat_files "$fmp_n.fm") statistics files, want 2"
	fi
}
