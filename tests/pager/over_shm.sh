#!/bin/sh
# SPDX-License-Identifier: MIT
# The pager's tests with evicted pages on a farmem-server, provider shm.
FM_TEST_BACKEND=shm
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/pager/backend.sh"
