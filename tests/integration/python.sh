#!/bin/sh
# SPDX-License-Identifier: MIT
# CPython under the preload: a dict of 10^6 entries, a JSON round trip,
# sorting; with pymalloc (small objects in its own arenas, which farmem
# serves from the region) and with PYTHONMALLOC=malloc (every object from
# our malloc). Under a tight budget, a smaller dict (its heap is still
# four times the budget).
. "$(dirname "$0")/lib.sh"

[ -n "$FM_PYTHON" ] || fm_skip "python3 is not installed (/usr/bin/python3)"

FM_RUN_PROFILES="default stats4g"
fm_compare python 5000 PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
	"$FM_PYTHON" "$FM_SRC/dict_json.py" 1000000
fm_compare python-malloc 1000000 PYTHONHASHSEED=0 \
	PYTHONDONTWRITEBYTECODE=1 PYTHONMALLOC=malloc \
	"$FM_PYTHON" "$FM_SRC/dict_json.py" 200000

# tight: 32 MiB for a process of about 120 MiB
FM_RUN_PROFILES=tight FM_NO_VERBOSE=1 FM_BUDGET=32M FM_EXPECT_PAGING=1
fm_compare python-tight 1000 PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
	"$FM_PYTHON" "$FM_SRC/dict_json.py" 200000
fm_finish
