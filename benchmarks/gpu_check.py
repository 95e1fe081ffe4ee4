r"""The fused loss kernels on a GPU in one call: value and gradient against the plain
autograd reference for every kernel, input set, precision and mode, then the timing
table of ``gpu_losses.py``. Torch only: it imports :mod:`mmdet_losses.functional`,
never mmcv, mmengine or mmdet, so it runs on a bare machine with a CUDA build of
torch and this checkout.

Every row is one kernel (the IoU family's ``iou``, ``giou``, ``diou``, ``ciou``,
``eiou``, ``siou`` sums; the sigmoid category sums ``focal``, ``bce``, ``qfl``,
``vfl``, ``mal``, as ``gpu_losses.py`` calls them), on one input set, in one
precision, in one mode:

* inputs: ``random`` (``gpu_losses.py``'s boxes or logits, ``--n`` elements) and the
  edge set, for boxes ``degenerate`` (the degenerate pairs and kinks of the location
  tests, ``tests/reference_boxes.py``: zero-area, inverted, coincident, tiny, huge,
  touching) and for logits ``saturated`` (every logit of the random set at +-100,
  confident mistakes included);
* precision: ``float32``; ``float16`` and ``bfloat16``: the prediction in that dtype,
  as a head's output under mixed precision, and the call under ``torch.autocast``;
* mode: the fused sum ``compiled`` (``set_compile(True)``: Triton on CUDA, a C++
  compiler on the CPU; a failure to compile fails the row) and ``eager``.

The reference is the plain autograd form, eager, outside autocast, in float32, on the
same device and the same (rounded) inputs. The table gives the value's relative error
and the gradient's largest absolute and relative errors, the relative error of a
gradient element being

.. math:: \frac{|g - g_{ref}|}{\max(|g_{ref}|,\ 10^{-3} \max_j |g_{ref, j}|)}

(the floor keeps elements whose gradient is nearly 0 from dominating), over the
elements whose reference gradient the precision can hold. A row passes when the value
and those gradients are finite and both relative errors are within
:data:`TOLERANCE`; a grid of kernel x precision follows the table.

Usage, on one GPU (a few minutes, most of it compiling)::

    python benchmarks/gpu_check.py [--out DIR]

The last line is ``gpu_check: PASS ...`` or ``gpu_check: FAIL ...`` with the failing
rows, and the exit code is 0 or 1. ``--device cpu --n 2000 --modes eager
--timing-n 0`` is the CPU smoke test of the test suite.
"""
import argparse
import contextlib
import os
import sys
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# gpu_losses.py beside it, the checkout's package and its torch-only box set, without
# installing anything.
sys.path[:0] = [HERE, ROOT, os.path.join(ROOT, 'tests')]

import gpu_losses  # noqa: E402
from mmdet_losses.functional import set_compile  # noqa: E402
from reference_boxes import DEGENERATE_PAIRS, KINK_PAIRS, pair_batch  # noqa: E402

PRECISIONS = {'float32': torch.float32, 'float16': torch.float16,
              'bfloat16': torch.bfloat16}
MODES = ('compiled', 'eager')
# Largest relative error of the value and of the gradient per precision. float32:
# the two forms sum and order their terms differently (1e-6 measured on the CPU);
# half precisions: the gradient comes back in that dtype, so a few of its steps
# (float16 2^-10, bfloat16 2^-7) apart from the float32 reference.
TOLERANCE = {'float32': dict(value=1e-4, grad=1e-3),
             'float16': dict(value=1e-4, grad=4e-3),
             'bfloat16': dict(value=1e-4, grad=3e-2)}
SATURATED_LOGIT = 100.0


class Check(NamedTuple):
    kernel: str
    inputs: str
    precision: str
    mode: str
    value_rel: float
    grad_abs: float
    grad_rel: float
    passed: bool
    note: str = ''


