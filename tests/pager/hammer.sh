#!/bin/sh
# SPDX-License-Identifier: MIT
# 7. four threads hammering a shared array of checksummed blocks with
# random reads and writes: 160 MiB under a 16 MiB budget (10%).
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog hammer
fmp_baseline hammer.tiny "$FMP_BIN/hammer" 1 100
fmp_compare hammer 16 "$FMP_BIN/hammer" 160 5000
fm_finish
