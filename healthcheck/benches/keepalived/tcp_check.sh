#!/bin/sh
# keepalived 2.2.7's TCP_CHECK beside lvs-healthcheck's runner, same run,
# same rate, same kind of listeners, in a network namespace made for it.
#
#   B=$(cargo bench -p lvs-healthcheck --features tokio --bench tcp_rate --no-run 2>&1 \
#        | sed -n 's/.*Executable .*(\(.*\))/\1/p')
#   sudo healthcheck/benches/keepalived/tcp_check.sh "$B" [checks/s=1000] [secs=30]
#
# N real servers with delay_loop 1 = N checks/s. The listeners are the
# tcp_rate binary's listener process (polls accept every 1 ms, never woken by
# the checker). keepalived runs its checker process alone (-C) with
# fake_ipvs.so preloaded, because this kernel has no IP_VS and keepalived
# exits without it; its checks are its own. Its CPU is the checker child's
# /proc/PID/schedstat run time; checks counted are the namespace's TCP
# ActiveOpens (only the checker connects there). Then tcp_rate's runner phase
# runs at the same rate in the same namespace, closing with RST (its default)
# and with FIN (as keepalived does: SO_LINGER on, 5 s), then its half-open
# check (SYN from a raw socket; no connection) at that rate too.
# KA_WARMUP (seconds, default 5) is keepalived's start-up allowance before
# the window; OURS=0 skips the runner runs. Needs root, keepalived, gcc, ip.
set -eu
BIN=${1:?usage: tcp_check.sh TCP_RATE_BINARY [checks/s] [secs]}
N=${2:-1000}
SECS=${3:-30}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d)
NS=lvshc-ka-$$
LPID=
cleanup() {
	[ -f "$DIR/k.pid" ] && kill "$(cat "$DIR/k.pid")" 2>/dev/null || true
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null || true
	sleep 1
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

gcc -O2 -shared -fPIC -o "$DIR/fake_ipvs.so" "$HERE/fake_ipvs.c" -ldl
ip netns add "$NS"
ip -n "$NS" link set lo up
ulimit -n 65536 2>/dev/null || true

ip netns exec "$NS" env LVS_HC_BENCH_LISTENER=1 LVS_HC_BENCH_LISTENERS="$N" "$BIN" >"$DIR/ports" &
LPID=$!
i=0
while [ ! -s "$DIR/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
{
	echo 'global_defs {'
	echo '  router_id lvshc'
	echo '}'
	echo 'virtual_server 127.0.0.1 9 {'
	echo '  delay_loop 1'
	echo '  lb_algo rr'
	echo '  lb_kind NAT'
	echo '  protocol TCP'
	for p in $(cat "$DIR/ports"); do
		echo "  real_server 127.0.0.1 $p {"
		echo '    TCP_CHECK {'
		echo '      connect_timeout 1'
		echo '    }'
		echo '  }'
	done
	echo '}'
} >"$DIR/keepalived.conf"

active_opens() {
	ip netns exec "$NS" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ActiveOpens") c = i; h = 1 } else print $c }' /proc/net/snmp
}
run_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }
softirq() { awk '/^cpu / { print $8 }' /proc/stat; }

ip netns exec "$NS" env LD_PRELOAD="$DIR/fake_ipvs.so" keepalived -C -n -l -D \
	-f "$DIR/keepalived.conf" -p "$DIR/k.pid" -c "$DIR/c.pid" >"$DIR/keepalived.log" 2>&1 &
sleep "${KA_WARMUP:-5}"
if [ ! -s "$DIR/c.pid" ] || ! kill -0 "$(cat "$DIR/c.pid")" 2>/dev/null; then
	echo "keepalived's checker process did not start:"
	cat "$DIR/keepalived.log"
	exit 1
fi
CH=$(cat "$DIR/c.pid")
PARENT=$(cat "$DIR/k.pid")
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
a0=$(active_opens); c0=$(run_ns "$CH"); p0=$(run_ns "$PARENT"); l0=$(run_ns "$LPID"); s0=$(softirq)
t0=$(date +%s.%N)
sleep "$SECS"
a1=$(active_opens); c1=$(run_ns "$CH"); p1=$(run_ns "$PARENT"); l1=$(run_ns "$LPID"); s1=$(softirq)
t1=$(date +%s.%N)
up=$(grep -c 'Enabling service\|Adding service' "$DIR/keepalived.log" || true)
failed=$(grep -c 'failed' "$DIR/keepalived.log" || true)
kill "$PARENT"
sleep 2
rm -f "$DIR/k.pid"
kill "$LPID" 2>/dev/null || true
LPID=
awk -v n=$((a1 - a0)) -v c=$((c1 - c0)) -v p=$((p1 - p0)) -v l=$((l1 - l0)) \
	-v s=$((s1 - s0)) -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" -v N="$N" \
	-v failed="$failed" 'BEGIN {
	w = t1 - t0; r = n / w
	printf "keepalived 2.2.7 TCP_CHECK: %d real servers, delay_loop 1, connect_timeout 1 (FIN close, SO_LINGER 5 s)\n", N
	printf "  window            %.1f s, %d checks (%.0f/s)%s\n", w, n, r, (r < 0.95 * N ? sprintf(" -- NOT sustained: %d were due", N) : "")
	printf "  checker process   %.2f us/check = %.2f%% of one core per 1,000 checks/s\n", c / 1000 / n, c / 1e9 / w * 100 / (r / 1000)
	printf "  parent process    %.2f us/check\n", p / 1000 / n
	printf "  listener process  %.2f us/check\n", l / 1000 / n
	printf "  machine softirq   %.2f us/check (tick-sampled)\n", s / hz * 1e6 / n
	printf "  failed checks logged: %d\n", failed
}'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "${OURS:-1}" = 0 ] && exit 0
for close in RST FIN; do
	fin=
	[ "$close" = FIN ] && fin=1
	ip netns exec "$NS" env LVS_HC_BENCH_RATE="$N" LVS_HC_BENCH_LISTENERS="$N" \
		LVS_HC_BENCH_SECS="$SECS" LVS_HC_BENCH_PHASES=runner LVS_HC_BENCH_FIN="$fin" "$BIN" |
		grep -v '^summary\|^  runner  '
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
ip netns exec "$NS" env LVS_HC_BENCH_RATE="$N" LVS_HC_BENCH_LISTENERS="$N" \
	LVS_HC_BENCH_SECS="$SECS" LVS_HC_BENCH_PHASES=halfopen "$BIN" |
	grep -v '^summary\|^  halfopen '
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
