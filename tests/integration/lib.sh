# SPDX-License-Identifier: MIT
# Common helpers of the integration tests, sourced by each tests/*.sh.
#
# A test runs a real program without the preload (the reference) and under
# libfarmem.so, once per option profile and once more verbose with
# statistics, and compares exit status and stdout byte for byte. It also
# checks that the program really ran on the managed heap: the statistics
# ("allocations" from FARMEM_STATS_FILE) and, for our C/C++ programs,
# fm_active()/fm_is_managed() looked up with dlsym (fmcheck.h).
#
# Environment:
#   abs_top_builddir, abs_top_srcdir  set by make check (AM_TESTS_ENVIRONMENT)
#   FM_TEST_PROFILE    run only this profile (default: all of FM_PROFILES)
#   FM_TEST_KEEP=1     keep the temporary directory
#   FM_TEST_TIMEOUT    seconds one program may run (default 240)
#   FM_BUDGET          FARMEM_LOCAL_MEM of the "tight" profile (default
#                      32M); a test sets it to well below its footprint
#   FM_TEST_BACKEND    where evicted pages go: memfd (the in-process store,
#                      the default), or shm or tcp: a farmem-server this
#                      test starts with that provider, for the whole test
#
# POSIX sh: make check runs these with $(SHELL).

# ---- where things are -------------------------------------------------------

fm_here=$(cd "$(dirname "$0")" && pwd)
: "${abs_top_srcdir:=$(cd "$fm_here/../.." && pwd)}"
: "${abs_top_builddir:=$(pwd)}"
FM_SRC=$abs_top_srcdir/tests/integration
FM_BIN=$abs_top_builddir/tests/integration
FM_LIB=$abs_top_builddir/.libs/libfarmem.so
FM_RUN=$abs_top_builddir/farmem-run
FM_TIMEOUT=${FM_TEST_TIMEOUT:-240}
fm_name=$(basename "$0" .sh)

# Option profiles: each test runs under every one (STYLE.md: the suite runs
# again under other option sets, as jemalloc does with MALLOC_CONF):
#   default   no options
#   stats4g   statistics (byte tracking on) and a 4 GiB region
#   tight     a local memory budget well below the program's footprint
#             (FM_BUDGET): the pager evicts and fetches back its heap
FM_PROFILES="default stats4g tight"
FM_BUDGET=${FM_BUDGET:-32M}
fm_profile_env() {
	case $1 in
	default) echo "" ;;
	stats4g) echo "FARMEM_STATS=1 FARMEM_REGION=4G" ;;
	tight) echo "FARMEM_LOCAL_MEM=$FM_BUDGET FARMEM_STATS=1" ;;
	*) echo "unknown profile $1" >&2; return 1 ;;
	esac
}
if [ -n "${FM_TEST_PROFILE:-}" ]; then
	fm_profile_env "$FM_TEST_PROFILE" >/dev/null || exit 99
	FM_PROFILES=$FM_TEST_PROFILE
fi

# A python3 that is the real interpreter, not a pyenv shim (a shell script
# that would run under the preload too, and may pick another python).
FM_PYTHON=
for p in /usr/bin/python3 /usr/local/bin/python3; do
	if [ -x "$p" ]; then FM_PYTHON=$p; break; fi
done

# ---- results ----------------------------------------------------------------

fm_failed=0
fm_checks=0

fm_fail() {
	echo "FAIL: $*"
	fm_failed=$((fm_failed + 1))
	fm_checks=$((fm_checks + 1))
}

fm_ok() {
	echo "ok: $*"
	fm_checks=$((fm_checks + 1))
}

# fm_skip REASON - the whole test is skipped (automake: exit 77).
fm_skip() {
	echo "SKIP: $fm_name: $*"
	exit 77
}

# fm_error REASON - the test cannot run at all (automake: hard error).
fm_error() {
	echo "ERROR: $fm_name: $*"
	exit 99
}

# fm_finish - exit status of the test from the checks made.
fm_finish() {
	echo "$fm_name: $fm_checks checks, $fm_failed failed"
	[ "$fm_failed" -eq 0 ] && exit 0
	exit 1
}

# fm_need_cmd CMD... - skip unless every command exists.
fm_need_cmd() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			fm_skip "$c is not installed"
	done
}

