#!/bin/sh
# SPDX-License-Identifier: MIT
# Four threads stressing the malloc family (stress.c) under the preload.
. "$(dirname "$0")/lib.sh"

fm_need_bin stress
# tight: 24 MiB for about 54 MiB live at peak
FM_BUDGET=24M FM_EXPECT_PAGING=1
fm_compare stress 50000 "$FM_BIN/stress" 25000
fm_finish
