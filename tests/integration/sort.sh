#!/bin/sh
# SPDX-License-Identifier: MIT
# GNU sort under the preload on 50 MB of generated lines: in memory with
# its threads, and with a small buffer (temporary files, merges).
. "$(dirname "$0")/lib.sh"

fm_need_cmd sort
fm_need_bin gen_lines

"$FM_BIN/gen_lines" 50000000 42 >"$fm_tmp/input.txt" ||
	fm_error "cannot generate the input"

# sort makes few, large allocations: the input must have lived on the
# managed heap (bytes live at peak), not merely some allocations
# tight: 128 MiB for 50 MB of input and sort's buffers (about 250 MiB)
FM_BUDGET=128M FM_EXPECT_PAGING=1
fm_compare sort 10 LC_ALL=C sort "$fm_tmp/input.txt"
fm_peak_at_least sort.verbose 45
FM_RUN_PROFILES="default stats4g"
fm_compare sort-keys 100 LC_ALL=C TMPDIR="$fm_tmp" sort -S 8M \
	--parallel=2 -k2,2n -k1,1r "$fm_tmp/input.txt"
fm_finish
