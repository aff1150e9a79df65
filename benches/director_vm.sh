#!/bin/sh
# The director measurements in one boot of the kernel VM: cost per event,
# reload vs VRRP (new and old director side by side), mass failure /
# start-up / RSS next to keepalived. Outputs go to $RW (the VM's shared
# writable directory) as they are produced, so a cut boot keeps what ran.
#
#   cargo build --release -p lvs-benches -p lvs-examples --bins
#   cargo xtask vm --timeout 900 -- sh benches/director_vm.sh \
#       "$PWD/target/release" [OLD_DIRECTOR]
#
# OLD_DIRECTOR: a `director` built from an older commit (e.g. 1e7e9c4) to
# run beside the new one in the reload bench; omitted, only the new runs.
# BENCHES (environment): which to run (event, cost, reload, mass), default
# "event cost reload mass". A name given twice runs twice (outputs numbered).
set -u
BIN=${1:?usage: director_vm.sh RELEASE_DIR [OLD_DIRECTOR]}
OLD=${2:-}
OUT=${RW:-/tmp}
BENCHES=${BENCHES:-event cost reload mass}
echo "kernel $(uname -r), $(nproc) CPUs; $(date -u)"
rc=0
i=0
for b in $BENCHES; do
    i=$((i + 1))
    echo "== $b: $(date -u +%T)"
    case $b in
    event)
        "$BIN/director_event" 10000 4 7 ;;
    cost)
        "$BIN/director_reload_cost" 1000 4 100 5 ;;
    reload)
        if [ -n "$OLD" ]; then
            "$BIN/director_reload" --logs "$OUT/logs.$i" new="$BIN/director" old="$OLD"
        else
            "$BIN/director_reload" --logs "$OUT/logs.$i" new="$BIN/director"
        fi ;;
    mass)
        "$BIN/director_mass_failure" --logs "$OUT/logs.$i" \
            director="$BIN/director" keepalived="$(command -v keepalived)" ;;
    *)
        echo "unknown bench $b"; false ;;
    esac > "$OUT/$i.$b.txt" 2>&1
    status=$?
    cat "$OUT/$i.$b.txt"
    echo "== $b exited $status"
    [ $status -eq 0 ] || rc=1
done
echo "done $(date -u +%T)"
exit $rc