fm_need_bin() {
	for b in "$@"; do
		[ -x "$FM_BIN/$b" ] ||
			fm_error "$FM_BIN/$b is not built (make check builds it)"
	done
}

[ -f "$FM_LIB" ] || fm_error "$FM_LIB is not built"
command -v timeout >/dev/null 2>&1 || fm_skip "timeout (coreutils) is missing"

# ---- temporary files and processes ------------------------------------------

fm_tmp=$(mktemp -d "${TMPDIR:-/tmp}/farmem-$fm_name.XXXXXX") ||
	fm_error "cannot create a temporary directory"
fm_pids=

fm_cleanup() {
	fm_server_stop
	for p in $fm_pids; do
		kill -TERM "$p" 2>/dev/null
		kill -KILL -- "-$p" 2>/dev/null
	done
	for p in $fm_pids; do
		wait "$p" 2>/dev/null
	done
	fm_pids=
	if [ -n "${FM_TEST_KEEP:-}" ]; then
		echo "kept $fm_tmp"
	else
		rm -rf "$fm_tmp"
	fi
}
trap fm_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Variables that would change the runs: a user's FARMEM_* and LD_PRELOAD.
fm_unset="-u LD_PRELOAD"
for v in $(env | sed -n 's/^\(FARMEM_[A-Za-z0-9_]*\)=.*/\1/p'); do
	fm_unset="$fm_unset -u $v"
done

# ---- the memory server (FM_TEST_BACKEND) ------------------------------------

fm_server_pid=
fm_server_env=

# fm_server_stop - stops the test's farmem-server, if it started one.
# What it used and said goes to the log: its CPU time (the server polls
# the fabric, so it competes with the test for the cores), and its stderr
# if it had anything to say (a watchdog exit, a refused client).
fm_server_stop() {
	[ -n "$fm_server_pid" ] || return 0
	if [ -r "/proc/$fm_server_pid/stat" ]; then
		# utime and stime, in clock ticks, after the ")" of comm
		fm_ticks=$(sed 's/.*) //' "/proc/$fm_server_pid/stat" |
			awk '{ print $12 + $13 }')
		echo "farmem-server: $((fm_ticks / $(getconf CLK_TCK))) s of CPU"
		kill -TERM "$fm_server_pid" 2>/dev/null
	else
		echo "farmem-server (pid $fm_server_pid) had already exited"
	fi
	wait "$fm_server_pid" 2>/dev/null
	echo "farmem-server: exit $?"
	if [ -s "$fm_tmp/server.err" ]; then
		echo "farmem-server said:"
		tail -n 20 "$fm_tmp/server.err"
	fi
	fm_server_pid=
}

# fm_server_start PROVIDER - a farmem-server on a free loopback port for
# every run under farmem (fm_server_env: FARMEM_SERVERS and FARMEM_TOKEN).
fm_server_start() {
	fm_token=test-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
	env $fm_unset FARMEM_TOKEN="$fm_token" \
		"$abs_top_builddir/farmem-server" --listen 127.0.0.1:0 \
		--provider "$1" --size 8G --quiet \
		>"$fm_tmp/server.out" 2>"$fm_tmp/server.err" </dev/null &
	fm_server_pid=$!
	fm_i=0
	until grep -q "ready on" "$fm_tmp/server.out" 2>/dev/null; do
		if ! kill -0 "$fm_server_pid" 2>/dev/null; then
			fm_server_pid=
			cat "$fm_tmp/server.err"
			fm_error "farmem-server --provider $1 did not start"
		fi
		fm_i=$((fm_i + 1))
		[ $fm_i -lt 600 ] || fm_error "farmem-server: no ready line in 30 s"
		sleep 0.05
	done
	fm_addr=$(sed -n 's/^farmem-server: ready on \([^ ]*\) .*/\1/p' \
		"$fm_tmp/server.out")
	fm_server_env="FARMEM_SERVERS=$fm_addr FARMEM_TOKEN=$fm_token"
}

case ${FM_TEST_BACKEND:-memfd} in
memfd) ;;
shm | tcp) fm_server_start "$FM_TEST_BACKEND" ;;
*) fm_error "FM_TEST_BACKEND=$FM_TEST_BACKEND: write memfd, shm or tcp" ;;
esac

# ---- running programs --------------------------------------------------------

