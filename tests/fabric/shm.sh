#!/bin/sh
# SPDX-License-Identifier: MIT
# conform.sh over the shm provider (same host).
FAB_PROVIDER=shm exec "${SHELL:-/bin/sh}" "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/conform.sh"
