#!/bin/sh
# SPDX-License-Identifier: MIT
# 9. a Python job: a dict of about 1.2 M entries (tuples, strings, lists)
# built, walked and updated under a 64 MiB budget; CPython's own arenas
# (anonymous mmap) are managed too, or the peak-RSS check fails.
#
# 120 MiB of objects by default (about 180 MiB resident without farmem,
# 2.8x the budget): CPython's full garbage collections walk every object
# over and over, so the run under the budget is 5x the reference at this
# size and 5x more at 200 (about 20 s, too long for make check). Set
# FMP_PYTHON_MIB=200 for the bigger job.
. "$(dirname "$0")/pager_lib.sh"

[ -n "$FM_PYTHON" ] || fm_skip "no python3"
fmp_need_uffd
fmp_baseline python.tiny "$FM_PYTHON" "$FMP_SRC/bigdict.py" 1
fmp_compare python 64 "$FM_PYTHON" "$FMP_SRC/bigdict.py" \
	"${FMP_PYTHON_MIB:-120}"
fm_finish
