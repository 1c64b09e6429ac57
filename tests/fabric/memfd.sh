#!/bin/sh
# SPDX-License-Identifier: MIT
# The in-process backend against the backend contract.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

"$FAB_CONFORM" memfd "" || fail "memfd conformance"
"$FAB_CONFORM" memfd 64M enospc=32 || fail "memfd pool full"
"$FAB_CONFORM" memfd size=2M enospc=1 || fail "memfd one-chunk pool"
exit 0
