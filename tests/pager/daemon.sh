#!/bin/sh
# SPDX-License-Identifier: MIT
# 5. a daemon's start: every descriptor above 2 closed (close() up to 1024,
# then close_range(3, ~0U, 0)), evicted memory touched, fork + setsid, the
# parent exits, the daemon closes everything again (close() up to 1024),
# verifies its evicted data and writes its verdict to a file. 64 MiB
# under a 32 MiB budget. (closefrom() in both: daemon_all.sh, a known
# failure for its time.)
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog daemon
fmp_detached daemon.tiny fmp_baseline daemon.tiny "$FMP_BIN/daemon" 1 libc
fmp_compare_detached daemon 32 "$FMP_BIN/daemon" 64 libc
fm_finish
