#!/bin/sh
# SPDX-License-Identifier: MIT
# mprotect() on anonymous mappings that the runtime serves from the region
# under a budget (mapping.c has the details):
#  - guard: a PROT_NONE guard page at the start of a 1 MiB mapping (as
#    coroutine stacks have), then munmap: the memory goes back to the heap
#    writable again;
#  - readonly: the same with the whole mapping PROT_READ, evicted and read
#    back first;
#  - pinned: a 1 MiB PROT_READ mapping kept while 256 MiB are written and
#    read: its pages are evicted too (copied out, as UFFDIO_MOVE takes only
#    writable pages), so the heap stays within its 32 MiB budget; they come
#    back right through write(2), and again once made writable and
#    rewritten.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fmp_need_prog mapping
fmp_baseline mprotect.tiny "$FMP_BIN/mapping" 1 pinned
fmp_compare guard 32 "$FMP_BIN/mapping" 64 guard
fmp_compare readonly 32 "$FMP_BIN/mapping" 64 readonly
fmp_compare pinned 32 "$FMP_BIN/mapping" 256 pinned
fm_finish
