#!/bin/sh
# SPDX-License-Identifier: MIT
# 3. system calls on evicted buffers: write(2) to a file and pread(2) back,
# a pipe, writev/readv over a socketpair; 64 MiB buffers under a 32 MiB
# budget, so the kernel's own accesses fault and must be served.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog syscalls
fmp_baseline syscalls.tiny "$FMP_BIN/syscalls" 1 "$fm_tmp"
fmp_compare syscalls 32 "$FMP_BIN/syscalls" 64 "$fm_tmp"
fm_finish
