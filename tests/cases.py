"""Hand-derived reference values of the location losses.

Every value is worked out from the papers' formulas, never from the implementation:
the geometry of each pair is in the comment above it, the value is written as the
arithmetic on those numbers. Notation (x1y1x2y2 boxes, pred B, target G):

* IoU = |B n G| / |B u G|; GIoU adds (|C| - |B u G|) / |C|, C the enclosing box.
* DIoU adds rho^2 / c^2 (centre distance squared over the enclosing diagonal squared).
* CIoU adds a v, v = 4/pi^2 (atan(wg/hg) - atan(w/h))^2, a = v / (1 - IoU + v);
  'ciou_gated' is MMDetection's CIoU (a = 0 below IoU 0.5).
* EIoU (Efficient-IoU) adds (w - wg)^2 / Cw^2 + (h - hg)^2 / Ch^2 to DIoU.
* SIoU = 1 - IoU + (Delta + Omega) / 2 with s the centre offset (target - pred),
  Lambda = sin(2 beta) = 2 |sx sy| / (sx^2 + sy^2), gamma = 2 - Lambda,
  Delta = sum_t 1 - exp(-gamma (s_t / C_t)^2), Omega = sum_t (1 - exp(-omega_t))^4,
  omega_w = |w - wg| / max(w, wg).
* WIoU v1 = exp(rho^2 / c^2) (1 - IoU).
* NWD = 1 - exp(-W2 / 12.8), W2^2 = rho^2 + ((w - wg)^2 + (h - hg)^2) / 4.
* MPDIoU (image 30 x 40, W^2 + H^2 = 2500) adds (d1^2 + d2^2) / 2500, d1 and d2 the
  distances of the top-left and of the bottom-right corners.
* Shape-IoU (scale 0: ww = hh = 1) adds rho^2 / c^2 and half the shape cost
  Omega = sum_t (1 - exp(-omega_t))^4 (SIoU's omega).
* PIoU v1 = 1 - IoU + 1 - exp(-P^2), P = ((|dx1| + |dx2|) / wg + (|dy1| + |dy2|) / hg) / 4
  (edge distances over the target's size); v2 multiplies by u(1.3 exp(-P)),
  u(x) = 3 x exp(-x^2).
* L1, L2 (squared error) and Smooth L1 (beta = 1: 0.5 d^2 if d < 1 else d - 0.5) are
  per coordinate; so is Balanced L1 (alpha 0.5, gamma 1.5, beta 1, b = e^3 - 1):
  0.5 / b (b d + 1) ln(b d + 1) - 0.5 d if d < 1 else 1.5 d + 1.5 / b - 0.5.

The losses' ``eps`` (1e-6 in every denominator) moves these values by about 1e-8
relative; the tests compare with ``rtol=1e-6`` in float64. 'iou_log' of disjoint
boxes is the documented floor ``-ln(eps)`` (IoU clamped at eps = 1e-6).
"""
import math
from typing import Dict, NamedTuple, Tuple, Union

PI = math.pi
LOG_FLOOR = -math.log(1e-6)  # IoU loss 'log' of disjoint boxes: -ln(eps)


class LocationCase(NamedTuple):
    name: str
    pred: Tuple[float, float, float, float]
    target: Tuple[float, float, float, float]
    # loss key -> per-box value (IoU family) or per-coordinate 4-tuple (Lp losses)
    expected: Dict[str, Union[float, Tuple[float, ...]]]


def _aspect(w_target, h_target, w_pred, h_pred):
    """CIoU's v for the given sizes (the paper's definition, written out once)."""
    return 4 / PI**2 * (math.atan(w_target / h_target) - math.atan(w_pred / h_pred))**2


