#!/bin/sh
# SPDX-License-Identifier: MIT
# Four threads stressing the malloc family (stress.c) under the preload.
. "$(dirname "$0")/lib.sh"

fm_need_bin stress
fm_compare stress 50000 "$FM_BIN/stress" 40000
fm_finish
