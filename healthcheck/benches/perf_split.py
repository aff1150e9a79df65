#!/usr/bin/env python3
"""Splits a tcp_rate profile into the checker's own work and the listener's.

On loopback the whole TCP handshake runs inside the checker's system calls:
the listener's SYN and ACK handling, and the RST reaching its child socket,
happen in softirq in the checker's context and count as the checker's CPU.
This sorts perf samples of the bench process by call stack so the reader can
see how much of the measured figure is the backend's half.

    B=<tcp_rate binary>   # cargo bench ... --no-run prints it
    LVS_HC_BENCH_PHASES=runner LVS_HC_BENCH_SECS=15 $B & P=$!; sleep 6
    perf record -F 999 -g -p $P -o tcp_rate.perf -- sleep 8; wait $P
    perf script -i tcp_rate.perf -F ip,sym | healthcheck/benches/perf_split.py

"rx path, packet not identified" is receive processing whose stack names no
socket-specific function; three of the four packets it covers (SYN, ACK, RST)
are the listener's, one (SYN-ACK) the checker's. The split is a sampling
estimate, not a measurement.
"""

import collections
import sys

# The backend's kernel work: SYN on the listening socket, the request and
# child sockets, the SYN-ACK it sends.
LISTENER = {
    "tcp_conn_request", "tcp_v4_conn_request", "tcp_v6_conn_request",
    "tcp_check_req", "tcp_child_process", "tcp_v4_syn_recv_sock",
    "tcp_v6_syn_recv_sock", "inet_csk_complete_hashdance",
    "tcp_v4_send_synack", "tcp_v6_send_synack", "tcp_make_synack",
    "inet_lhash2_lookup", "__inet_lookup_listener",
    "inet_csk_reqsk_queue_hash_add", "tcp_create_openreq_child",
}


def stacks(lines):
    cur = []
    for line in lines:
        line = line.strip()
        if not line:
            if cur:
                yield cur
            cur = []
            continue
        parts = line.split(None, 1)
        cur.append((parts[1] if len(parts) > 1 else "?").split("+")[0])
    if cur:
        yield cur


def classify(st):
    s = set(st)
    if "handle_softirqs" in s or "net_rx_action" in s:
        if s & LISTENER:
            return "listener: SYN / ACK handling (softirq in our syscalls)"
        if "tcp_disconnect" in s or "__x64_sys_close" in s:
            return "listener: RST into its child (softirq in our close/abort)"
        if "tcp_add_backlog" in s or "tcp_rcv_synsent_state_process" in s:
            return "checker: SYN-ACK to our socket (softirq)"
        return "rx path, packet not identified (softirq; 3 of 4 packets are the listener's)"
    if "tcp_disconnect" in s:
        return "checker: abort (RST sent)"
    if "__x64_sys_connect" in s:
        return "checker: connect (SYN sent, SYN-ACK handled, ACK sent)"
    calls = [f for f in st if f.startswith("__x64_sys_")]
    if calls:
        return "checker: syscall " + calls[-1][len("__x64_sys_"):]
    if any(f.startswith(("entry_SYSCALL", "do_syscall_64")) for f in st):
        return "checker: other kernel"
    return "checker: user space, interrupts, scheduler"


def main():
    counts = collections.Counter(classify(st) for st in stacks(sys.stdin))
    total = sum(counts.values())
    if not total:
        sys.exit("no samples on standard input")
    for what, n in counts.most_common():
        print(f"{n * 100 / total:6.2f}%  {what}")
    listener = sum(n for w, n in counts.items() if w.startswith("listener"))
    unknown = sum(n for w, n in counts.items() if w.startswith("rx path"))
    lo = listener * 100 / total
    hi = (listener + unknown) * 100 / total
    print(f"{total} samples; listener's share {lo:.1f}% to {hi:.1f}%, "
          f"checker's own {100 - hi:.1f}% to {100 - lo:.1f}%")


if __name__ == "__main__":
    main()
