"""The registries of mmdet_losses: children of MMDetection's, scope ``mmdet_losses``.

``MODELS`` holds the losses, ``HOOKS`` the training hooks (``NaNGuardHook``),
``WEIGHT_INITIALIZERS`` ``SoftmaxPriorInit``, ``OPTIM_WRAPPERS``
``CPUAutocastOptimWrapper`` and ``TASK_UTILS`` ``BoxLossCost`` (a match cost);
configs select them with ``type='mmdet_losses.<Name>'`` while the plain names
(``L1Loss``, ``GIoULoss``, ...) keep resolving to MMDetection's own classes.

Every other registry of MMDetection gets an (empty) child of this scope too. A config
inherited as ``_base_ = 'mmdet_losses::...'`` has its objects built in the
``mmdet_losses`` scope (MMEngine tags them ``_scope_='mmdet_losses'``), and MMEngine
finds the registry of a scope by searching the registry tree: without a child there,
a dataset or an optimizer wrapper of such a config would fail to build.

A scoped name is refused when this package does not define it: MMEngine alone would
look ``mmdet_losses.QualityFocalLoss`` up in this registry and, not finding it, fall
back to MMDetection's class of that name, which silently trains a different loss.
A plain name falls back to MMDetection's only inside the ``mmdet_losses`` default
scope (where MMEngine resolves the configs inherited from this package).
"""
import difflib
from typing import List, Optional

from mmdet import registry as mmdet_registry
from mmengine.registry import DefaultScope, Registry

SCOPE = 'mmdet_losses'


def _in_own_scope() -> bool:
    current = DefaultScope.get_current_instance()
    return current is not None and current.scope_name == SCOPE


class ScopedRegistry(Registry):
    """A child registry that answers a scoped name only with its own entries.

    MMEngine's parent registry resolves ``'mmdet_losses.Name'`` by calling this
    registry's :meth:`get` with ``'Name'``; outside the ``mmdet_losses`` default scope
    that call can only have come that way (or from a direct use of this registry), so
    a name that is not registered here raises a ``KeyError`` listing what is, with the
    closest matches.
    """

    def own_names(self) -> List[str]:
        """The names registered in this registry itself, sorted."""
        self.import_from_location()
        return sorted(self._module_dict)

    def get(self, key: str):
        scope, real_key = self.split_scope_key(key) if isinstance(key, str) \
            else (None, key)
        own_lookup = scope == SCOPE or (scope is None and not _in_own_scope())
        if own_lookup and isinstance(real_key, str):
            self.import_from_location()
            if real_key not in self._module_dict:
                raise KeyError(self.unknown_name_message(real_key))
        self.import_from_location()
        if self.parent is not None and real_key not in self._module_dict:
            # MMEngine looks a name missing here up in the parent's table without
            # importing the parent's locations: a CocoMetric built in this scope
            # would be missing unless something had imported mmdet.evaluation.
            self.parent.import_from_location()
        return super().get(key)

    def unknown_name_message(self, name: str) -> str:
        """Why ``mmdet_losses.<name>`` is refused and what to write instead."""
        names = self.own_names()
        message = (f'{SCOPE}.{name} is not in the {SCOPE}::{self.name} registry: '
                   f'{SCOPE} does not define {name!r}.')
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        if close:
            message += ' Did you mean ' + ' or '.join(
                f"type='{SCOPE}.{c}'" for c in close) + '?'
        if self.parent is not None and self.parent.get(name) is not None:
            message += (f' For MMDetection\'s own {name}, write type={name!r} '
                        'without the scope.')
        if names:
            message += f' Its {self.name}s: {", ".join(names)}.'
        return message


def _child(parent: Registry, locations: Optional[List[str]] = None) -> Registry:
    # MMEngine falls back to ``<scope>.utils.register_all_modules`` for a registry of
    # a known scope without locations; every child names where its entries live.
    return ScopedRegistry(parent.name, parent=parent, scope=SCOPE,
                          locations=locations or ['mmdet_losses.registry'])


MODELS = _child(mmdet_registry.MODELS, ['mmdet_losses.losses', 'mmdet_losses.models'])
HOOKS = _child(mmdet_registry.HOOKS, ['mmdet_losses.hooks'])
WEIGHT_INITIALIZERS = _child(mmdet_registry.WEIGHT_INITIALIZERS,
                             ['mmdet_losses.engine.init'])
OPTIM_WRAPPERS = _child(mmdet_registry.OPTIM_WRAPPERS, ['mmdet_losses.engine.amp'])
TASK_UTILS = _child(mmdet_registry.TASK_UTILS, ['mmdet_losses.models.match_cost'])
_OWN = {'MODELS': MODELS, 'HOOKS': HOOKS, 'WEIGHT_INITIALIZERS': WEIGHT_INITIALIZERS,
        'OPTIM_WRAPPERS': OPTIM_WRAPPERS, 'TASK_UTILS': TASK_UTILS}
# The rest of MMDetection's registries, so that the scope resolves for every object
# of a config (datasets, transforms, optimizers, schedulers, metrics, ...).
CHILDREN = dict(_OWN)
for _name in dir(mmdet_registry):
    _parent = getattr(mmdet_registry, _name)
    if _name.isupper() and isinstance(_parent, Registry) and _name not in CHILDREN \
            and SCOPE not in _parent.children:
        CHILDREN[_name] = _child(_parent)
globals().update({k: v for k, v in CHILDREN.items() if k not in _OWN})
