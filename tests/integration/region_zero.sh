#!/bin/sh
# SPDX-License-Identifier: MIT
# FARMEM_REGION=0 is a bad value like FARMEM_REGION=1M: a warning, the
# default region stands, and the program runs on the managed heap. (It
# must not pass option checking and then fail start-up.)
. "$(dirname "$0")/lib.sh"

fm_need_bin startup
prog=$FM_BIN/startup
fm_plain ref "$prog" simple
fm_farmem region-0 FARMEM_REGION=0 "$prog" simple
fm_same ref region-0 0
fm_expect_in region-0 err 'FARMEM_REGION=0' "FARMEM_REGION=0 warned"
fm_finish
