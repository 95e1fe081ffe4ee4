"""Pure-torch loss functions (no mmdet import): element-wise losses, the reduction
core and the box geometry core.

``category/`` and ``location/`` hold the plain references (autograd, one formula
each), ``fused/`` the kernels that compute a reduced loss in one pass with a
hand-derived gradient, tested against them; the references import only the shared
modules here (the dtype rule, the argument checks, the reduction, GHM's gradient
density), never the kernels. The public names are those of each module's
``__all__``: a function added to a module with its name there is exported here.
"""
from types import ModuleType as _ModuleType

from .category.cross_entropy import *  # noqa: F401,F403
from .category.focal import *  # noqa: F401,F403
from .category.ghmc import *  # noqa: F401,F403
from .category.labels import *  # noqa: F401,F403
from .category.quality import *  # noqa: F401,F403
from .compile import *  # noqa: F401,F403
from .fused.focal import *  # noqa: F401,F403
from .fused.iou import *  # noqa: F401,F403
from .fused.quality import *  # noqa: F401,F403
from .gradient_density import *  # noqa: F401,F403
from .location.coordinate import *  # noqa: F401,F403
from .location.distribution import *  # noqa: F401,F403
from .location.geometry import *  # noqa: F401,F403
from .location.ghmr import *  # noqa: F401,F403
from .location.iou import *  # noqa: F401,F403
from .location.iou_corners import *  # noqa: F401,F403
from .location.iou_shape import *  # noqa: F401,F403
from .location.nwd import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403

__all__ = [name for name, value in globals().items()
           if not name.startswith('_') and not isinstance(value, _ModuleType)]
