#!/bin/sh
# SPDX-License-Identifier: MIT
# Start-up, thread and exit edge cases (startup.c), a region that runs
# out, pointers nobody allocated, and an address-space limit too small for
# the default region.
. "$(dirname "$0")/lib.sh"

fm_need_bin startup
prog=$FM_BIN/startup

# compared with glibc
fm_compare threads 500 "$prog" threads
fm_compare tls 100 "$prog" tls
fm_compare atexit 100 "$prog" atexit
fm_compare exit-thread 50 "$prog" exit-thread

# farmem only: glibc would abort
fm_farmem foreign FARMEM_STATS=1 "$prog" foreign
fm_expect_rc foreign 0 "free() of static and stack pointers survived"
fm_expect_in foreign out 'counter \+3$' "foreign frees counted"
fm_expect_in foreign out 'heap still works' "heap works afterwards"
fm_quiet foreign

# farmem only: glibc would allocate until the machine runs out
fm_farmem exhaust FARMEM_REGION=64M "$prog" exhaust
fm_expect_rc exhaust 0 "region exhaustion survived"
fm_expect_in exhaust out 'region 64 MiB' "FARMEM_REGION=64M in force"
fm_expect_in exhaust out 'then NULL with ENOMEM$' "malloc: NULL, ENOMEM"
fm_expect_in exhaust out 'most of it allocates again' \
	"memory comes back after free"
fm_quiet exhaust && fm_ok "exhaust: nothing printed by malloc"

# The statistics table reaches stderr even when the program closed its
# stderr at exit (coreutils' close_stdout closes both).
if command -v ls >/dev/null 2>&1; then
	fm_farmem ls-stats FARMEM_STATS=1 FARMEM_STATS_FILE= ls /
	fm_expect_rc ls-stats 0 "ls ran"
	fm_expect_in ls-stats err 'statistics for ls' \
		"FARMEM_STATS=1 ls: statistics on stderr"
fi

# An address-space limit (ulimit -v) too small for the default 1 TiB
# region. The limit applies to the shell started without the preload,
# which then execs the program with it.
limit_kb=2097152
limited='ulimit -v "$0" || exit 99; LD_PRELOAD="$1"; export LD_PRELOAD; shift 2; exec "$@"'
fm_plain simple.ref "$prog" simple

fm_run ulimit-refuse FM_TEST_EXPECT_MANAGED=1 \
	sh -c "$limited" $limit_kb "$FM_LIB" x "$prog" simple
if [ "$fm_rc" -eq 99 ]; then
	fm_skip "ulimit -v is not permitted here"
fi
if [ "$fm_rc" -ne 0 ]; then
	fm_ok "ulimit -v: refused to start without FARMEM_FALLBACK (exit $fm_rc)"
else
	fm_fail "ulimit -v: started although the region cannot be reserved"
	fm_show ulimit-refuse
fi
fm_expect_in ulimit-refuse err 'FARMEM_REGION' "the message names FARMEM_REGION"
if [ -s "$fm_tmp/ulimit-refuse.out" ]; then
	fm_fail "ulimit -v: the program ran although farmem refused"
fi

fm_run ulimit-pass FARMEM_FALLBACK=passthrough \
	sh -c "$limited" $limit_kb "$FM_LIB" x "$prog" simple
fm_same simple.ref ulimit-pass 0
fm_expect_in ulimit-pass err 'farmem.*(cannot start|libc)' \
	"FARMEM_FALLBACK=passthrough: a warning, then libc"

# a region that fits under the limit is fine
fm_run ulimit-small FARMEM_REGION=256M FM_TEST_EXPECT_MANAGED=1 \
	sh -c "$limited" $limit_kb "$FM_LIB" x "$prog" simple
fm_same simple.ref ulimit-small 0 && fm_quiet ulimit-small
fm_finish
