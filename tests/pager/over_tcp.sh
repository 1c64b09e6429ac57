#!/bin/sh
# SPDX-License-Identifier: MIT
# The pager's tests with evicted pages on a farmem-server, provider tcp.
FM_TEST_BACKEND=tcp
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/pager/backend.sh"
