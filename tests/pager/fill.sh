#!/bin/sh
# SPDX-License-Identifier: MIT
# 1. fill: 256 MiB of patterned blocks of mixed sizes under a 32 MiB budget
# (8x), random re-reads and rewrites, every byte verified at the end; once
# more with victims chosen at random.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_baseline fill.tiny "$FMP_BIN/fill" 1
fmp_compare fill 32 "$FMP_BIN/fill" 256
# victims at random (FARMEM_VICTIM, for benchmarks): the same answers
fmp_env=FARMEM_VICTIM=random
fmp_compare fill-random 32 "$FMP_BIN/fill" 256
fm_finish
