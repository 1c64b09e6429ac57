#!/bin/sh
# SPDX-License-Identifier: MIT
# 6. a stdio buffer evicted, then flushed at exit: 6 MiB of output in an
# 8 MiB setvbuf buffer, 128 MiB touched after it under a 32 MiB budget;
# exit() flushes it from evicted memory.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog stdio
fmp_baseline stdio.tiny "$FMP_BIN/stdio" 1
# the buffer comes back while exit flushes it, after the statistics are
# printed (and the 128 MiB, one byte repeated, leave as one word each):
# what proves the flush is the output, and the program's check that the
# buffer was out
fmp_paged=evicted
fmp_compare stdio 32 "$FMP_BIN/stdio" 128
fm_finish
