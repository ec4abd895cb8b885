"""Baseline driver: run ``deface`` (its own CenterFace wrapper, default settings) on photos.

Runs INSIDE a separate virtualenv that has ``deface`` and ``opencv-python-headless`` (never the
project's .venv); ``benchmarks/faces_photos.py`` starts it as a subprocess::

    /tmp/deface-venv/bin/python benchmarks/deface_driver.py OUT.json IMAGE...

For each image it reproduces exactly what ``deface`` does to a photo with its defaults: read with
imageio (RGB), detect at the image's own size with threshold 0.2, enlarge each box with
``scale_bb(mask_scale=1.3)`` and clip it to the frame. It writes ``{file: {"boxes": [[x, y, w, h],
...], "seconds": s}}`` where ``seconds`` is the detection time (model already loaded), plus
``"_backend"``: which backend deface picked ("opencv" unless onnx and onnxruntime are installed
in that virtualenv too).
"""

import json
import sys
import time

import imageio.v2 as iio
from deface.centerface import CenterFace
from deface.deface import scale_bb

THRESHOLD = 0.2  # deface --thresh default
MASK_SCALE = 1.3  # deface --mask-scale default


def main() -> None:
    out_path, paths = sys.argv[1], sys.argv[2:]
    centerface = CenterFace(in_shape=None, backend="auto")
    results = {}
    warm = iio.imread(paths[0])
    centerface(warm, threshold=THRESHOLD)  # first run pays one-off allocation costs
    for path in paths:
        frame = iio.imread(path)
        if frame.ndim == 3 and frame.shape[2] == 4:
            frame = frame[:, :, :3]
        start = time.perf_counter()
        dets, _ = centerface(frame, threshold=THRESHOLD)
        seconds = time.perf_counter() - start
        boxes = []
        for det in dets:
            x1, y1, x2, y2 = det[:4].astype(int)
            x1, y1, x2, y2 = scale_bb(x1, y1, x2, y2, MASK_SCALE)
            # same clipping as deface.anonymize_frame
            y1, y2 = max(0, y1), min(frame.shape[0] - 1, y2)
            x1, x2 = max(0, x1), min(frame.shape[1] - 1, x2)
            boxes.append([int(x1), int(y1), int(x2 - x1), int(y2 - y1)])
        results[path] = {"boxes": boxes, "seconds": seconds}
    results["_backend"] = centerface.backend
    with open(out_path, "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
