"""Sideways faces: the shared videos and photos turned 90 and 270 degrees, with their boxes turned too.

The shared data is all upright (WIDER FACE, the pan/zoom video, the Hamilton clip), so it cannot show
whether a face lying on its side -- a person lying down, a phone held sideways, a wrong rotation flag
-- is found. This script makes that material under ``--out`` (default /tmp/rot; never inside
../shared/data, which is read-only):

- ``video/``: for each of panzoom, hamilton, motion_A and motion_B (the clips ``faces_video.py``
  scores) the upright clip and its boxes (``NAME.mp4``, ``NAME.truth.json``), and the clip turned
  clockwise by 90 and by 270 degrees in the pixels (ffmpeg ``transpose``, re-encoded at crf 16), with
  the boxes turned the same way (``NAME_r90.mp4``, ``NAME_r90.truth.json``, ...). Hamilton has no
  ground truth: its reference faces (``faces_video.reference_faces``) are found on the upright clip and
  then turned -- the photo detector cannot be the judge of sideways faces.
- ``photos/{A,B}_r{90,270}/``: each half of ../shared/data/faces (``face_scoring.split_halves``) turned
  the same way (JPEG quality 95), with ``annotations.json`` in the shared format.

Every turned annotation carries ``"rotation"`` (clockwise degrees). A turned face's own height (brow to
chin) is its box's *width*: ``faces_video.score`` and ``faces_rotated.py`` count a face as >= 24 px by
that own height, so the faces counted are the same as on the upright material.

    nice -n 10 .venv/bin/python benchmarks/rotated_material.py [--out /tmp/rot] [--only video photos]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

ANGLES = (90, 270)  # clockwise degrees
VIDEOS = ("panzoom", "hamilton", "motion_A", "motion_B")
_TRANSPOSE = {90: "transpose=clock", 270: "transpose=cclock"}


def turn_box(box: list[float], width: int, height: int, angle: int) -> list[float]:
    """``[x, y, w, h]`` in a ``width`` x ``height`` picture -> the same box once the picture is turned
    clockwise by ``angle`` (90 or 270) degrees (the new picture is ``height`` x ``width``)."""
    x, y, w, h = box
    if angle == 90:  # (x, y) -> (height - y, x)
        return [round(height - y - h, 2), round(x, 2), round(h, 2), round(w, 2)]
    if angle == 270:  # (x, y) -> (y, width - x)
        return [round(y, 2), round(width - x - w, 2), round(h, 2), round(w, 2)]
    raise ValueError("angle must be 90 or 270")


def turn_video_annotations(annotations: dict[str, Any], angle: int) -> dict[str, Any]:
    width, height = annotations["width"], annotations["height"]
    frames = {key: {**value, "boxes": [turn_box(b, width, height, angle) for b in value["boxes"]]}
              for key, value in annotations["frames"].items()}
    return {**annotations, "width": height, "height": width, "rotation": angle, "frames": frames}


def turn_video(src: Path, dst: Path, angle: int) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf", _TRANSPOSE[angle], "-an",
                    "-c:v", "libx264", "-preset", "fast", "-crf", "16", "-pix_fmt", "yuv420p", str(dst)],
                   check=True)


def upright_video(name: str, folder: Path) -> tuple[Path, dict[str, Any]]:
    """The upright clip ``name`` (copied or generated into ``folder``) and its boxes (cached)."""
    import faces_video as fv

    video, truth = folder / f"{name}.mp4", folder / f"{name}.truth.json"
    if not (video.exists() and truth.exists()):
        if name == "panzoom":
            shutil.copyfile(fv.VIDEO, video)
            annotations = json.loads(fv.ANNOTATIONS.read_text())
        elif name == "hamilton":
            shutil.copyfile(fv.HAMILTON, video)
            annotations = fv.reference_faces(video)
        else:
            annotations = fv.make_motion_clip(name.split("_")[1], video)
        truth.write_text(json.dumps(annotations))
    return video, json.loads(truth.read_text())


def make_videos(out: Path) -> None:
    folder = out / "video"
    folder.mkdir(parents=True, exist_ok=True)
    for name in VIDEOS:
        video, annotations = upright_video(name, folder)
        for angle in ANGLES:
            turned = folder / f"{name}_r{angle}.mp4"
            if not turned.exists():
                turn_video(video, turned, angle)
            (folder / f"{name}_r{angle}.truth.json").write_text(json.dumps(turn_video_annotations(annotations, angle)))
        print(f"video: {name} and its turned copies in {folder}", flush=True)


def make_photos(out: Path) -> None:
    from face_scoring import split_halves
    from faces_video import DATA
    from PIL import Image

    source = DATA / "faces"
    images = json.loads((source / "annotations.json").read_text())["images"]
    halves = dict(zip("AB", split_halves([i["file"] for i in images]), strict=True))
    for half, names in halves.items():
        chosen = [i for i in images if i["file"] in set(names)]
        for angle in ANGLES:
            folder = out / "photos" / f"{half}_r{angle}"
            folder.mkdir(parents=True, exist_ok=True)
            turned = []
            for image in chosen:
                target = folder / image["file"]
                if not target.exists():
                    with Image.open(source / image["file"]) as photo:
                        # PIL's rotate is counter-clockwise: -angle turns clockwise
                        photo.convert("RGB").rotate(-angle, expand=True).save(target, quality=95)
                w, h = image["width"], image["height"]
                turned.append({**image, "width": h, "height": w, "rotation": angle,
                               "faces": [turn_box(b, w, h, angle) for b in image["faces"]]})
            (folder / "annotations.json").write_text(json.dumps({"images": turned}))
            print(f"photos: half {half} turned {angle} -> {folder} ({len(turned)} photos)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/rot"))
    parser.add_argument("--only", nargs="*", default=["video", "photos"])
    args = parser.parse_args()
    if "video" in args.only:
        make_videos(args.out)
    if "photos" in args.only:
        make_photos(args.out)


if __name__ == "__main__":
    main()
