#!/bin/sh
# SPDX-License-Identifier: MIT
# 2. concurrent writers while evictions run: four threads increment counters
# in their own blocks, 128 MiB in all under a 32 MiB budget (4x); no write
# may be lost.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog writers
fmp_baseline writers.tiny "$FMP_BIN/writers" 1 1
fmp_compare writers 32 "$FMP_BIN/writers" 128 2
fm_finish
