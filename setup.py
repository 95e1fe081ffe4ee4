import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# Shipped inside the package as mmdet_losses/.mim/<name>, as OpenMMLab's projects do:
# MMEngine resolves `mmdet_losses::path` configs there and openmim runs its tools.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_module(path):
    """The globals of a module of the package, run without importing the package."""
    namespace = {}
    with open(path, encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace


def stack_extras():
    """One extra per OpenMMLab stack, ``[openmmlab]`` and ``[onedl]``: neither is
    required, so that installing beside one stack never pulls in the other's mmdet
    (why: mmdet_losses/engine/stack.py)."""
    stacks = read_module('mmdet_losses/engine/stack.py')['STACKS']
    return {name: sorted(requirements.values()) for name, requirements in stacks.items()}


def add_mim_extension():
    """Put configs/, tools/ and model-index.yml into mmdet_losses/.mim: symbolic
    links for an editable install (``pip install -e .``), copies for a wheel or an
    sdist (``pip install .``, ``pip wheel .``, ``python -m build``). Other commands
    leave it as it is."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'copy' if os.name == 'nt' else 'symlink'  # no symlinks on Windows
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim = osp.join(repo, 'mmdet_losses', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(repo, name), osp.join(mim, name)
        if not osp.exists(src):  # building from an sdist: .mim is there already
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


add_mim_extension()

# Run at interpreter start from site-packages: registers the mmdet_losses:: config
# scope for programs that never import mmdet_losses before reading a config
# (MMDetection's own tools); see mmdet_losses_scope.py.
SCOPE_PTH = 'mmdet_losses_scope.pth'


class build_py_with_pth(build_py):
    """build_py that also puts SCOPE_PTH at the top of the wheel."""

    def run(self):
        super().run()
        self.copy_file(SCOPE_PTH, osp.join(self.build_lib, SCOPE_PTH))


setup(
    name='mmdet_losses',
    version=read_module('mmdet_losses/version.py')['__version__'],
    description='Category and location losses for MMDetection 3.x: '
    'cross-entropy, focal, L1/L2/Smooth L1 and the IoU family.',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmdet_losses', 'mmdet_losses.*', 'mmdet_losses_lab',
                                    'mmdet_losses_lab.*']),
    py_modules=['mmdet_losses_scope'],
    cmdclass={'build_py': build_py_with_pth},
    include_package_data=True,  # mmdet_losses/.mim, listed in MANIFEST.in
    python_requires='>=3.8',
    install_requires=['torch>=1.8'],
    extras_require={
        **stack_extras(),
        'tests': ['pytest', 'pycocotools', 'matplotlib', 'scipy'],
        'plots': ['matplotlib'],
    },
    license='Apache License 2.0',
)
