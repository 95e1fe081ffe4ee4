#!/usr/bin/env bash
# Train on several GPUs (or CPU processes) of one or more machines with torchrun:
#   tools/dist_train.sh CONFIG NUM_PROCS [train.py options...]
# Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT on each of them.
# Without CUDA the processes train on CPUs over gloo (mmdet_losses_lab.training.dist).
set -euo pipefail

CONFIG=$1
NPROCS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="$ROOT":${PYTHONPATH:-} \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROCS" \
    --master_port="$PORT" \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