# fm_run TAG [VAR=VALUE...] CMD ARGS... - runs CMD under a timeout with
# stdin from $FM_STDIN (default /dev/null), stdout to $fm_tmp/TAG.out,
# stderr to $fm_tmp/TAG.err; sets fm_rc. The process is killed by
# fm_cleanup if the test is interrupted.
fm_run() {
	fm_tag=$1
	shift
	# shellcheck disable=SC2086
	timeout -k 10 "$FM_TIMEOUT" env $fm_unset "$@" \
		<"${FM_STDIN:-/dev/null}" >"$fm_tmp/$fm_tag.out" \
		2>"$fm_tmp/$fm_tag.err" &
	fm_child=$!
	fm_pids="$fm_pids $fm_child"
	wait "$fm_child"
	fm_rc=$?
	if [ "$fm_rc" -eq 124 ] || [ "$fm_rc" -eq 137 ]; then
		fm_fail "$fm_tag: timed out after $FM_TIMEOUT s"
	fi
	fm_reap "$fm_tag" "$fm_child"
	fm_pids=$(echo "$fm_pids" | sed "s/ $fm_child\$//; s/ $fm_child / /")
	return 0
}

# fm_reap TAG PGID - nothing of run TAG may outlive it. timeout(1) made
# its own process group (PGID = its pid) and signals it only if the time
# runs out; a process left behind (a forked child stuck in a fault, with
# its signals blocked) is reported and killed.
fm_reap() {
	fm_i=0
	while kill -0 -- "-$2" 2>/dev/null; do
		fm_i=$((fm_i + 1))
		if [ "$fm_i" -gt 20 ]; then
			fm_fail "$1: processes left running after the program exited"
			ps -eo pgid=,pid=,stat=,wchan:24=,args= 2>/dev/null |
				awk -v g="$2" '$1 == g' | head -n 5
			kill -KILL -- "-$2" 2>/dev/null
			break
		fi
		sleep 0.1
	done
}

# fm_plain TAG CMD ARGS... - without the preload.
fm_plain() {
	fm_t=$1
	shift
	fm_run "$fm_t" "$@"
}

# fm_farmem TAG [VAR=VALUE...] CMD ARGS... - under libfarmem.so. Statistics,
# if enabled, go to $fm_tmp/TAG.stats.PID; programs using fmcheck.h insist
# on running on the managed heap.
fm_farmem() {
	fm_t=$1
	shift
	# shellcheck disable=SC2086
	fm_run "$fm_t" LD_PRELOAD="$FM_LIB" FM_TEST_EXPECT_MANAGED=1 \
		$fm_server_env FARMEM_STATS_FILE="$fm_tmp/$fm_t.stats.%p" "$@"
}

# fm_show TAG - the end of a run's stderr, for the log.
fm_show() {
	echo "--- $1: exit status $fm_rc, stderr ends with:"
	tail -n 20 "$fm_tmp/$1.err"
	echo "---"
}

# fm_same REF TAG REF_RC - same exit status and stdout as the reference.
fm_same() {
	if [ "$fm_rc" -ne "$3" ]; then
		fm_fail "$2: exit status $fm_rc, without farmem $3"
		fm_show "$2"
		return 1
	fi
	if ! cmp -s "$fm_tmp/$1.out" "$fm_tmp/$2.out"; then
		fm_fail "$2: stdout differs from the run without farmem"
		cmp "$fm_tmp/$1.out" "$fm_tmp/$2.out" | head -n 3
		diff "$fm_tmp/$1.out" "$fm_tmp/$2.out" 2>/dev/null |
			head -n 10 | cut -c 1-200
		fm_show "$2"
		return 1
	fi
	fm_ok "$2: same exit status ($fm_rc) and stdout ($(wc -c <"$fm_tmp/$2.out") bytes)"
}

# fm_quiet TAG - the runtime printed nothing (no warning, no mimalloc
# message) on stderr.
fm_quiet() {
	if grep -E '^farmem\[|mimalloc:' "$fm_tmp/$1.err" >/dev/null; then
		fm_fail "$1: unexpected messages on stderr"
		grep -E '^farmem\[|mimalloc:' "$fm_tmp/$1.err" | head -n 5
		return 1
	fi
	return 0
}

