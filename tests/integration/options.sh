#!/bin/sh
# SPDX-License-Identifier: MIT
# Bad FARMEM_* settings: a misspelt name gets a suggestion, a bad value a
# warning naming the variable (the default stands), and a bad budget
# refuses to start, naming the variable.
. "$(dirname "$0")/lib.sh"

fm_need_bin startup
prog=$FM_BIN/startup
fm_plain ref "$prog" simple

fm_farmem verbse FARMEM_VERBSE=1 "$prog" simple
fm_same ref verbse 0
fm_expect_in verbse err 'FARMEM_VERBSE.*FARMEM_VERBOSE' \
	"FARMEM_VERBSE: did you mean FARMEM_VERBOSE"

fm_farmem unknown FARMEM_QWERTYUIOPZXCV=1 "$prog" simple
fm_same ref unknown 0
fm_expect_in unknown err 'FARMEM_QWERTYUIOPZXCV' "unknown variable named"

fm_farmem region-abc FARMEM_REGION=abc FARMEM_STATS=1 "$prog" simple
fm_same ref region-abc 0
fm_expect_in region-abc err 'FARMEM_REGION=abc' "FARMEM_REGION=abc warned"
fm_used_heap region-abc 10
if grep -F 'of 1.0 TiB reserved' "$fm_tmp"/region-abc.stats.* >/dev/null; then
	fm_ok "region-abc: the default region (1 TiB) stands"
else
	fm_fail "region-abc: the default region does not stand"
fi

fm_farmem region-small FARMEM_REGION=1M "$prog" simple
fm_same ref region-small 0
fm_expect_in region-small err 'FARMEM_REGION=1M.*minimum' \
	"FARMEM_REGION below the minimum warned"

for setting in FARMEM_STATS=maybe FARMEM_LOG=loud FARMEM_CHILDREN=none \
	FARMEM_FALLBACK=sometimes FARMEM_MAIN_PID=x12; do
	tag=bad-${setting%%=*}
	fm_farmem "$tag" "$setting" "$prog" simple
	fm_same ref "$tag" 0
	fm_expect_in "$tag" err "${setting%%=*}" "$setting warned, ran"
done

for setting in FARMEM_LOCAL_MEM=abc FARMEM_LOCAL_MEM=1M \
	FARMEM_LOCAL_MEM=-5G; do
	tag=refuse-${setting#*=}
	fm_farmem "$tag" "$setting" "$prog" simple
	if [ "$fm_rc" -ne 0 ]; then
		fm_ok "$setting: refused to start (exit $fm_rc)"
	else
		fm_fail "$setting: started anyway"
	fi
	fm_expect_in "$tag" err 'FARMEM_LOCAL_MEM' "the message names FARMEM_LOCAL_MEM"
	if [ -s "$fm_tmp/$tag.out" ]; then
		fm_fail "$setting: the program ran"
	fi
done

# good values in every form are accepted silently
fm_farmem good FARMEM_LOCAL_MEM=1.5GiB FARMEM_REGION=8g FARMEM_VERBOSE=off \
	FARMEM_STATS=no FARMEM_LOG=ERROR FARMEM_CHILDREN=PLAIN \
	FARMEM_FALLBACK=passthrough "$prog" simple
fm_same ref good 0 && fm_quiet good && fm_ok "good values: no warning"
fm_finish
