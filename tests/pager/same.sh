#!/bin/sh
# SPDX-License-Identifier: MIT
# same-filled pages: a 64 MiB block of zero pages, pages of one repeated
# word and data pages under a 16 MiB budget, read back at random, a third
# of the pages changed to another kind, all checked again. Same answers
# as without farmem, and some pages must have left as one word.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog same
fmp_baseline same.tiny "$FMP_BIN/same" 1
fmp_compare same 16 "$FMP_BIN/same" 64
fmp_check_stat same.fm "same-filled evicted"
fm_finish
