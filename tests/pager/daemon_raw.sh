#!/bin/sh
# SPDX-License-Identifier: MIT
# 5b. as daemon.sh, but the descriptors are closed with the close_range
# system call itself (syscall(SYS_close_range, 3, ~0U, 0)), as programs
# written before glibc 2.34 had the wrapper do. An interposed close_range()
# cannot see that call. Known failure (see Makefile.include).
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog daemon
fmp_detached daemon_raw.tiny fmp_baseline daemon_raw.tiny "$FMP_BIN/daemon" 1 raw
fmp_compare_detached daemon_raw 32 "$FMP_BIN/daemon" 64 raw
fm_finish