# fm_stat TAG FIELD - sum of FIELD ("allocations", "frees", ...) over the
# statistics files of run TAG (one per process); empty if there are none.
fm_stat() {
	set -- "$1" "$2" "$fm_tmp/$1".stats.*
	[ -f "$3" ] || return 0
	fm_f=$2
	shift 2
	awk -v f="$fm_f" '
		substr($0, 1, 2) == "  " && substr($0, 3, length(f)) == f &&
		substr($0, 3 + length(f), 1) == " " { s += $2 }
		END { print s + 0 }' "$@"
}

# fm_stat_bytes TAG FIELD - the largest "FIELD  12.3 MiB" over the
# statistics files of run TAG, in bytes (0 if none).
fm_stat_bytes() {
	set -- "$1" "$2" "$fm_tmp/$1".stats.*
	[ -f "$3" ] || { echo 0; return 0; }
	fm_f=$2
	shift 2
	awk -v f="$fm_f" '
		substr($0, 1, 2) == "  " && substr($0, 3, length(f)) == f &&
		substr($0, 3 + length(f), 1) == " " {
			rest = substr($0, 3 + length(f))
			split(rest, w, " ")
			m = 1
			if (w[2] == "KiB") m = 1024
			if (w[2] == "MiB") m = 1048576
			if (w[2] == "GiB") m = 1073741824
			if (w[2] == "TiB") m = 1099511627776
			v = w[1] * m
			if (v > max) max = v
		}
		END { printf "%.0f\n", max + 0 }' "$@"
}

# fm_peak_at_least TAG MIB - run TAG had at least MIB MiB live at once on
# the managed heap ("bytes live at peak").
fm_peak_at_least() {
	fm_b=$(fm_stat_bytes "$1" "bytes live at peak")
	if [ "$fm_b" -ge $(($2 * 1048576)) ]; then
		fm_ok "$1: $((fm_b / 1048576)) MiB live at peak on the managed heap"
	else
		fm_fail "$1: only $fm_b bytes live at peak on the managed heap, want >= $2 MiB"
	fi
}

# fm_stat_files TAG - how many processes of run TAG wrote statistics.
fm_stat_files() {
	set -- "$fm_tmp/$1".stats.*
	[ -f "$1" ] || { echo 0; return; }
	echo $#
}

# fm_used_heap TAG MIN - run TAG served at least MIN allocations from the
# managed heap (needs FARMEM_STATS=1 in that run).
fm_used_heap() {
	fm_n=$(fm_stat "$1" allocations)
	if [ -z "$fm_n" ]; then
		fm_fail "$1: no statistics written (did the runtime start?)"
		fm_show "$1"
		return 1
	fi
	if [ "$fm_n" -lt "$2" ]; then
		fm_fail "$1: only $fm_n allocations on the managed heap, want >= $2"
		return 1
	fi
	fm_ok "$1: $fm_n allocations on the managed heap"
}

# fm_paged TAG - in a tight-budget run, the statistics show the budget;
# with FM_EXPECT_PAGING=1 the pager must also have evicted pages (the
# program's heap did not fit, and its output is still right).
fm_paged() {
	fm_ev=$(fm_stat_bytes "$1" evicted)
	fm_bu=$(grep -h 'resident peak' "$fm_tmp/$1".stats.* 2>/dev/null |
		head -n 1 | sed 's/^ *resident peak *//')
	if [ -z "$fm_bu" ]; then
		fm_fail "$1: no pager statistics with FARMEM_LOCAL_MEM=$FM_BUDGET"
		return 1
	fi
	if [ "${FM_EXPECT_PAGING:-0}" = 1 ] && [ "$fm_ev" -eq 0 ]; then
		fm_fail "$1: nothing evicted with FARMEM_LOCAL_MEM=$FM_BUDGET"
		return 1
	fi
	fm_ok "$1: resident peak $fm_bu, $((fm_ev / 1048576)) MiB evicted"
}

fm_profile_has_stats() {
	case " $(fm_profile_env "$1") " in
	*" FARMEM_STATS=1 "*) return 0 ;;
	esac
	return 1
}

# fm_profiles_wanted - the profiles for the next fm_compare: those of
# FM_RUN_PROFILES (a test's choice) that are in FM_PROFILES (what this
# machine and FM_TEST_PROFILE allow), or all of FM_PROFILES.
fm_profiles_wanted() {
	if [ -z "${FM_RUN_PROFILES:-}" ]; then
		echo "$FM_PROFILES"
		return
	fi
	for fm_w in $FM_RUN_PROFILES; do
		case " $FM_PROFILES " in
		*" $fm_w "*) printf '%s ' "$fm_w" ;;
		esac
	done
	echo
}

