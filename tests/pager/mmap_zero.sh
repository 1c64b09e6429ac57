#!/bin/sh
# SPDX-License-Identifier: MIT
# Known failure (see Makefile.include): anonymous mappings of 64 KiB to
# 2 MiB made among malloc/free of dirty blocks, each grown with
# mremap(MREMAP_MAYMOVE): what mremap adds must read as zeros, as the
# kernel gives. Under a budget, mappings are served from the region, and
# a growth in place exposes stale heap data.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog mapping
fmp_baseline mmap_zero.tiny "$FMP_BIN/mapping" 1 churn
fmp_compare mmap_zero 32 "$FMP_BIN/mapping" 64 churn
fm_finish
