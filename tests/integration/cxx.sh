#!/bin/sh
# SPDX-License-Identifier: MIT
# A C++ program (cxx_alloc.cc) under the preload: containers, over-aligned
# new, cross-thread deletes, thread_local destructors, bad_alloc.
. "$(dirname "$0")/lib.sh"

fm_need_bin cxx_alloc
# tight: 16 MiB for a heap of about 26 MiB
FM_BUDGET=16M FM_EXPECT_PAGING=1
fm_compare cxx 100000 "$FM_BIN/cxx_alloc"
fm_finish
