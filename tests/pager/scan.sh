#!/bin/sh
# SPDX-License-Identifier: MIT
# read-ahead: a 64 MiB block under a 16 MiB budget, read (every page
# checked, every fifth rewritten, all checked again) sequentially, then
# 3, 16 and 200 pages apart, then in runs of 8 pages 32 apart (the
# selected blocks of a column). Each run must read ahead most of what it
# fetches: sequential runs of pages written together, strided ones page
# by page or run by run, up to 8 strides ahead. The runs of 8 must fault
# once every few runs, not once or twice in each.
. "$(dirname "$0")/pager_lib.sh"

# scan_ahead TAG MIN_PCT - of what run TAG fetched, at least MIN_PCT%
# was read ahead of a fault
scan_ahead() {
	sa_f=$(fm_stat_bytes "$1" fetched)
	sa_a=$(for f in "$fm_tmp/$1".stats.*; do
		sed -n 's/^  fetched .*(\([0-9.]*\) \([KMG]*i*B\) read ahead).*/\1 \2/p' "$f"
	done | awk '{ m = 1; if ($2 == "KiB") m = 1024; if ($2 == "MiB") m = 1048576
		if ($2 == "GiB") m = 1073741824; printf "%d", $1 * m }')
	if [ "$sa_f" -gt 0 ] && [ $((${sa_a:-0} * 100)) -ge $((sa_f * $2)) ]; then
		fm_ok "$1: $((${sa_a:-0} / 1024)) KiB of $((sa_f / 1024)) KiB fetched read ahead (>= $2%)"
	else
		fm_fail "$1: $((${sa_a:-0} / 1024)) KiB of $((sa_f / 1024)) KiB fetched read ahead (< $2%)"
	fi
}

# scan_faults TAG MAX_PCT - run TAG's remote faults are at most MAX_PCT%
# of the pages it fetched
scan_faults() {
	sf_n=$(for f in "$fm_tmp/$1".stats.*; do
		sed -n 's/^  faults .* \([0-9][0-9]*\) remote,.*/\1/p' "$f"
	done | awk '{ s += $1 } END { print s + 0 }')
	sf_p=$(($(fm_stat_bytes "$1" fetched) / 4096))
	if [ "$sf_p" -gt 0 ] && [ $((sf_n * 100)) -le $((sf_p * $2)) ]; then
		fm_ok "$1: $sf_n remote faults for $sf_p pages fetched (<= $2%)"
	else
		fm_fail "$1: $sf_n remote faults for $sf_p pages fetched (> $2%)"
	fi
}

fmp_need_uffd
fmp_need_prog scan
fmp_baseline scan.tiny "$FMP_BIN/scan" 1 1
for stride in 1 3 16 200; do
	fmp_compare scan-$stride 16 "$FMP_BIN/scan" 64 $stride
	scan_ahead scan-$stride.fm 50
done
fmp_compare scan-runs 16 "$FMP_BIN/scan" 64 32 8
scan_ahead scan-runs.fm 50
scan_faults scan-runs.fm 8
fm_finish
