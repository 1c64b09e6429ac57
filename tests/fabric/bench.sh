#!/bin/sh
# SPDX-License-Identifier: MIT
# Not a test: raw transfer speed of each backend (fabric/bench-fabric) on
# this machine, the server on loopback. Run from the build directory:
#   sh $srcdir/tests/fabric/bench.sh [ITERS]
# Compare with DESIGN.md "Mechanisms, and what they cost here".
abs_top_srcdir=${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$abs_top_srcdir/tests/fabric/lib.sh"

iters=${1:-20000}
bench=$abs_top_builddir/fabric/bench-fabric
[ -x "$bench" ] || fail "$bench not built (make fabric/bench-fabric)"
"$bench" memfd "" "$iters" || fail "memfd"
for prov in tcp shm; do
	fab_start_server --size 256M --provider "$prov"
	"$bench" ofi "$SERVER_ADDR" "$iters" || fail "$prov"
	fab_stop_server TERM
done
