# mpi_common.sh: sourced by the MPI tests: skips (77) unless configured --with-mpi with an
# mpirun; runs tests/mpi_run.lua on one process and on two ranks over loopback.
. "${srcdir:-.}/tests/run_common.sh"
if [ -z "${RZ_MPIRUN:-}" ] || ! "$RZ_MPIRUN" --version > /dev/null 2>&1; then
    echo "$0: built without MPI (configure --with-mpi): skipped"
    exit 77
fi
# CI runs as root, which mpirun refuses unless told; shared-memory transport only (a
# container may have no usable network and no cross-memory attach)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1
# one thread per rank: the machine may have 2 cores for both ranks
export OMP_NUM_THREADS=1
SCRIPT="$srcdir/tests/mpi_run.lua"
# a hang (a rank left waiting) fails the test instead of stalling make check
one() { timeout 60 "$RLZERO" "$SCRIPT" "$@"; }
two() { timeout 60 "$RZ_MPIRUN" -np 2 --oversubscribe "$RLZERO" "$SCRIPT" "$@"; }
# metrics.jsonl without the timing fields, which differ between any two runs
timeless() { sed -E 's/"[a-z_]*(seconds|per_s)":[^,}]*,?//g' "$1"; }
same_run() { # same_run DIR1 DIR2 WHAT: checkpoints and metrics bit-identical
    cmp -s "$1/last.ckpt" "$2/last.ckpt"
    ok $? "$3: final checkpoints identical"
    timeless "$1/metrics.jsonl" > "$WORK/m1"
    timeless "$2/metrics.jsonl" > "$WORK/m2"
    cmp -s "$WORK/m1" "$WORK/m2"
    ok $? "$3: metrics identical"
}
