#!/bin/sh
# SPDX-License-Identifier: MIT
# CPython under the preload: a dict of 10^6 entries, a JSON round trip,
# sorting; once with pymalloc (small objects in its own mmap arenas) and
# once with PYTHONMALLOC=malloc (every object from our malloc).
. "$(dirname "$0")/lib.sh"

[ -n "$FM_PYTHON" ] || fm_skip "python3 is not installed (/usr/bin/python3)"

fm_compare python 5000 PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
	"$FM_PYTHON" "$FM_SRC/dict_json.py" 1000000
fm_compare python-malloc 1000000 PYTHONHASHSEED=0 \
	PYTHONDONTWRITEBYTECODE=1 PYTHONMALLOC=malloc \
	"$FM_PYTHON" "$FM_SRC/dict_json.py" 200000
fm_finish
