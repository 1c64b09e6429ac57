#!/bin/sh
# SPDX-License-Identifier: MIT
# Known failure (see Makefile.include): 2000 forks of a child that exits at
# once, the parent rewriting a block after each, 24 MiB under a 16 MiB
# budget in a 128 MiB region (FARMEM_REGION, as small as such a program
# may set it; the default 1 TiB region only takes longer to fail).
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog fork
fmp_baseline forkloop.tiny "$FMP_BIN/fork" 1 loop 10
fmp_env=FARMEM_REGION=128M
fmp_compare forkloop 16 "$FMP_BIN/fork" 24 loop 2000
fm_finish
