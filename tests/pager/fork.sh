#!/bin/sh
# SPDX-License-Identifier: MIT
# 4. fork with 64 MiB of data under a 32 MiB budget, most of it evicted:
#  - the child verifies the parent's data and rewrites it; the parent,
#    meanwhile rewriting half of its own, sees none of the child's writes;
#    once more after threads have come and gone;
#  - the parent exits first, the child verifies later (its verdict in a
#    file, waited for with a bounded loop);
#  - children that exec a shell (fork + exec, system, popen).
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog fork
fmp_baseline fork.tiny "$FMP_BIN/fork" 1 mutate

fmp_compare fork-mutate 32 "$FMP_BIN/fork" 64 mutate
# the same after threads came and went (glibc reuses their cached stacks,
# and the DTVs it malloc'ed for them, when the child starts its pager)
fmp_compare fork-threads 32 "$FMP_BIN/fork" 64 threads
fmp_compare fork-exec 32 "$FMP_BIN/fork" 64 exec

# orphan: the parent exits at once; the child verifies later
fmp_compare_detached fork-orphan 32 "$FMP_BIN/fork" 64 orphan
fm_finish
