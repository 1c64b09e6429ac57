#!/bin/sh
# SPDX-License-Identifier: MIT
# Known failure (see Makefile.include): as daemon.sh, but parent and daemon
# both call close_range(3, ~0U, 0) and closefrom(3). It passes, but each of
# those calls takes seconds under the preload.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog daemon
fmp_detached daemon_all.tiny fmp_baseline daemon_all.tiny "$FMP_BIN/daemon" 1 all
fmp_compare_detached daemon_all 32 "$FMP_BIN/daemon" 64 all
fm_finish
