#!/bin/sh
# SPDX-License-Identifier: MIT
# 11. bad budgets: below the minimum (farmem-run --local-mem 1M and
# FARMEM_LOCAL_MEM=1M) is refused before the program runs, and the message
# names the minimum; a budget above the machine's memory is accepted
# (farmem-run warns) and the program runs as usual.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_prog fill
[ -x "$FM_RUN" ] || fm_error "$FM_RUN is not built"
prog=$FMP_BIN/fill
fm_plain ref "$prog" 4

# below the minimum: refused, the minimum named (16 MiB, as "16.0 MiB" or
# "16M"), the program not run
fm_plain run-1m "$FM_RUN" --local-mem 1M "$prog" 4
fm_expect_rc run-1m 2 "farmem-run --local-mem 1M: refused (usage error)"
fm_expect_in run-1m err 'minimum.*(16\.0 MiB|16M)' \
	"farmem-run --local-mem 1M: the message names the minimum"
[ -s "$fm_tmp/run-1m.out" ] && fm_fail "run-1m: the program ran"

fm_farmem env-1m FARMEM_LOCAL_MEM=1M "$prog" 4
if [ "$fm_rc" -ne 0 ]; then
	fm_ok "FARMEM_LOCAL_MEM=1M: refused to start (exit $fm_rc)"
else
	fm_fail "FARMEM_LOCAL_MEM=1M: started anyway"
fi
fm_expect_in env-1m err 'FARMEM_LOCAL_MEM=1M.*minimum.*(16\.0 MiB|16M)' \
	"FARMEM_LOCAL_MEM=1M: the message names the variable and the minimum"
[ -s "$fm_tmp/env-1m.out" ] && fm_fail "env-1m: the program ran"

# just below the minimum, in another unit: refused too
fm_plain run-16383k "$FM_RUN" --local-mem 16383K "$prog" 4
fm_expect_rc run-16383k 2 "farmem-run --local-mem 16383K: refused"

# above the machine's memory: twice MemTotal, in GiB (the pager must run)
fmp_have_uffd || {
	echo "note: a budget above the machine's memory not tried: $fmp_no_uffd"
	fm_finish
}
mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)
[ -n "$mem_kb" ] || fm_error "no MemTotal in /proc/meminfo"
big=$((mem_kb * 2 / 1048576 + 1))G
fm_plain run-big "$FM_RUN" --local-mem "$big" --stats-file \
	"$fm_tmp/run-big.stats.%p" "$prog" 4
fm_same ref run-big 0
fm_expect_in run-big err "more than this machine's memory" \
	"farmem-run --local-mem $big: warned that it exceeds the machine's memory"
if grep "budget $((${big%G})).0 GiB" "$fm_tmp"/run-big.stats.* >/dev/null 2>&1; then
	fm_ok "run-big: the pager ran with the $big budget"
else
	fm_fail "run-big: no pager with a $big budget in the statistics"
	cat "$fm_tmp"/run-big.stats.* 2>/dev/null
fi

# the same budget set directly: runs (farmem(7) promises no warning here)
fm_farmem env-big FARMEM_LOCAL_MEM="$big" FARMEM_STATS=1 "$prog" 4
fm_same ref env-big 0
fm_finish
