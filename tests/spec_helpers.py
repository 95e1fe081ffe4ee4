"""The registered losses as the parametrised tests see them: from their specs
(:data:`mmdet_losses.losses.SPECS`), never from a hand-kept list."""
import inspect
from typing import Dict, Tuple

from mmdet_losses import MODELS
from mmdet_losses.losses import SPECS


def loss_names(*kinds: str, **facts: str) -> Tuple[str, ...]:
    """The losses of the given kinds (all kinds if none) whose specs have the given
    facts (``compares='boxes'``), in the order of :data:`SPECS`."""
    return tuple(name for name, spec in SPECS.items()
                 if (not kinds or spec.kind in kinds)
                 and all(getattr(spec, fact) == value for fact, value in facts.items()))


def required_options(name: str) -> Dict[str, object]:
    """What the loss ``name`` needs to be built at all: its constructor's required
    arguments, with the values of its first preset that gives them."""
    parameters = inspect.signature(MODELS.get(name).__init__).parameters
    required = [p for p, parameter in parameters.items() if p != 'self'
                and parameter.default is inspect.Parameter.empty
                and parameter.kind not in (parameter.VAR_POSITIONAL,
                                           parameter.VAR_KEYWORD)]
    for preset in SPECS[name].presets:
        if all(p in preset.options for p in required):
            return {p: preset.options[p] for p in required}
    assert not required, f'{name} needs {required} and no preset gives them'
    return {}
