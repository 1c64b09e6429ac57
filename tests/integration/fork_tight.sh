#!/bin/sh
# SPDX-License-Identifier: MIT
# fork_heap.c under a budget below its heap: the pager is paused across
# fork, pages are brought home for the child; forks while other threads
# allocate must not leave a child stuck in a userfaultfd fault.
# A normal run takes seconds: a hang is a deadlock, not slowness.
: "${FM_TEST_TIMEOUT:=60}"
. "$(dirname "$0")/lib.sh"

fm_need_bin fork_heap
case " $FM_PROFILES " in
*" tight "*) ;;
*) fm_skip "the tight profile is not available (userfaultfd) or not selected" ;;
esac
# 32 MiB for a heap of about 45 MiB (a 32 MiB block among others)
FM_RUN_PROFILES=tight FM_NO_VERBOSE=1 FM_BUDGET=32M FM_EXPECT_PAGING=1
fm_compare fork-tight 2000 "$FM_BIN/fork_heap"
fm_finish
