#!/bin/sh
# SPDX-License-Identifier: MIT
# farmem-run: the wrapper starts a program under the runtime; its children
# get their own runtime, or libc with FARMEM_CHILDREN=plain.
. "$(dirname "$0")/lib.sh"

fm_need_cmd sh seq sort tail
fm_need_bin probe
[ -x "$FM_RUN" ] || fm_skip "$FM_RUN is not built"
fm_run version "$FM_RUN" --version
if [ "$fm_rc" -ne 0 ] || ! grep farmem "$fm_tmp/version.out" \
	"$fm_tmp/version.err" >/dev/null; then
	fm_skip "farmem-run --version fails or prints no version (exit $fm_rc): farmem-run is not written yet"
fi

fm_run run-farmem FM_TEST_EXPECT_MANAGED=1 "$FM_RUN" "$FM_BIN/probe" main \
	"$FM_BIN/probe" child
fm_expect_rc run-farmem 0 "farmem-run probe"
fm_expect_in run-farmem out '^main: managed$' "main program managed"
fm_expect_in run-farmem out '^child: managed$' "child managed"

fm_run run-plain FARMEM_CHILDREN=plain "$FM_RUN" "$FM_BIN/probe" main \
	"$FM_BIN/probe" child
fm_expect_rc run-plain 0 "farmem-run probe, FARMEM_CHILDREN=plain"
fm_expect_in run-plain out '^main: managed$' "main program managed"
fm_expect_in run-plain out '^child: libc$' "child on libc"

pipeline='seq 1 100000 | sort -rn | tail -n 1'
fm_plain pipe.ref sh -c "$pipeline"
fm_run pipe FARMEM_STATS=1 FARMEM_STATS_FILE="$fm_tmp/pipe.stats.%p" \
	"$FM_RUN" sh -c "$pipeline"
fm_same pipe.ref pipe 0 && fm_quiet pipe
fm_used_heap pipe 100
fm_run pipe-plain FARMEM_CHILDREN=plain FARMEM_STATS=1 \
	FARMEM_STATS_FILE="$fm_tmp/pipe-plain.stats.%p" \
	"$FM_RUN" sh -c "$pipeline"
fm_same pipe.ref pipe-plain 0
# seq, sort, tail ran on libc; sh may or may not write its statistics
# (dash leaves with _exit())
n=$(fm_stat_files pipe-plain)
if [ "$n" -le 1 ]; then
	fm_ok "FARMEM_CHILDREN=plain: the children did not run the runtime"
else
	fm_fail "FARMEM_CHILDREN=plain: $n processes ran the runtime, want <= 1"
fi
fm_finish