# fm_compare NAME MIN_ALLOCS CMD ARGS... - the standard test of a program:
# reference run, one run per profile, one verbose run with statistics; each
# must match the reference, be quiet (except verbose), and use the heap.
# FM_RUN_PROFILES limits the profiles; FM_NO_VERBOSE=1 leaves out the
# verbose run.
fm_compare() {
	fm_cname=$1
	fm_min=$2
	shift 2
	fm_plain "$fm_cname.ref" "$@"
	fm_ref_rc=$fm_rc
	if [ "$fm_ref_rc" -ne 0 ] && [ -z "${FM_ALLOW_FAILURE:-}" ]; then
		fm_fail "$fm_cname: the reference run (no preload) failed: $fm_ref_rc"
		fm_show "$fm_cname.ref"
		return 1
	fi
	for fm_p in $(fm_profiles_wanted); do
		# shellcheck disable=SC2046
		fm_farmem "$fm_cname.$fm_p" $(fm_profile_env "$fm_p") "$@"
		fm_same "$fm_cname.ref" "$fm_cname.$fm_p" "$fm_ref_rc" &&
			fm_quiet "$fm_cname.$fm_p"
		if fm_profile_has_stats "$fm_p"; then
			fm_used_heap "$fm_cname.$fm_p" "$fm_min"
		fi
		if [ "$fm_p" = tight ]; then
			fm_paged "$fm_cname.$fm_p"
		fi
		rm -f "$fm_tmp/$fm_cname.$fm_p.out"
	done
	if [ "${FM_NO_VERBOSE:-0}" = 1 ]; then
		rm -f "$fm_tmp/$fm_cname.ref.out"
		return 0
	fi
	fm_farmem "$fm_cname.verbose" FARMEM_VERBOSE=1 FARMEM_STATS=1 "$@"
	fm_same "$fm_cname.ref" "$fm_cname.verbose" "$fm_ref_rc"
	if grep 'options in force' "$fm_tmp/$fm_cname.verbose.err" >/dev/null; then
		fm_ok "$fm_cname.verbose: options printed"
	else
		fm_fail "$fm_cname.verbose: FARMEM_VERBOSE=1 printed no options"
		fm_show "$fm_cname.verbose"
	fi
	fm_used_heap "$fm_cname.verbose" "$fm_min"
	rm -f "$fm_tmp/$fm_cname.verbose.out" "$fm_tmp/$fm_cname.ref.out"
}

# fm_expect_in TAG STREAM PATTERN WHAT - grep -E PATTERN in TAG.STREAM.
fm_expect_in() {
	if grep -E -- "$3" "$fm_tmp/$1.$2" >/dev/null; then
		fm_ok "$1: $4"
	else
		fm_fail "$1: $4 (no /$3/ in $2)"
		fm_show "$1"
	fi
}

# fm_expect_rc TAG RC WHAT
fm_expect_rc() {
	if [ "$fm_rc" -eq "$2" ]; then
		fm_ok "$1: $3"
	else
		fm_fail "$1: $3 (exit status $fm_rc, want $2)"
		fm_show "$1"
	fi
}

# The tight profile needs the pager, hence userfaultfd: without the
# privilege, farmem refuses to start with a budget. Then that profile is
# left out (and said so), not failed.
case " $FM_PROFILES " in
*" tight "*)
	if [ -x "$FM_BIN/startup" ]; then
		fm_run uffd-probe LD_PRELOAD="$FM_LIB" FARMEM_LOCAL_MEM=16M \
			"$FM_BIN/startup" simple
		if [ "$fm_rc" -ne 0 ] &&
			grep -i userfaultfd "$fm_tmp/uffd-probe.err" >/dev/null; then
			echo "note: profile tight left out: $(grep -i -m 1 userfaultfd "$fm_tmp/uffd-probe.err")"
			FM_PROFILES=$(echo " $FM_PROFILES " | sed 's/ tight / /')
		fi
	fi
	;;
esac

echo "$fm_name: profiles: $FM_PROFILES; library $FM_LIB"
