#!/bin/sh
# SPDX-License-Identifier: MIT
# 8. free and realloc (bigger, smaller) of evicted blocks, 128 MiB under a
# 32 MiB budget; contents verified, calloc'ed reuse reads as zeros, and the
# pager dropped the freed large blocks' pages ("dropped by free").
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog freerealloc
fmp_baseline freerealloc.tiny "$FMP_BIN/freerealloc" 1
fmp_compare freerealloc 32 "$FMP_BIN/freerealloc" 128
fmp_check_stat freerealloc.fm "dropped by free"
fm_finish
