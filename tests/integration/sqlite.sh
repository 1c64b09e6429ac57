#!/bin/sh
# SPDX-License-Identifier: MIT
# The sqlite3 shell under the preload: an in-memory table of 10^5 rows
# from a recursive CTE, indexes, aggregates, a join, updates and deletes.
. "$(dirname "$0")/lib.sh"

fm_need_cmd sqlite3

FM_STDIN=$FM_SRC/sqlite.sql
# tight: 16 MiB for a heap of about 28 MiB
FM_BUDGET=16M FM_EXPECT_PAGING=1
fm_compare sqlite 50000 sqlite3 -batch :memory:
fm_finish
