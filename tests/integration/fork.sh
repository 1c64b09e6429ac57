#!/bin/sh
# SPDX-License-Identifier: MIT
# fork without exec (fork_heap.c): the child reads and changes its copy of
# the heap, the parent's stays; churning children; forks under load.
# (The same under a budget: fork_tight.sh.)
. "$(dirname "$0")/lib.sh"

fm_need_bin fork_heap
FM_RUN_PROFILES="default stats4g"
fm_compare fork 2000 "$FM_BIN/fork_heap"
fm_finish
