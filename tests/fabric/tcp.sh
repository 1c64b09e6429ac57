#!/bin/sh
# SPDX-License-Identifier: MIT
# conform.sh over the tcp provider (tcp;ofi_rxm).
FAB_PROVIDER=tcp exec "${SHELL:-/bin/sh}" "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/conform.sh"
