#!/bin/sh
# SPDX-License-Identifier: MIT
# fits: a heap that fits its budget is never evicted, also when it comes
# within a few hundred KiB of it (above the low watermark the pager evicts
# down to once pressed, 1/64 of the budget below it). fill 32 is measured
# without pressure; then run again with a budget 180 KiB above its
# resident peak (the HEADROOM of 128 KiB, plus the peak's rounding to
# 0.1 MiB in the statistics): same answers, nothing evicted, no fault for
# an evicted page.
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
fm_plain fits.ref "$FMP_BIN/fill" 32
ref_rc=$fm_rc
[ "$ref_rc" -eq 0 ] || { fm_show fits.ref; fm_error "fill 32 failed without farmem"; }

fm_farmem fits.free FARMEM_LOCAL_MEM=1G FARMEM_STATS=1 "$FMP_BIN/fill" 32
fm_same fits.ref fits.free "$ref_rc"
peak=$(fm_stat_bytes fits.free "resident peak")
[ "$peak" -gt 0 ] || { fm_show fits.free; fm_error "no resident peak in the statistics"; }
budget_kib=$((peak / 1024 + 180))
low_kib=$((budget_kib - budget_kib / 64))
echo "fits: resident peak $((peak / 1024)) KiB; budget $budget_kib KiB, low watermark $low_kib KiB"
[ $((peak / 1024)) -gt "$low_kib" ] ||
	fm_error "the heap does not reach the low watermark: the test proves nothing"

fm_farmem fits.tight FARMEM_LOCAL_MEM="${budget_kib}K" FARMEM_STATS=1 "$FMP_BIN/fill" 32
fmp_show_stats fits.tight
fm_same fits.ref fits.tight "$ref_rc" && fm_quiet fits.tight
evicted=$(fm_stat_bytes fits.tight evicted)
remote=$(sed -n 's/^  faults .* \([0-9][0-9]*\) remote,.*/\1/p' "$fm_tmp"/fits.tight.stats.* | head -n 1)
if [ "$evicted" -eq 0 ] && [ "${remote:-x}" = 0 ]; then
	fm_ok "fits.tight: nothing evicted, no remote fault"
else
	fm_fail "fits.tight: evicted $evicted bytes, ${remote:-?} remote faults, from a heap that fits its budget"
fi
fm_finish
