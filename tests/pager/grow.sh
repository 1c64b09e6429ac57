#!/bin/sh
# SPDX-License-Identifier: MIT
# 10. a large block grown and shrunk under a 32 MiB budget, contents
# verified at every step:
#  - realloc() of a 64 MiB malloc'ed block to 96, 128, 192 MiB, then 32;
#  - the same with mmap() and mremap(MREMAP_MAYMOVE) of an anonymous
#    mapping (served from the managed region), whose grown parts must read
#    as zeros, then a hole unmapped in the middle and the rest.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog grow mapping
fmp_baseline grow.tiny "$FMP_BIN/grow" 2
fmp_compare grow 32 "$FMP_BIN/grow" 64
fmp_baseline mremap.tiny "$FMP_BIN/mapping" 2 remap
fmp_compare mremap 32 "$FMP_BIN/mapping" 64 remap
fm_finish
