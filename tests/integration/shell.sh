#!/bin/sh
# SPDX-License-Identifier: MIT
# fork + exec: shell pipelines where every program runs under the preload
# (LD_PRELOAD is inherited), and FARMEM_CHILDREN=plain with the main
# program named by FARMEM_MAIN_PID (what farmem-run sets up), done by hand.
. "$(dirname "$0")/lib.sh"

fm_need_cmd sh seq sort tail uniq wc awk
fm_need_bin probe

pipeline='seq 1 100000 | sort -n | tail -n 1
seq 1 200000 | sort -rn | uniq | wc -l
seq 1 50000 | awk "{ s += \$1 } END { print s }"
x=$(seq 1 10 | tr "\n" " "); echo "$x"'

fm_compare pipeline 100 sh -c "$pipeline"
# each program wrote its own statistics: sh, seq, sort, tail, ...
n=$(fm_stat_files pipeline.verbose)
if [ "$n" -ge 7 ]; then
	fm_ok "pipeline: $n processes ran their own runtime"
else
	fm_fail "pipeline: only $n processes wrote statistics, want >= 7"
fi

# FARMEM_MAIN_PID marks the main program; with FARMEM_CHILDREN=plain the
# programs it starts run on libc.
fm_plain plain.ref sh -c "$pipeline"
fm_farmem plain FARMEM_CHILDREN=plain FARMEM_STATS=1 sh -c \
	'FARMEM_MAIN_PID=$$; export FARMEM_MAIN_PID; exec sh -c "$0"' \
	"$pipeline"
fm_same plain.ref plain 0
# The programs the main one started wrote no statistics (they ran on libc);
# the main one (sh, exec'd by the first sh: one pid) may have written one,
# or none, as dash leaves with _exit().
n=$(fm_stat_files plain)
if [ "$n" -le 1 ]; then
	fm_ok "FARMEM_CHILDREN=plain: the children did not run the runtime"
else
	fm_fail "FARMEM_CHILDREN=plain: $n processes ran the runtime, want <= 1"
fi

main_then_child='FARMEM_MAIN_PID=$$; export FARMEM_MAIN_PID
exec "$0" main "$0" child'
fm_farmem probe-plain FARMEM_CHILDREN=plain sh -c "$main_then_child" \
	"$FM_BIN/probe"
fm_expect_rc probe-plain 0 "probe ran"
fm_expect_in probe-plain out '^main: managed$' "main program managed"
fm_expect_in probe-plain out '^child: libc$' "child on libc (plain)"
fm_farmem probe-farmem sh -c "$main_then_child" "$FM_BIN/probe"
fm_expect_in probe-farmem out '^main: managed$' "main program managed"
fm_expect_in probe-farmem out '^child: managed$' \
	"child managed (FARMEM_CHILDREN=farmem)"
fm_finish