# wide_centred: pred (-2,0,12,10) 14x10 around target (0,0,10,10), same centre (5,5)
_V_WIDE = _aspect(10, 10, 14, 10)           # 4/pi^2 (pi/4 - atan 1.4)^2 = 0.01316
_A_WIDE = _V_WIDE / (1 - 5 / 7 + _V_WIDE)   # IoU 5/7 -> a = v / (2/7 + v)
# tall_low_iou: pred (0,0,4,8) vs target (0,0,10,10), IoU 0.32
_V_TALL = _aspect(10, 10, 4, 8)             # 4/pi^2 (pi/4 - atan 0.5)^2 = 0.04143
_A_TALL = _V_TALL / (1 - 0.32 + _V_TALL)
# cross: pred (3,0,7,10) 4x10 vs target (0,3,10,7) 10x4, same centre
_V_CROSS = _aspect(10, 4, 4, 10)            # 4/pi^2 (atan 2.5 - atan 0.4)^2 = 0.3409
_A_CROSS = _V_CROSS / (1 - 0.25 + _V_CROSS)
# near: pred (0.5,0,10,10.2) 9.5x10.2 vs target (0,0,10,10)
_IOU_NEAR = 95 / 101.9                      # inter 9.5*10; union 96.9 + 100 - 95
_V_NEAR = _aspect(10, 10, 9.5, 10.2)
_A_NEAR = _V_NEAR / (1 - _IOU_NEAR + _V_NEAR)
_LAMBDA_NEAR = 2 * 0.25 * 0.1 / (0.25**2 + 0.1**2)  # s = (-0.25, -0.1)
_GAMMA_NEAR = 2 - _LAMBDA_NEAR

_B = math.e**3 - 1   # Balanced L1's b for alpha 0.5, gamma 1.5: 0.5 ln(b + 1) = 1.5


def _balanced_l1(*diffs):
    """Balanced L1 per coordinate (the paper's two branches, beta = 1)."""
    return tuple(0.5 / _B * (_B * d + 1) * math.log(_B * d + 1) - 0.5 * d if d < 1
                 else 1.5 * d + 1.5 / _B - 0.5 for d in diffs)


def _piou(iou, p):
    """PIoU v1 and v2 from IoU and the penalty factor P."""
    v1 = 1 - iou + 1 - math.exp(-p**2)
    x = 1.3 * math.exp(-p)
    return dict(piou=v1, piou_v2=3 * x * math.exp(-x**2) * v1)


_SHAPE = 2 * (1 - math.exp(-0.5))**4   # Omega for omega_w = omega_h = 1/2

