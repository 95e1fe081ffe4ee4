from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmdet_losses/version.py', encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmdet_losses',
    version=read_version(),
    description='Category and location losses for MMDetection 3.x: '
    'cross-entropy, focal, L1/L2/Smooth L1 and the IoU family.',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmdet_losses', 'mmdet_losses.*']),
    python_requires='>=3.8',
    install_requires=['torch>=1.8', 'mmengine>=0.7.1,<1.0', 'mmdet>=3.0,<3.4'],
    extras_require={
        'tests': ['pytest', 'pycocotools', 'matplotlib', 'scipy'],
        'plots': ['matplotlib'],
    },
    license='Apache License 2.0',
)
