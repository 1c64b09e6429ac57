#!/bin/sh
# SPDX-License-Identifier: MIT
# Server and client in two network namespaces joined by a veth pair: the
# server at 10.213.0.1 in its namespace, the client at 10.213.0.2 in the
# other, over tcp. Both namespaces are this test's own.
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/fabric/lib.sh"

command -v ip >/dev/null || skip "no ip(8)"
ns_s=fmsrv$$
ns_c=fmcli$$
if ! ip netns add "$ns_s" 2>"$FAB_TMP/ns.err"; then
	skip "ip netns unavailable here: $(cat "$FAB_TMP/ns.err")"
fi
netns_cleanup() {
	ip netns del "$ns_s" 2>/dev/null
	ip netns del "$ns_c" 2>/dev/null
}
fab_cleanup_hook=netns_cleanup
ip netns add "$ns_c" || fail "ip netns add"
ip link add fmv$$a type veth peer name fmv$$b 2>"$FAB_TMP/ns.err" ||
	skip "no veth here: $(cat "$FAB_TMP/ns.err")"
ip link set fmv$$a netns "$ns_s" && ip link set fmv$$b netns "$ns_c" ||
	fail "moving the veth ends"
ip -n "$ns_s" addr add 10.213.0.1/24 dev fmv$$a &&
	ip -n "$ns_c" addr add 10.213.0.2/24 dev fmv$$b &&
	ip -n "$ns_s" link set fmv$$a up && ip -n "$ns_c" link set fmv$$b up &&
	ip -n "$ns_s" link set lo up && ip -n "$ns_c" link set lo up ||
	fail "configuring the namespaces"

FAB_PREFIX="ip netns exec $ns_s"
FAB_PREFIX_CLIENT="ip netns exec $ns_c"
FAB_LISTEN=10.213.0.1:0
fab_start_server --size 64M --provider tcp
case $SERVER_ADDR in 10.213.0.1:*) ;; *) fail "server at $SERVER_ADDR" ;; esac
$FAB_PREFIX_CLIENT "$FAB_CONFORM" ofi "$SERVER_ADDR" basic fork errors ||
	fail "client in its namespace"
# nothing in the client's namespace listens on the server's address
if ip netns exec "$ns_c" "$FAB_CONFORM" ofi 127.0.0.1:${SERVER_ADDR#*:} basic \
	>"$FAB_TMP/lo.out" 2>&1; then
	fail "reached the server through the client's loopback"
fi
fab_stats_zero
fab_stop_server TERM
exit 0
