"""``benchmarks/gpu_check.py``, the one-call GPU check of the fused kernels, as a CPU
smoke test: it runs with mmcv, mmengine and mmdet unimportable (the lent GPU machine
has none of them), checks every kernel in every precision on both input sets, says
PASS or FAIL per row, per kernel and dtype and on its last line, and fails where a
kernel is wrong."""
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch

from train_utils import PYTHON, ROOT

SCRIPT = osp.join(ROOT, 'benchmarks', 'gpu_check.py')
sys.path.insert(0, osp.dirname(SCRIPT))
import gpu_check  # noqa: E402
import gpu_losses  # noqa: E402

KERNELS = ['iou', 'giou', 'diou', 'ciou', 'eiou', 'siou', 'focal', 'bce', 'qfl', 'vfl',
           'mal']
# Runs the script with the OpenMMLab packages made unimportable.
WITHOUT_OPENMMLAB = textwrap.dedent("""
    import runpy, sys

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.partition('.')[0] in ('mmcv', 'mmdet', 'mmengine'):
                raise ImportError(f'{name}: not on the GPU machine')

    sys.meta_path.insert(0, Refuse())
    script, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_path(script, run_name='__main__')
""")


def run_without_openmmlab(*args, timeout=900):
    return subprocess.run([PYTHON, '-c', WITHOUT_OPENMMLAB, SCRIPT, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def table_rows(output: str):
    """The check table's rows as lists of cells."""
    return [[cell.strip() for cell in line.strip('|').split('|')]
            for line in output.splitlines()
            if line.startswith('| ') and line.count('|') == 9
            and not line.startswith('| kernel')]


def test_every_kernel_precision_and_input_set_passes_without_openmmlab():
    result = run_without_openmmlab('--device', 'cpu', '--n', '2000', '--modes',
                                   'eager', '--timing-n', '0')
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = table_rows(result.stdout)
    assert [row[0] for row in rows[::6]] == KERNELS
    assert {(row[1], row[2]) for row in rows} == {
        (inputs, precision) for inputs in ('random', 'degenerate', 'saturated')
        for precision in ('float32', 'float16', 'bfloat16')}
    assert len(rows) == len(KERNELS) * 2 * 3
    assert all(row[-1] == 'PASS' for row in rows), rows
    # float16 gradients come back in float16: about half a step (2^-11) off the
    # float32 reference on the random boxes, not 0 and not more than the tolerance
    half = [float(row[6]) for row in rows if row[1:3] == ['random', 'float16']]
    assert all(1e-4 < error <= gpu_check.TOLERANCE['float16']['grad']
               for error in half), half
    grid = [line for line in result.stdout.splitlines()
            if line.startswith('| ') and line.count('|') == 5]
    assert grid[1:] == [f'| {k} | PASS | PASS | PASS |' for k in KERNELS]
    total = len(KERNELS) * 2 * 3
    assert result.stdout.splitlines()[-1] == \
        f'gpu_check: PASS, {total} of {total} checks'


@pytest.mark.slow
def test_compiled_kernels_and_the_timing_table(tmp_path):
    # One IoU and one category kernel in float32: compiling every kernel in every
    # precision takes many minutes on 2 CPU cores.
    result = run_without_openmmlab(
        '--device', 'cpu', '--n', '1000', '--kernels', 'ciou', 'qfl',
        '--precisions', 'float32', '--timing-n', '1000', '--repeat', '1',
        '--warmup', '0', '--out', str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = table_rows(result.stdout)
    assert [(row[0], row[3]) for row in rows if row[1:3] == ['random', 'float32']] \
        == [('ciou', 'compiled'), ('ciou', 'eager'), ('qfl', 'compiled'),
            ('qfl', 'eager')]
    assert len(rows) == 2 * 2 * 2 and all(row[-1] == 'PASS' for row in rows)
    timing = [line for line in result.stdout.splitlines()
              if line.startswith(('| iou/ciou | 1,000 |', '| category/qfl | 1,000 |'))]
    assert len(timing) == 2
    written = (tmp_path / 'gpu_check.md').read_text()
    assert written.endswith('gpu_check: PASS, 8 of 8 checks\n')
    assert '## fwd+bwd, float32' in written


def broken(case, factor):
    """The case with its fused sum scaled by ``factor`` (a wrong kernel)."""
    return case._replace(fused=lambda *inputs: factor * case.fused(*inputs))


def test_a_wrong_kernel_fails_its_rows_and_the_exit_code(monkeypatch, capsys):
    giou = next(c for c in gpu_losses.iou_cases() if c.name == 'giou')
    # value and gradient 1e-3 off: ten times float32's tolerance on the value
    checks = gpu_check.check_case(broken(giou, 1.001), 200, 'cpu', ('float32', ),
                                  ('eager', ))
    assert [(c.inputs, c.passed) for c in checks] == [('random', False),
                                                       ('degenerate', False)]
    assert checks[0].value_rel == pytest.approx(1e-3, rel=1e-3)
    assert checks[0].grad_rel == pytest.approx(1e-3, rel=1e-2)
    assert gpu_check.summary_line(checks) == (
        'gpu_check: FAIL, 2 of 2 checks failed: giou/random/float32/eager, '
        'giou/degenerate/float32/eager')

    monkeypatch.setattr(gpu_losses, 'CASES', {'iou': lambda: [broken(giou, 1.01)]})
    code = gpu_check.main(['--device', 'cpu', '--n', '200', '--modes', 'eager',
                           '--precisions', 'float32', '--timing-n', '0'])
    out = capsys.readouterr().out
    assert code == 1
    assert '| giou | FAIL |' in out
    assert out.splitlines()[-1].startswith('gpu_check: FAIL, 2 of 2 checks failed')


def test_non_finite_gradient_fails_and_says_so():
    focal = next(c for c in gpu_losses.category_cases() if c.name == 'focal')

    def infinite_gradient(pred, *rest):
        # + sqrt(0): the value unchanged, the gradient +-inf everywhere
        return focal.fused(pred, *rest) + \
            torch.sqrt(pred.abs() - pred.abs().detach()).sum()

    checks = gpu_check.check_case(focal._replace(fused=infinite_gradient), 800,
                                  'cpu', ('float32', ), ('eager', ))
    assert [(c.passed, c.note, c.value_rel) for c in checks] == \
        [(False, 'gradient not finite', c.value_rel) for c in checks]


def test_an_error_in_a_kernel_is_its_row_and_the_others_go_on():
    vfl = next(c for c in gpu_losses.category_cases() if c.name == 'vfl')

    def raises(*inputs):
        raise RuntimeError('no kernel image is available\nsecond line')

    checks = gpu_check.check_case(vfl._replace(fused=raises), 800, 'cpu',
                                  ('float32', 'float16'), ('eager', ))
    assert len(checks) == 4 and not any(c.passed for c in checks)
    assert checks[0].note == 'RuntimeError: no kernel image is available'


def test_arguments_are_checked():
    for wrong in (['--kernels', 'nope'], ['--n', '0']):
        with pytest.raises(SystemExit):
            gpu_check.parse_args(wrong)
    assert gpu_check.parse_args(['--timing-n', '0']).timing_n == []