CASES = (
    # identical boxes: IoU 1, every penalty 0; NWD is 1 - exp(-eps/12.8) ~ 8e-8.
    LocationCase('identical', (0, 0, 10, 10), (0, 0, 10, 10), dict(
        iou_log=0.0, iou_linear=0.0, iou_square=0.0, giou=0.0, diou=0.0, ciou=0.0,
        ciou_gated=0.0, eiou=0.0, siou=0.0, wiou_v1=0.0, nwd=0.0,
        mpdiou=0.0, shape_iou=0.0, piou=0.0, piou_v2=0.0,
        balanced_l1=(0, 0, 0, 0),
        l1=(0, 0, 0, 0), l2=(0, 0, 0, 0), smooth_l1=(0, 0, 0, 0))),
    # quarter inside: inter 25, union 100, IoU 1/4; C = G (100) -> hull 0;
    # centres (2.5,2.5) / (5,5): rho^2 = 12.5, c^2 = 200 -> 1/16; same aspect v = 0;
    # EIoU: (5-10)^2/10^2 twice = 1/2; SIoU: s = (2.5,2.5), Lambda 1, gamma 1,
    # Delta = 2 (1 - e^-(1/4)^2), omega_w = omega_h = 5/10;
    # WIoU: e^(1/16) * 3/4; NWD: W2^2 = 12.5 + (25 + 25)/4 = 25.
    LocationCase('quarter_inside', (0, 0, 5, 5), (0, 0, 10, 10), dict(
        iou_log=math.log(4), iou_linear=0.75, iou_square=1 - 1 / 16, giou=0.75,
        diou=0.8125, ciou=0.8125, ciou_gated=0.8125, eiou=0.75 + 0.0625 + 0.5,
        siou=0.75 + (2 * (1 - math.exp(-1 / 16)) + 2 * (1 - math.exp(-0.5))**4) / 2,
        wiou_v1=math.exp(1 / 16) * 0.75, nwd=1 - math.exp(-5 / 12.8),
        # MPDIoU: d1 = 0, d2^2 = 5^2 + 5^2 -> 50/2500; Shape-IoU: rho^2/c^2 = 1/16,
        # omega 1/2 twice; PIoU: P = ((0 + 5)/10 + (0 + 5)/10)/4 = 1/4
        mpdiou=0.75 + 0.02, shape_iou=0.75 + 1 / 16 + _SHAPE / 2,
        **_piou(0.25, 0.25), balanced_l1=_balanced_l1(0, 0, 5, 5),
        l1=(0, 0, 5, 5), l2=(0, 0, 25, 25), smooth_l1=(0, 0, 4.5, 4.5))),
    # side by side (touching): IoU 0, union 200, C 20x10 = 200 -> hull 0 -> GIoU 1;
    # rho^2 = 10^2, c^2 = 20^2 + 10^2 = 500 -> DIoU 1.2; same sizes: v = 0, EIoU 1.2;
    # SIoU: s = (-10, 0), Lambda 0, gamma 2, Delta = 1 - e^(-2 (10/20)^2), Omega 0;
    # WIoU: e^(100/500); NWD: W2 = 10.
    LocationCase('side_by_side', (10, 0, 20, 10), (0, 0, 10, 10), dict(
        iou_log=LOG_FLOOR, iou_linear=1.0, iou_square=1.0, giou=1.0, diou=1.2,
        ciou=1.2, ciou_gated=1.2, eiou=1.2, siou=1 + (1 - math.exp(-0.5)) / 2,
        wiou_v1=math.exp(0.2), nwd=1 - math.exp(-10 / 12.8),
        # MPDIoU: d1^2 = d2^2 = 100 -> 200/2500; Shape-IoU = DIoU (same sizes);
        # PIoU: P = ((10 + 10)/10 + 0)/4 = 1/2
        mpdiou=1 + 0.08, shape_iou=1.2, **_piou(0.0, 0.5),
        balanced_l1=_balanced_l1(10, 0, 10, 0),
        l1=(10, 0, 10, 0), l2=(100, 0, 100, 0), smooth_l1=(9.5, 0, 9.5, 0))),
    # diagonal neighbours: IoU 0, union 200, C 20x20 = 400 -> hull 1/2 -> GIoU 1.5;
    # rho^2 = 200, c^2 = 800 -> DIoU 1.25; SIoU: s = (-10,-10), Lambda 1, gamma 1,
    # Delta = 2 (1 - e^-(10/20)^2); WIoU e^(1/4); NWD W2 = sqrt(200).
    LocationCase('diagonal', (10, 10, 20, 20), (0, 0, 10, 10), dict(
        iou_log=LOG_FLOOR, iou_linear=1.0, iou_square=1.0, giou=1.5, diou=1.25,
        ciou=1.25, ciou_gated=1.25, eiou=1.25, siou=1 + (1 - math.exp(-0.25)),
        wiou_v1=math.exp(0.25), nwd=1 - math.exp(-math.sqrt(200) / 12.8),
        # MPDIoU: d1^2 = d2^2 = 200 -> 400/2500; Shape-IoU = DIoU; PIoU: P = (2 + 2)/4
        mpdiou=1 + 0.16, shape_iou=1.25, **_piou(0.0, 1.0),
        balanced_l1=_balanced_l1(10, 10, 10, 10),
        l1=(10, 10, 10, 10), l2=(100, 100, 100, 100),
        smooth_l1=(9.5, 9.5, 9.5, 9.5))),
    # offset overlap: inter 5x5 = 25, union 175, IoU 1/7; C 15x15 = 225 -> hull 2/9;
    # rho^2 = 50, c^2 = 450 -> 1/9; same sizes: v = 0, no EIoU size terms;
    # SIoU: s = (-5,-5), gamma 1, Delta = 2 (1 - e^-(5/15)^2); NWD W2 = sqrt(50).
    LocationCase('offset_overlap', (5, 5, 15, 15), (0, 0, 10, 10), dict(
        iou_log=math.log(7), iou_linear=6 / 7, iou_square=1 - 1 / 49,
        giou=6 / 7 + 2 / 9, diou=6 / 7 + 1 / 9, ciou=6 / 7 + 1 / 9,
        ciou_gated=6 / 7 + 1 / 9, eiou=6 / 7 + 1 / 9,
        siou=6 / 7 + (1 - math.exp(-1 / 9)), wiou_v1=math.exp(1 / 9) * 6 / 7,
        nwd=1 - math.exp(-math.sqrt(50) / 12.8),
        # MPDIoU: d1^2 = d2^2 = 50 -> 100/2500; Shape-IoU = DIoU; PIoU: P = (1 + 1)/4
        mpdiou=6 / 7 + 0.04, shape_iou=6 / 7 + 1 / 9, **_piou(1 / 7, 0.5),
        balanced_l1=_balanced_l1(5, 5, 5, 5),
        l1=(5, 5, 5, 5), l2=(25, 25, 25, 25), smooth_l1=(4.5, 4.5, 4.5, 4.5))),
    # wide, same centre: pred 14x10, inter 100, union 140, IoU 5/7; C = B -> hull 0;
    # rho 0; CIoU a v with v = 0.013161, a = v/(2/7 + v); IoU >= 0.5 so the gate is
    # open; EIoU: (14-10)^2/14^2 = 4/49; SIoU: s = 0 -> Delta 0,
    # omega_w = 4/14, omega_h = 0; NWD: W2^2 = (4^2 + 0)/4 = 4.
    LocationCase('wide_centred', (-2, 0, 12, 10), (0, 0, 10, 10), dict(
        iou_log=math.log(7 / 5), iou_linear=2 / 7, iou_square=1 - 25 / 49,
        giou=2 / 7, diou=2 / 7, ciou=2 / 7 + _A_WIDE * _V_WIDE,
        ciou_gated=2 / 7 + _A_WIDE * _V_WIDE, eiou=2 / 7 + 4 / 49,
        siou=2 / 7 + (1 - math.exp(-2 / 7))**4 / 2, wiou_v1=2 / 7,
        nwd=1 - math.exp(-2 / 12.8),
        # MPDIoU: d1^2 = d2^2 = 2^2 -> 8/2500; Shape-IoU: rho 0, omega_w = 4/14;
        # PIoU: P = ((2 + 2)/10 + 0)/4 = 0.1
        mpdiou=2 / 7 + 8 / 2500, shape_iou=2 / 7 + (1 - math.exp(-2 / 7))**4 / 2,
        **_piou(5 / 7, 0.1), balanced_l1=_balanced_l1(2, 0, 2, 0),
        l1=(2, 0, 2, 0), l2=(4, 0, 4, 0), smooth_l1=(1.5, 0, 1.5, 0))),
    # tall, low IoU: pred 4x8 at the corner, inter 32, union 100, IoU 0.32; C = G;
    # centres (2,4)/(5,5): rho^2 = 10, c^2 = 200 -> 0.05; v = 0.041426, gate closed
    # (IoU < 0.5) -> ciou_gated = DIoU; EIoU: 6^2/10^2 + 2^2/10^2 = 0.4;
    # SIoU: s = (3,1), Lambda = 2*3/10 = 0.6, gamma 1.4, C 10x10,
    # omega_w = 6/10, omega_h = 2/10; WIoU e^(1/20) 0.68; NWD W2^2 = 10 + 40/4 = 20.
    LocationCase('tall_low_iou', (0, 0, 4, 8), (0, 0, 10, 10), dict(
        iou_log=-math.log(0.32), iou_linear=0.68, iou_square=1 - 0.32**2,
        giou=0.68, diou=0.73, ciou=0.73 + _A_TALL * _V_TALL, ciou_gated=0.73,
        eiou=0.73 + 0.36 + 0.04,
        siou=0.68 + ((1 - math.exp(-1.4 * 0.09)) + (1 - math.exp(-1.4 * 0.01)) +
                     (1 - math.exp(-0.6))**4 + (1 - math.exp(-0.2))**4) / 2,
        wiou_v1=math.exp(0.05) * 0.68, nwd=1 - math.exp(-math.sqrt(20) / 12.8),
        # MPDIoU: d1 = 0, d2^2 = 6^2 + 2^2 = 40; Shape-IoU: rho^2/c^2 = 0.05,
        # omega 6/10 and 2/10; PIoU: P = (6/10 + 2/10)/4 = 0.2
        mpdiou=0.68 + 40 / 2500,
        shape_iou=0.73 + ((1 - math.exp(-0.6))**4 + (1 - math.exp(-0.2))**4) / 2,
        **_piou(0.32, 0.2), balanced_l1=_balanced_l1(0, 0, 6, 2),
        l1=(0, 0, 6, 2), l2=(0, 0, 36, 4), smooth_l1=(0, 0, 5.5, 1.5))),
    # cross: 4x10 over 10x4, same centre: inter 16, union 64, IoU 1/4; C 10x10 = 100
    # -> hull 36/100; rho 0 (DIoU = linear IoU loss); v = 0.34091, gate closed;
    # EIoU: 6^2/10^2 twice = 0.72; SIoU: Delta 0, omega_w = omega_h = 6/10;
    # NWD: W2^2 = (36 + 36)/4 = 18.
    LocationCase('cross', (3, 0, 7, 10), (0, 3, 10, 7), dict(
        iou_log=math.log(4), iou_linear=0.75, iou_square=1 - 1 / 16, giou=1.11,
        diou=0.75, ciou=0.75 + _A_CROSS * _V_CROSS, ciou_gated=0.75,
        eiou=0.75 + 0.72, siou=0.75 + (1 - math.exp(-0.6))**4, wiou_v1=0.75,
        nwd=1 - math.exp(-math.sqrt(18) / 12.8),
        # MPDIoU: d1^2 = d2^2 = 3^2 + 3^2 -> 36/2500; Shape-IoU: rho 0, omega 6/10
        # twice; PIoU with the 10 x 4 target: P = ((3 + 3)/10 + (3 + 3)/4)/4 = 0.525
        mpdiou=0.75 + 36 / 2500, shape_iou=0.75 + (1 - math.exp(-0.6))**4,
        **_piou(0.25, 0.525), balanced_l1=_balanced_l1(3, 3, 3, 3),
        l1=(3, 3, 3, 3), l2=(9, 9, 9, 9), smooth_l1=(2.5, 2.5, 2.5, 2.5))),
    # near miss (Smooth L1's quadratic branch): pred 9.5x10.2, inter 95,
    # union 101.9; C 10x10.2 = 102 -> hull 0.1/102; centres (5.25,5.1)/(5,5):
    # rho^2 = 0.0725, c^2 = 10^2 + 10.2^2 = 204.04; EIoU 0.5^2/10^2 + 0.2^2/10.2^2;
    # SIoU: s = (-0.25,-0.1), Lambda = 0.05/0.0725, C 10x10.2, omega_w = 0.5/10,
    # omega_h = 0.2/10.2; NWD W2^2 = 0.0725 + (0.25 + 0.04)/4 = 0.145.
    LocationCase('near', (0.5, 0, 10, 10.2), (0, 0, 10, 10), dict(
        iou_log=-math.log(_IOU_NEAR), iou_linear=1 - _IOU_NEAR,
        iou_square=1 - _IOU_NEAR**2, giou=1 - _IOU_NEAR + 0.1 / 102,
        diou=1 - _IOU_NEAR + 0.0725 / 204.04,
        ciou=1 - _IOU_NEAR + 0.0725 / 204.04 + _A_NEAR * _V_NEAR,
        ciou_gated=1 - _IOU_NEAR + 0.0725 / 204.04 + _A_NEAR * _V_NEAR,
        eiou=1 - _IOU_NEAR + 0.0725 / 204.04 + 0.25 / 100 + 0.04 / 10.2**2,
        siou=1 - _IOU_NEAR + (
            (1 - math.exp(-_GAMMA_NEAR * (0.25 / 10)**2)) +
            (1 - math.exp(-_GAMMA_NEAR * (0.1 / 10.2)**2)) +
            (1 - math.exp(-0.05))**4 + (1 - math.exp(-0.2 / 10.2))**4) / 2,
        wiou_v1=math.exp(0.0725 / 204.04) * (1 - _IOU_NEAR),
        nwd=1 - math.exp(-math.sqrt(0.145) / 12.8),
        # MPDIoU: d1^2 = 0.5^2, d2^2 = 0.2^2 -> 0.29/2500; Shape-IoU: DIoU's distance,
        # omega 0.5/10 and 0.2/10.2; PIoU: P = (0.5/10 + 0.2/10)/4 = 0.0175
        mpdiou=1 - _IOU_NEAR + 0.29 / 2500,
        shape_iou=1 - _IOU_NEAR + 0.0725 / 204.04 + (
            (1 - math.exp(-0.05))**4 + (1 - math.exp(-0.2 / 10.2))**4) / 2,
        **_piou(_IOU_NEAR, 0.0175), balanced_l1=_balanced_l1(0.5, 0, 0, 0.2),
        l1=(0.5, 0, 0, 0.2), l2=(0.25, 0, 0, 0.04), smooth_l1=(0.125, 0, 0, 0.02))),
)

