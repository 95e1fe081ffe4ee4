#!/usr/bin/env bash
# Train on a Slurm cluster, one task per GPU:
#   [GPUS=16 GPUS_PER_NODE=8] tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]
# On a CPU partition GPUS_PER_NODE=0: GPUS tasks train on CPUs over gloo, no --gres is
# asked for (TASKS_PER_NODE, if set, places them). Run inside an sbatch allocation, the
# srun below is a job step of it. See docs/slurm.md.
set -euxo pipefail

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
TASKS_PER_NODE=${TASKS_PER_NODE:-}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if [[ $GPUS_PER_NODE -gt 0 ]]; then
    PLACEMENT=(--gres=gpu:"$GPUS_PER_NODE" --ntasks-per-node="$GPUS_PER_NODE")
else
    PLACEMENT=(${TASKS_PER_NODE:+--ntasks-per-node="$TASKS_PER_NODE"})
fi

PYTHONPATH="$ROOT":${PYTHONPATH:-} \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    "${PLACEMENT[@]}" \
    --ntasks="$GPUS" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher=slurm "${@:5}"
