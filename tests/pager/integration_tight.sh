#!/bin/sh
# SPDX-License-Identifier: MIT
# 12. The integration suite (tests/integration/*.sh) once more, every
# program under the preload held to FARMEM_LOCAL_MEM=64M (FMP_TIGHT_MEM).
# Not in make check's TESTS (it takes minutes): make check-pager-tight.
#
# lib.sh strips every FARMEM_* variable of the caller's environment from
# its runs (env -u ...), so exporting FARMEM_LOCAL_MEM does nothing; its
# "tight" profile (since 375fe7f) budgets only the profile's runs, each
# test choosing its own FM_BUDGET. So this script puts a wrapper named env
# first in PATH: lib.sh runs "timeout ... env -u ... LD_PRELOAD=...
# VAR=... CMD", and the wrapper adds FARMEM_LOCAL_MEM after the -u options
# of such a run, or of a run of farmem-run (so that a run's own
# FARMEM_LOCAL_MEM, from its test or profile, or farmem-run's --local-mem,
# still wins); where lib.sh has the tight profile, the suite runs under
# it, with FM_BUDGET=64M where a test does not set its own. The
# statistics of the runs must show a budget, so that a change in lib.sh
# cannot make this pass without one.
#
# FMP_TIGHT_PROFILE: with the wrapper, lib.sh's profile for the runs
# (default: "default"; every run of fm_compare also has a verbose run
# with statistics). FMP_TIGHT_ONLY: the names of the scripts to run
# (default: all of tests/integration/*.sh).
. "$(dirname "$0")/pager_lib.sh"

fmp_need_uffd
tight=${FMP_TIGHT_MEM:-64M}
real_env=$(command -v env)
[ -n "$real_env" ] || fm_error "no env command"

mkdir "$fm_tmp/bin" || fm_error "mkdir"
budget_re="budget $(echo "$tight" | sed 's/M$//').0 MiB"
if fm_profile_env tight >/dev/null 2>&1; then
	# the wrapper still covers the runs outside the profile (the verbose
	# ones, farmem-run's); a test may set its own FM_BUDGET: any budget
	# will do
	how="lib.sh's tight profile and an env wrapper"
	run_env="PATH=$fm_tmp/bin:$PATH FM_TEST_PROFILE=tight FM_BUDGET=$tight"
	budget_re="budget [0-9.]* [MG]iB"
else
	how="an env wrapper"
	run_env="PATH=$fm_tmp/bin:$PATH FM_TEST_PROFILE=${FMP_TIGHT_PROFILE:-default}"
fi
echo "the budget reaches lib.sh's runs through $how"
cat >"$fm_tmp/bin/env" <<EOS
#!/bin/sh
# env, adding FARMEM_LOCAL_MEM=$tight to runs under libfarmem or
# farmem-run (see tests/pager/integration_tight.sh)
case " \$* " in
*" LD_PRELOAD=$FM_LIB "* | *" $FM_RUN "*) ;;
*) exec "$real_env" "\$@" ;;
esac
n=0
for a in "\$@"; do
	n=\$((n + 1))
done
i=0
while [ \$i -lt \$n ]; do
	a=\$1
	shift
	i=\$((i + 1))
	if [ "\$a" = -u ] && [ \$i -lt \$n ]; then
		set -- "\$@" -u "\$1"
		shift
		i=\$((i + 1))
		continue
	fi
	set -- "\$@" FARMEM_LOCAL_MEM=$tight "\$a"
	break
done
while [ \$i -lt \$n ]; do
	set -- "\$@" "\$1"
	shift
	i=\$((i + 1))
done
exec "$real_env" "\$@"
EOS
chmod +x "$fm_tmp/bin/env"

# the wrapper itself: a run under the preload gets the budget, its own
# setting wins, other runs are untouched
w() { PATH=$fm_tmp/bin:$PATH env "$@"; }
[ "$(w -u LD_PRELOAD LD_PRELOAD="$FM_LIB" sh -c 'echo $FARMEM_LOCAL_MEM' 2>/dev/null)" = "$tight" ] &&
	[ "$(w -u X LD_PRELOAD="$FM_LIB" FARMEM_LOCAL_MEM=17M sh -c 'echo $FARMEM_LOCAL_MEM' 2>/dev/null)" = 17M ] &&
	[ -z "$(w -u LD_PRELOAD sh -c 'echo $FARMEM_LOCAL_MEM')" ] ||
	fm_error "the env wrapper does not work"

for t in "$abs_top_srcdir"/tests/integration/*.sh; do
	name=$(basename "$t" .sh)
	[ "$name" = lib ] && continue
	case " ${FMP_TIGHT_ONLY:-$name} " in
	*" $name "*) ;;
	*) continue ;;
	esac
	echo "=== $name under a tight budget ($how)"
	# shellcheck disable=SC2086
	env $run_env FM_TEST_KEEP=1 TMPDIR="$fm_tmp" "$SHELL" "$t" \
		>"$fm_tmp/$name.log" 2>&1
	rc=$?
	grep -E '^(FAIL|ERROR|SKIP)' "$fm_tmp/$name.log" | head -n 10
	kept=$(sed -n 's/^kept //p' "$fm_tmp/$name.log" | tail -n 1)
	nstats=0
	nbudget=0
	if [ -n "$kept" ] && [ -d "$kept" ]; then
		nstats=$(find "$kept" -name '*.stats.*' | wc -l)
		nbudget=$(find "$kept" -name '*.stats.*' -exec grep -l "$budget_re" {} + |
			wc -l)
		budgets=$(find "$kept" -name '*.stats.*' -exec grep -ho "$budget_re" {} + |
			sort -u | tr '\n' ' ')
		rm -rf "$kept"
	fi
	case $rc in
	0) fm_ok "$name: passes under a tight budget" ;;
	77) echo "SKIP: $name (skipped by itself)" ;;
	*)
		fm_fail "$name: exit status $rc under a tight budget"
		echo "--- the end of $name's log:"
		grep -v '^ok: ' "$fm_tmp/$name.log" | tail -n 30
		echo "---"
		;;
	esac
	if [ "$rc" -ne 77 ] && [ "$nstats" -gt 0 ]; then
		if [ "$nbudget" -gt 0 ]; then
			fm_ok "$name: $nbudget of $nstats statistics files show a budget: $budgets"
		else
			fm_fail "$name: none of $nstats statistics files shows a budget ($budget_re)"
		fi
	fi
done
fm_finish