CASES_BY_NAME = {case.name: case for case in CASES}


class VariantCase(NamedTuple):
    """A loss with non-default hyper-parameters on one pair of ``CASES``."""
    loss: str               # key of tests/location_specs.py LOSSES
    kwargs: Dict[str, object]
    case: str               # name in CASES
    expected: Union[float, Tuple[float, ...]]


_QUARTER_SIOU_PENALTY = (2 * (1 - math.exp(-1 / 16)) + 2 * (1 - math.exp(-0.5))**4) / 2

VARIANT_CASES = (
    # Alpha-IoU (alpha = 3): 1 - IoU^3 + sum P^3.
    # quarter: IoU 1/4 -> 1 - 1/64; GIoU hull 0; DIoU (1/16)^3 = 1/4096;
    # EIoU size terms (1/4)^3 each; SIoU ((Delta + Omega)/2)^3; WIoU e^(1/16)(1 - 1/64).
    VariantCase('iou_linear', dict(alpha=3.0), 'quarter_inside', 1 - 1 / 64),
    VariantCase('giou', dict(alpha=3.0), 'quarter_inside', 1 - 1 / 64),
    VariantCase('diou', dict(alpha=3.0), 'quarter_inside', 1 - 1 / 64 + 1 / 4096),
    VariantCase('eiou', dict(alpha=3.0), 'quarter_inside',
                1 - 1 / 64 + 1 / 4096 + 2 / 64),
    VariantCase('siou', dict(alpha=3.0), 'quarter_inside',
                1 - 1 / 64 + _QUARTER_SIOU_PENALTY**3),
    VariantCase('wiou_v1', dict(alpha=3.0), 'quarter_inside',
                math.exp(1 / 16) * (1 - 1 / 64)),
    # diagonal: IoU 0; GIoU hull (1/2)^3; DIoU (1/4)^3.
    VariantCase('giou', dict(alpha=3.0), 'diagonal', 1 + 1 / 8),
    VariantCase('diou', dict(alpha=3.0), 'diagonal', 1 + 1 / 64),
    # CIoU alpha 3 on wide_centred: 1 - (5/7)^3 + (a v)^3 (rho = 0).
    VariantCase('ciou', dict(alpha=3.0), 'wide_centred',
                1 - (5 / 7)**3 + (_A_WIDE * _V_WIDE)**3),
    # Alpha-IoU alpha = 1/2 on offset_overlap: 1 - (1/7)^(1/2) + (2/9)^(1/2).
    VariantCase('giou', dict(alpha=0.5), 'offset_overlap',
                1 - math.sqrt(1 / 7) + math.sqrt(2 / 9)),
    # Focal-EIoU, gamma 1/2: IoU^gamma EIoU = (1/4)^(1/2) * 1.3125 on the quarter.
    VariantCase('eiou', dict(focal_gamma=0.5), 'quarter_inside', 0.5 * 1.3125),
    # SIoU theta 2: Omega = 2 (1 - e^(-1/2))^2 on the quarter.
    VariantCase('siou', dict(theta=2.0), 'quarter_inside',
                0.75 + (2 * (1 - math.exp(-1 / 16)) + 2 * (1 - math.exp(-0.5))**2) / 2),
    # NWD with C = 5 on the quarter: 1 - e^(-5/5).
    VariantCase('nwd', dict(constant=5.0), 'quarter_inside', 1 - math.exp(-1)),
    # Smooth L1 beta 0.4 on 'near' (diffs 0.5, 0, 0, 0.2): 0.5 - 0.4/2 = 0.3 (linear
    # branch) and 0.5 * 0.2^2 / 0.4 = 0.05 (quadratic branch).
    VariantCase('smooth_l1', dict(beta=0.4), 'near', (0.3, 0, 0, 0.05)),
    # WIoU v3 on the quarter (L_IoU = 3/4), r = beta / (delta alpha^(beta - delta)):
    # running mean 1/4 -> beta = 3 = delta -> r = 1 -> v3 = v1;
    # running mean 3/4 -> beta = 1 -> r = 1.9^2 / 3.
    VariantCase('wiou_v3', dict(iou_loss_mean=0.25), 'quarter_inside',
                math.exp(1 / 16) * 0.75),
    VariantCase('wiou_v3', dict(iou_loss_mean=0.75), 'quarter_inside',
                math.exp(1 / 16) * 0.75 * 1.9**2 / 3),
    # WIoU v2 (gamma 1/2) on the quarter (L_IoU = 3/4), beta = L_IoU / mean:
    # mean 3/4 -> beta 1 -> v2 = v1; mean 3/16 -> beta 4 -> v2 = 4^(1/2) v1 = 2 v1.
    VariantCase('wiou_v2', dict(iou_loss_mean=0.75), 'quarter_inside',
                math.exp(1 / 16) * 0.75),
    VariantCase('wiou_v2', dict(iou_loss_mean=3 / 16), 'quarter_inside',
                2 * math.exp(1 / 16) * 0.75),
    # MPDIoU with COCO's input size (1333, 800) on the quarter: d2^2 = 50.
    VariantCase('mpdiou', dict(image_size=(1333, 800)), 'quarter_inside',
                0.75 + 50 / (1333**2 + 800**2)),
    # Alpha-MPDIoU (alpha 3) side by side: 1 - 0 + 2 (100 / 2500)^3.
    VariantCase('mpdiou', dict(alpha=3.0), 'side_by_side', 1 + 2 * 0.04**3),
    # Shape-IoU scale 1 on the cross (target 10 x 4): ww = 2*10/14 = 10/7,
    # hh = 2*4/14 = 4/7; rho 0; omega_w = hh * 6/10 = 2.4/7, omega_h = ww * 6/10 = 6/7.
    VariantCase('shape_iou', dict(scale=1.0), 'cross',
                0.75 + ((1 - math.exp(-2.4 / 7))**4 + (1 - math.exp(-6 / 7))**4) / 2),
    # Shape-IoU theta 2 on the quarter: Omega = 2 (1 - e^(-1/2))^2, halved.
    VariantCase('shape_iou', dict(theta=2.0), 'quarter_inside',
                0.75 + 1 / 16 + (1 - math.exp(-0.5))**2),
    # PIoU v2 with lambda 1 on the diagonal: P = 1, x = e^-1,
    # u = 3 e^-1 exp(-e^-2); v1 = 2 - e^-1.
    VariantCase('piou_v2', dict(focus_lambda=1.0), 'diagonal',
                3 * math.exp(-1) * math.exp(-math.exp(-2)) * (2 - math.exp(-1))),
    # Alpha-PIoU (alpha 2) on the diagonal: 1 - 0 + (1 - e^-1)^2.
    VariantCase('piou', dict(alpha=2.0), 'diagonal', 1 + (1 - math.exp(-1))**2),
    # Balanced L1 beta 0.4 on 'near' (diffs 0.5, 0, 0, 0.2): 0.5 >= beta is linear,
    # 1.5 * 0.5 + 1.5/b - 0.5 * 0.4; 0.2 < beta: 0.5/b (0.2 b + 1) ln(0.2 b / 0.4 + 1)
    # - 0.5 * 0.2.
    VariantCase('balanced_l1', dict(beta=0.4), 'near', (
        0.75 + 1.5 / _B - 0.2, 0, 0,
        0.5 / _B * (0.2 * _B + 1) * math.log(0.5 * _B + 1) - 0.1)),
    # Inner-GIoU, ratio 0.8 on the quarter: auxiliary boxes (0.5,0.5,4.5,4.5) and
    # (1,1,9,9): inter 3.5^2 = 12.25, union 16 + 64 - 12.25 = 67.75;
    # GIoU 0.75 + IoU 1/4 - 12.25/67.75.
    VariantCase('giou', dict(inner_ratio=0.8), 'quarter_inside', 1 - 12.25 / 67.75),
    # ratio 1.5 side by side: (7.5,-2.5,22.5,12.5) and (-2.5,-2.5,12.5,12.5):
    # inter 5 x 15 = 75, union 450 - 75 = 375, IoU_inner 0.2: 1 + 0 - 0.2 (a gradient
    # for touching boxes, where IoU has none).
    VariantCase('giou', dict(inner_ratio=1.5), 'side_by_side', 0.8),
    # Inner-IoU ratio 1.5 on the diagonal: (7.5,7.5,22.5,22.5), (-2.5,-2.5,12.5,12.5):
    # inter 5 x 5, union 450 - 25: 1 - 25/425.
    VariantCase('iou_linear', dict(inner_ratio=1.5), 'diagonal', 1 - 25 / 425),
    # Focaler-GIoU on the quarter (IoU 1/4): (0, 0.5) maps it to 1/2,
    # 0.75 + 0.25 - 0.5; (0.5, 1) to 0, 0.75 + 0.25.
    VariantCase('giou', dict(focaler_range=(0.0, 0.5)), 'quarter_inside', 0.5),
    VariantCase('giou', dict(focaler_range=(0.5, 1.0)), 'quarter_inside', 1.0),
    # Focaler-DIoU (0.1, 0.9) on offset_overlap: IoU 1/7 -> (1/7 - 0.1) / 0.8.
    VariantCase('diou', dict(focaler_range=(0.1, 0.9)), 'offset_overlap',
                6 / 7 + 1 / 9 + 1 / 7 - (1 / 7 - 0.1) / 0.8),
    # Focaler-CIoU (0, 0.6) on wide_centred: IoU 5/7 > u -> 1: CIoU + 5/7 - 1 = a v.
    VariantCase('ciou', dict(focaler_range=(0.0, 0.6)), 'wide_centred',
                _A_WIDE * _V_WIDE),
    # Both on the quarter: IoU_inner 12.25/67.75 (ratio 0.8), then (0, 0.5) doubles
    # it: 0.75 + 0.25 - 2 * 12.25/67.75.
    VariantCase('giou', dict(inner_ratio=0.8, focaler_range=(0.0, 0.5)),
                'quarter_inside', 1 - 2 * 12.25 / 67.75),
    # With Alpha-IoU (alpha 3) the modified IoU takes the power: 1 - (1/2)^3 + 0.
    VariantCase('giou', dict(alpha=3.0, focaler_range=(0.0, 0.5)), 'quarter_inside',
                0.875),
    # PIoU v2 + Focaler (0, 0.5): the correction IoU - IoU_focaler = 1/4 - 1/2 is added
    # to the focused loss.
    VariantCase('piou_v2', dict(focaler_range=(0.0, 0.5)), 'quarter_inside',
                _piou(0.25, 0.25)['piou_v2'] - 0.25),
    # Inner-MPDIoU and Inner-Shape-IoU, ratio 0.8 on the quarter: + 1/4 - 12.25/67.75.
    VariantCase('mpdiou', dict(inner_ratio=0.8), 'quarter_inside',
                0.77 + 0.25 - 12.25 / 67.75),
    VariantCase('shape_iou', dict(inner_ratio=0.8), 'quarter_inside',
                0.75 + 1 / 16 + _SHAPE / 2 + 0.25 - 12.25 / 67.75),
)