def edge_inputs(case: gpu_losses.Case, inputs: tuple) -> Tuple[str, tuple]:
    """The edge set of a case: the degenerate box pairs with unit weights, or the
    random logits pushed to +-100 (labels, weights and scores kept)."""
    device = inputs[0].device
    if case.family == 'iou':
        _, pred, target = pair_batch({**DEGENERATE_PAIRS, **KINK_PAIRS},
                                     torch.float32)
        return 'degenerate', (pred.to(device), target.to(device),
                              torch.ones(len(pred), device=device))
    logits = inputs[0].detach()
    saturated = torch.where(logits >= 0, SATURATED_LOGIT, -SATURATED_LOGIT)
    return 'saturated', (saturated, *inputs[1:])


def value_and_grad(fn, inputs: tuple, dtype: torch.dtype, autocast: bool,
                   compiled: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """``fn(pred, *rest)`` and its gradient in ``pred`` (``pred`` in ``dtype``), as
    float64 for the comparison."""
    set_compile(compiled)
    pred = inputs[0].detach().to(dtype).requires_grad_(True)
    context = torch.autocast(pred.device.type, dtype=dtype) if autocast \
        else contextlib.nullcontext()
    with context:
        value = fn(pred, *inputs[1:])
    value.backward()
    return value.detach().double(), pred.grad.double()


def compare(value, grad, ref_value, ref_grad, dtype) -> Tuple[float, float, float,
                                                              Optional[str]]:
    """Errors against the reference, and what is not finite (``None``: all is)."""
    holdable = ref_grad.abs() <= torch.finfo(dtype).max
    grad, ref_grad = grad[holdable], ref_grad[holdable]
    for name, tensor in (('value', value), ('gradient', grad),
                         ('reference value', ref_value),
                         ('reference gradient', ref_grad)):
        if not torch.isfinite(tensor).all():
            return float('nan'), float('nan'), float('nan'), f'{name} not finite'
    value_rel = float((value - ref_value).abs() / ref_value.abs().clamp(min=1e-30))
    if grad.numel() == 0:
        return value_rel, 0.0, 0.0, None
    error = (grad - ref_grad).abs()
    floor = 1e-3 * ref_grad.abs().max()
    grad_rel = error / torch.maximum(ref_grad.abs(), floor).clamp(min=1e-30)
    return value_rel, float(error.max()), float(grad_rel.max()), None


def check_case(case: gpu_losses.Case, n: int, device: str,
               precisions=tuple(PRECISIONS), modes=MODES) -> List[Check]:
    """Every input set, precision and mode of one kernel."""
    random_inputs = case.make(n, device)
    edge_name, edge = edge_inputs(case, random_inputs)
    checks = []
    for inputs_name, inputs in (('random', random_inputs), (edge_name, edge)):
        for precision in precisions:
            dtype = PRECISIONS[precision]
            rounded = inputs[0].detach().to(dtype).float()
            ref_value, ref_grad = value_and_grad(
                case.plain, (rounded, *inputs[1:]), torch.float32, False, False)
            for mode in modes:
                tol = TOLERANCE[precision]
                try:
                    value, grad = value_and_grad(case.fused, inputs, dtype,
                                                 dtype != torch.float32,
                                                 mode == 'compiled')
                except Exception as error:  # reported in its row; the others go on
                    checks.append(Check(case.name, inputs_name, precision, mode,
                                        float('nan'), float('nan'), float('nan'),
                                        False, f'{type(error).__name__}: '
                                        f'{str(error).splitlines()[0][:120]}'))
                    continue
                value_rel, grad_abs, grad_rel, problem = compare(
                    value, grad, ref_value, ref_grad, dtype)
                passed = problem is None and value_rel <= tol['value'] and \
                    grad_rel <= tol['grad']
                checks.append(Check(case.name, inputs_name, precision, mode,
                                    value_rel, grad_abs, grad_rel, passed,
                                    problem or ''))
    set_compile(False)
    return checks


def check_table(checks: List[Check]) -> str:
    columns = ('kernel', 'inputs', 'precision', 'mode', 'value rel. error',
               'grad max abs. error', 'grad max rel. error', 'result')
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    for c in checks:
        result = 'PASS' if c.passed else f'FAIL {c.note}'.rstrip()
        lines.append('| ' + ' | '.join([
            c.kernel, c.inputs, c.precision, c.mode, f'{c.value_rel:.1e}',
            f'{c.grad_abs:.1e}', f'{c.grad_rel:.1e}', result]) + ' |')
    return '\n'.join(lines)


def verdict_grid(checks: List[Check]) -> str:
    """PASS/FAIL of each kernel (rows) in each precision (columns), over its input
    sets and modes."""
    precisions = list(dict.fromkeys(c.precision for c in checks))
    verdicts: Dict[str, Dict[str, bool]] = {}
    for c in checks:
        row = verdicts.setdefault(c.kernel, {})
        row[c.precision] = row.get(c.precision, True) and c.passed
    lines = ['| kernel | ' + ' | '.join(precisions) + ' |',
             '|' + '---|' * (len(precisions) + 1)]
    for kernel, row in verdicts.items():
        lines.append(f'| {kernel} | ' + ' | '.join(
            'PASS' if row[p] else 'FAIL' for p in precisions) + ' |')
    return '\n'.join(lines)


def summary_line(checks: List[Check]) -> str:
    failed = [c for c in checks if not c.passed]
    if not failed:
        return f'gpu_check: PASS, {len(checks)} of {len(checks)} checks'
    names = ', '.join(f'{c.kernel}/{c.inputs}/{c.precision}/{c.mode}' for c in failed)
    return f'gpu_check: FAIL, {len(failed)} of {len(checks)} checks failed: {names}'


def parse_args(argv=None) -> argparse.Namespace:
    kernels = [case.name for family in gpu_losses.CASES.values() for case in family()]
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--n', type=int, default=100_000,
                        help='random box pairs / logits of the checks')
    parser.add_argument('--kernels', nargs='+', choices=kernels, default=kernels)
    parser.add_argument('--precisions', nargs='+', choices=list(PRECISIONS),
                        default=list(PRECISIONS))
    parser.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES))
    parser.add_argument('--timing-n', type=int, nargs='+',
                        default=[1_000_000, 10_000_000],
                        help="sizes of gpu_losses.py's timing table, float32 (0: "
                        'no timing)')
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--out', help='also write gpu_check.md here')
    args = parser.parse_args(argv)
    args.timing_n = [n for n in args.timing_n if n > 0]
    for name in ('n', 'repeat'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        sys.exit('gpu_check: no CUDA device: pass --device cpu for a smoke test')
    device_name = torch.cuda.get_device_name(args.device) \
        if args.device.startswith('cuda') else 'cpu'
    header = (f'# fused loss kernels against the plain reference, {device_name}, '
              f'torch {torch.__version__}')
    print(header, flush=True)
    cases = [case for family in gpu_losses.CASES.values() for case in family()
             if case.name in args.kernels]
    checks = []
    for case in cases:
        checks += check_case(case, args.n, args.device, args.precisions, args.modes)
        print(f'#   {case.family}/{case.name} checked', flush=True)
    text = '\n\n'.join([header, check_table(checks), verdict_grid(checks)])
    if args.timing_n:
        rows = []
        for case in cases:
            for n in args.timing_n:
                rows.append((case, n, gpu_losses.measure(case, n, args)))
                print(f'#   {case.family}/{case.name} N={n:,} timed', flush=True)
        text += '\n\n## fwd+bwd, float32\n\n' + gpu_losses.table(rows)
    text += '\n\n' + summary_line(checks) + '\n'
    print(text[len(header):], end='')
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, 'gpu_check.md'), 'w', encoding='utf-8') as f:
            f.write(text)
    return 0 if all(c.passed for c in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
