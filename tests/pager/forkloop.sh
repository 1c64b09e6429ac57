#!/bin/sh
# SPDX-License-Identifier: MIT
# 2000 forks of a child that exits at once, the parent rewriting a block
# after each, 24 MiB under a 16 MiB budget in a 128 MiB region
# (FARMEM_REGION, as small as such a program may set it). Every fork
# freezes the far chunks it shares, so the parent allocates new ones all
# the time: their indexes must be reused once the old ones are released
# (else a long-lived forking program runs out of them, "far memory is
# full"), i.e. the chunks held at once stay far below those allocated.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog fork
fmp_baseline forkloop.tiny "$FMP_BIN/fork" 1 loop 10
fmp_env=FARMEM_REGION=128M
fmp_compare forkloop 16 "$FMP_BIN/fork" 24 loop 2000
# "far chunks  A allocated, at most H held", the largest of each
set -- $(awk '$1 == "far" && $2 == "chunks" {
		if ($3 > a) a = $3; if ($7 > h) h = $7 }
	END { print a + 0, h + 0 }' "$fm_tmp"/forkloop.fm.stats.*)
if [ "$1" -ge 400 ] && [ "$2" -le $(($1 / 4)) ]; then
	fm_ok "forkloop.fm: $1 far chunks allocated, at most $2 held: indexes reused"
else
	fm_fail "forkloop.fm: $1 far chunks allocated, at most $2 held (want >= 400 and <= 1/4 of them)"
fi
fm_finish
