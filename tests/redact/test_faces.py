"""Face detection on real photos (../shared/data), with the real CenterFace model."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from app.errors import IntegrityError
from app.redact.centerface import MODEL_SHA256, CenterFaceModel, model_path
from app.redact.faces import Box, DetectorConfig, FaceDetector, Pass, run_pass
from app.redact.photo import load_oriented_rgb
from tests.conftest import shared_data_path

# Where the astronaut's face is in png_rgb_face_astronaut.png (512x512), checked by eye.
ASTRONAUT_FACE = (180, 60, 270, 175)  # x1, y1, x2, y2


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def _covered_fraction(face: list[float], boxes: list[Box], width: int, height: int) -> float:
    mask = np.zeros((height, width), dtype=bool)
    for b in boxes:
        mask[b.y:b.y2, b.x:b.x2] = True
    x, y, w, h = (round(v) for v in face)
    region = mask[max(0, y):y + h, max(0, x):x + w]
    return float(region.mean()) if region.size else 1.0


def test_finds_and_covers_the_astronaut(detector: FaceDetector) -> None:
    path = shared_data_path("media", "png_rgb_face_astronaut.png")
    width, height, boxes = detector.detect_image_file(path)
    assert (width, height) == (512, 512)
    assert len(boxes) >= 1
    x1, y1, x2, y2 = ASTRONAUT_FACE
    assert _covered_fraction([x1, y1, x2 - x1, y2 - y1], boxes, width, height) == 1.0
    # the box is padded but still a face-sized box, not the whole picture
    best = boxes[0]
    assert best.score > 0.5
    assert best.w * best.h < 0.3 * width * height
    assert all(b.x >= 0 and b.y >= 0 and b.x2 <= width and b.y2 <= height for b in boxes)


@pytest.mark.parametrize(
    "name",
    [
        "13_Interview_Interview_On_Location_13_138.jpg",
        "19_Couple_Couple_19_743.jpg",
        "4_Dancing_Dancing_4_375.jpg",
    ],
)
def test_covers_annotated_faces_in_real_photos(detector: FaceDetector, name: str) -> None:
    folder = shared_data_path("faces")
    annotations = json.loads((folder / "annotations.json").read_text())
    entry = next(image for image in annotations["images"] if image["file"] == name)
    width, height, boxes = detector.detect_image_file(folder / name)
    assert (width, height) == (entry["width"], entry["height"])
    faces = [f for f, ignored in zip(entry["faces"], entry["ignore"], strict=True) if not ignored and f[3] >= 24]
    assert faces, "test photo must contain faces >= 24 px"
    fractions = [_covered_fraction(f, boxes, width, height) for f in faces]
    covered = sum(fr >= 0.9 for fr in fractions)
    assert covered == len(faces), f"{name}: only {covered}/{len(faces)} faces covered: {fractions}"


@pytest.mark.parametrize("name", ["neg_skimage_coffee.jpg", "neg_skimage_moon.jpg", "neg_skimage_clock_motion.jpg"])
def test_no_boxes_on_face_free_photos(detector: FaceDetector, name: str) -> None:
    _, _, boxes = detector.detect_image_file(shared_data_path("faces", name))
    assert boxes == []


def test_boxes_follow_exif_orientation(detector: FaceDetector) -> None:
    path = shared_data_path("media", "jpeg_exif_orientation_6.jpg")
    with Image.open(path) as raw:
        stored = raw.size
    width, height, _ = detector.detect_image_file(path)
    # Orientation 6 is stored sideways: what a viewer sees (and what boxes refer to) is transposed.
    assert (width, height) == (stored[1], stored[0])


def test_rotated_and_mirrored_passes_map_back_to_the_same_face() -> None:
    rgb = load_oriented_rgb(shared_data_path("media", "png_rgb_face_astronaut.png"))[:, :400]
    model = CenterFaceModel.shared()
    x1, y1, x2, y2 = ASTRONAUT_FACE
    for flip in (False, True):
        for rotate in (0, 90, 270):
            dets = run_pass(model, rgb, scale=1.0, flip=flip, rotate=rotate, threshold=0.5)
            assert len(dets) >= 1, (flip, rotate)
            cx, cy = (dets[0, 0] + dets[0, 2]) / 2, (dets[0, 1] + dets[0, 3]) / 2
            assert x1 < cx < x2 and y1 < cy < y2, (flip, rotate, dets[0])


def test_model_run_at_reduced_input_size_returns_source_coordinates() -> None:
    rgb = load_oriented_rgb(shared_data_path("media", "png_rgb_face_astronaut.png"))
    model = CenterFaceModel.shared()
    full = model.run(rgb, threshold=0.5)
    small = model.run(rgb, input_size=(256, 256), threshold=0.5)
    assert len(full) >= 1 and len(small) >= 1
    assert small.dtype == np.float32 and small.shape[1] == 5
    # same face, same place (within a few pixels of 512x512), although the network saw 256x256
    assert np.abs(full[0, :4] - small[0, :4]).max() < 20


def test_empty_and_grey_input() -> None:
    model = CenterFaceModel.shared()
    assert model.run(np.zeros((0, 0, 3), dtype=np.uint8)).shape == (0, 5)
    assert model.run(np.full((64, 64), 128, dtype=np.uint8)).shape == (0, 5)


def test_model_info_records_the_model_and_settings(detector: FaceDetector) -> None:
    info = detector.model_info()
    assert info["model_sha256"] == MODEL_SHA256
    assert info["threshold"] == detector.config.threshold
    assert info["scales"] == [p.scale for p in detector.config.passes]
    assert set(info["padding"]) == {"side", "top", "bottom"}
    json.dumps(info)  # goes into the custody chain


def test_a_cheaper_config_still_works() -> None:
    config = DetectorConfig(passes=(Pass(0.5),), overview_size=0)
    _, _, boxes = FaceDetector(config).detect_image_file(shared_data_path("media", "png_rgb_face_astronaut.png"))
    assert len(boxes) >= 1


def test_altered_model_file_is_refused(tmp_path) -> None:
    altered = tmp_path / "centerface.onnx"
    shutil.copyfile(model_path(), altered)
    with altered.open("r+b") as handle:
        handle.seek(-10, 2)
        handle.write(b"\x00" * 10)
    with pytest.raises(IntegrityError):
        CenterFaceModel(altered).run(np.zeros((64, 64, 3), dtype=np.uint8))


def test_tiled_detection_finds_the_same_face_as_one_piece() -> None:
    path = shared_data_path("media", "png_rgb_face_astronaut.png")
    # The union of the detections is compared: no re-check box in place of it.
    whole = FaceDetector(DetectorConfig(passes=(Pass(1.0),), overview_size=0, min_support=1, refine_confirm=0.0))
    # 320 px tiles overlapping by 200 px: the 512 px photo is cut into 2 x 2 tiles
    tiled = FaceDetector(
        DetectorConfig(passes=(Pass(1.0),), overview_size=0, min_support=1, tile_size=320, tile_overlap=200,
                       refine_confirm=0.0)
    )
    _, _, expected = whole.detect_image_file(path)
    _, _, found = tiled.detect_image_file(path)
    assert found and expected
    big, ref = found[0], expected[0]
    # Detections cut at tile edges join their cluster, so the union may grow a little, never shrink.
    assert big.x <= ref.x + 2 and big.y <= ref.y + 2 and big.x2 >= ref.x2 - 2 and big.y2 >= ref.y2 - 2
    assert big.w * big.h < 1.5 * ref.w * ref.h


def test_box_to_list() -> None:
    assert Box(1, 2, 3, 4, 0.5).to_list() == [1, 2, 3, 4]


def test_fuse_keeps_a_zero_area_detection_instead_of_crashing() -> None:
    import numpy as np

    from app.redact.face_fusion import fuse

    dets = np.array([[10, 10, 10, 40, 0.9], [50, 50, 80, 90, 0.8]], dtype=np.float32)  # first: clipped to 0 px wide
    fused = fuse(dets, np.array([0, 0]), threshold=0.5, low_threshold=0.2, min_support=2, cluster_iou=0.3)
    assert len(fused) == 2


def _cluster_fixture() -> tuple[np.ndarray, np.ndarray]:
    """One face seen by all 4 passes (scores 0.3 each) and a texture one pass scores 0.35."""
    face = [[100, 100, 140, 150, 0.3], [102, 98, 142, 152, 0.3], [98, 101, 139, 149, 0.3], [101, 100, 141, 150, 0.3]]
    texture = [[300, 300, 312, 314, 0.35]]
    return np.array(face + texture, dtype=np.float32), np.array([0, 1, 2, 3, 0])


def test_mean_score_rule_drops_a_one_pass_texture_but_keeps_a_face_every_pass_sees() -> None:
    from app.redact.face_fusion import fuse

    dets, ids = _cluster_fixture()
    loose = fuse(dets, ids, threshold=0.2, low_threshold=0.1, min_support=3, cluster_iou=0.2)
    assert len(loose) == 2
    strict = fuse(dets, ids, threshold=0.2, low_threshold=0.1, min_support=3, cluster_iou=0.2,
                  min_mean_score=0.15, n_passes=4)
    assert len(strict) == 1 and strict[0][0] < 110  # the face (mean 0.3); the texture's mean is 0.0875
    # a sure one-pass detection, or one at least mean_rule_below_px tall, is kept without agreement
    sure = fuse(dets, ids, threshold=0.2, low_threshold=0.1, min_support=3, cluster_iou=0.2,
                min_mean_score=0.15, n_passes=4, sure_threshold=0.3)
    assert len(sure) == 2
    tall_only = fuse(dets, ids, threshold=0.2, low_threshold=0.1, min_support=3, cluster_iou=0.2,
                     min_mean_score=0.15, n_passes=4, mean_rule_below_px=10)
    assert len(tall_only) == 2


def test_merge_mean_stays_inside_the_union() -> None:
    from app.redact.face_fusion import fuse

    dets, ids = _cluster_fixture()
    union = fuse(dets, ids, threshold=0.2, low_threshold=0.1, min_support=3, cluster_iou=0.2)[0]
    mean = fuse(dets, ids, threshold=0.2, low_threshold=0.1, min_support=3, cluster_iou=0.2, merge="mean")[0]
    assert union[0] <= mean[0] and union[1] <= mean[1] and mean[2] <= union[2] and mean[3] <= union[3]
    with pytest.raises(ValueError):
        fuse(dets, ids, threshold=0.2, low_threshold=0.1, min_support=3, cluster_iou=0.2, merge="median")


def test_boxes_from_raw_is_what_detect_returns(detector: FaceDetector) -> None:
    """The benchmark scores settings through boxes_from_raw; it must be the detector's own path."""
    from app.redact.faces import boxes_from_raw

    rgb = load_oriented_rgb(shared_data_path("faces", "19_Couple_Couple_19_743.jpg"))
    dets, ids = detector.raw_detections(rgb)
    assert boxes_from_raw(dets, ids, rgb.shape[1], rgb.shape[0], detector.config,
                          recheck=detector.rechecker(rgb)) == detector.detect(rgb)


def test_default_padding_covers_a_detected_face_with_a_margin(detector: FaceDetector) -> None:
    from app.redact.faces import pad_boxes

    (box,) = pad_boxes(np.array([[100, 100, 140, 150, 0.9]], dtype=np.float32), 1000, 1000, detector.config)
    assert box.x < 100 and box.y < 100 and box.x2 > 140 and box.y2 > 150
    assert box.y < 100 - (box.y2 - 150) + 1  # more room above (forehead, hair) than below the chin


# --- The second look at unsure candidates (app.redact.face_verify) ----------------------------------

INTERVIEW = "13_Interview_Interview_On_Location_13_138.jpg"
# A patch of that photo the full-photo pass at scale 1.0 scores weakly (0.1 .. 0.3), on no annotated face.
INTERVIEW_TEXTURE = (479.0, 265.0, 493.0, 283.0)


def _small_interview_face() -> tuple[float, float, float, float]:
    """The smallest annotated (valid) face >= 10 px tall in INTERVIEW (14 px), as x1, y1, x2, y2."""
    annotations = json.loads(shared_data_path("faces", "annotations.json").read_text())
    entry = next(image for image in annotations["images"] if image["file"] == INTERVIEW)
    faces = [f for f, ignored in zip(entry["faces"], entry["ignore"], strict=True) if not ignored and f[3] >= 10]
    x, y, w, h = min(faces, key=lambda f: f[3])
    return x, y, x + w, y + h


def test_recheck_accepts_a_small_real_face_and_rejects_texture() -> None:
    from app.redact.face_verify import recheck

    rgb = load_oriented_rgb(shared_data_path("faces", INTERVIEW))
    candidates = np.array([[*_small_interview_face(), 0.15], [*INTERVIEW_TEXTURE, 0.15]], dtype=np.float32)
    scores, boxes = recheck(CenterFaceModel.shared(), rgb, candidates)
    threshold = FaceDetector().config.recheck_threshold
    assert scores[0] >= threshold + 0.2, scores  # the face, enlarged to the model's best size, scores high
    assert scores[1] < threshold / 2, scores  # the texture stays weak
    # the re-check's box is the face's, in photo coordinates
    fx1, fy1, fx2, fy2 = candidates[0, :4]
    bx1, by1, bx2, by2 = boxes[0]
    assert bx1 < (fx1 + fx2) / 2 < bx2 and by1 < (fy1 + fy2) / 2 < by2
    assert 0.5 < (by2 - by1) / (fy2 - fy1) < 2


def test_recheck_rejects_every_weak_candidate_on_a_face_free_photo() -> None:
    from app.redact.face_verify import recheck

    rgb = load_oriented_rgb(shared_data_path("faces", "neg_skimage_moon.jpg"))
    model = CenterFaceModel.shared()
    candidates = run_pass(model, rgb, scale=1.0, threshold=0.05)
    assert len(candidates), "the moon's craters must give the full-photo pass something to doubt"
    scores, _ = recheck(model, rgb, candidates)
    assert scores.max() < FaceDetector().config.recheck_threshold


def test_recheck_shortcut_gives_what_suppression_first_gives() -> None:
    """The re-check skips the crop's suppression when the crop's strongest box is the candidate's; on
    every candidate of a crowded real photo it must agree with suppressing first."""
    from app.redact import face_verify
    from app.redact.centerface import decode, nms

    rgb = load_oriented_rgb(shared_data_path("faces", "0_Parade_marchingband_1_593.jpg"))
    model = CenterFaceModel.shared()
    candidates = run_pass(model, rgb, scale=1.0, threshold=0.05)
    assert len(candidates) > 50
    scores, _ = face_verify.recheck(model, rgb, candidates, face_px=32, context=3)

    side = face_verify.crop_side(32, 3)
    for i, box in enumerate(candidates):
        left, top, k = face_verify._window(box, 32, side)
        heatmap, sizes, offsets = model.forward(face_verify._crop(rgb, left, top, k, side)[None])
        dets = decode(heatmap[0, 0], sizes[0], offsets[0], threshold=0.02, limit=(side, side))
        expected = 0.0
        if len(dets):
            dets = dets[nms(dets[:, :4], dets[:, 4], 0.3)]
            match = face_verify._matches(dets, *((box[:4] - [left, top, left, top]) * k))
            expected = float(dets[match, 4].max()) if match.any() else 0.0
        assert scores[i] == pytest.approx(expected, abs=1e-5), i
    # Decoding only from the lowest score that counts (what the detector asks for) changes nothing above it.
    from_counting, _ = face_verify.recheck(model, rgb, candidates, face_px=32, context=3, threshold=0.2)
    assert np.allclose(from_counting, np.where(scores >= 0.2, scores, 0.0), atol=1e-6)


def test_recheck_handles_candidates_at_the_border_and_none() -> None:
    from app.redact.face_verify import recheck

    rgb = load_oriented_rgb(shared_data_path("media", "png_rgb_face_astronaut.png"))
    model = CenterFaceModel.shared()
    scores, boxes = recheck(model, rgb, np.empty((0, 5), dtype=np.float32))
    assert scores.shape == (0,) and boxes.shape == (0, 4)
    # a candidate hanging over the corner, and one far outside the photo: no crash, zero scores outside
    edge = np.array([[-20, -20, 10, 15, 0.1], [5000, 5000, 5040, 5050, 0.1]], dtype=np.float32)
    scores, boxes = recheck(model, rgb, edge)
    assert scores.shape == (2,) and scores[1] == 0.0 and boxes.shape == (2, 4)
    # the astronaut's own face, whatever the crop size
    x1, y1, x2, y2 = ASTRONAUT_FACE
    face = np.array([[x1, y1, x2, y2, 0.2]], dtype=np.float32)
    assert recheck(model, rgb, face, face_px=24)[0][0] > 0.5
    assert recheck(model, rgb, face, face_px=64)[0][0] > 0.5


def test_the_shipped_detector_keeps_a_weak_face_only_because_of_the_recheck() -> None:
    """Two candidates the full-photo passes score alike (0.15, one pass): a real 14 px face and
    texture. The score cannot tell them apart; the re-check keeps the face and drops the texture.
    Fails if the shipped configuration stops re-checking."""
    from app.redact.faces import boxes_from_raw

    rgb = load_oriented_rgb(shared_data_path("faces", INTERVIEW))
    height, width = rgb.shape[:2]
    face = _small_interview_face()
    dets = np.array([[*face, 0.15], [*INTERVIEW_TEXTURE, 0.15]], dtype=np.float32)
    ids = np.array([0, 0], dtype=np.int32)
    detector = FaceDetector()
    assert detector.config.recheck_below > 0.15
    assert face[3] - face[1] < detector.config.recheck_size_px  # small: the re-check decides
    boxes = boxes_from_raw(dets, ids, width, height, detector.config, recheck=detector.rechecker(rgb))
    assert len(boxes) == 1
    fraction = _covered_fraction([face[0], face[1], face[2] - face[0], face[3] - face[1]], boxes, width, height)
    assert fraction >= 0.9
    tx1, ty1, tx2, ty2 = INTERVIEW_TEXTURE
    assert _covered_fraction([tx1, ty1, tx2 - tx1, ty2 - ty1], boxes, width, height) < 0.5
    # without the second look, the same two candidates are indistinguishable: both kept or both dropped
    plain = dataclasses.replace(detector.config, recheck_below=0.0)
    assert len(boxes_from_raw(dets, ids, width, height, plain)) in (0, 2)
    with pytest.raises(ValueError):
        boxes_from_raw(dets, ids, width, height, detector.config)  # a re-checking config needs the re-check


def test_model_forward_runs_a_batch_and_refuses_bad_shapes() -> None:
    from app.errors import InvalidInput

    model = CenterFaceModel.shared()
    heatmaps, sizes, offsets = model.forward(np.zeros((3, 3, 64, 96), dtype=np.float32))
    assert heatmaps.shape == (3, 1, 16, 24) and sizes.shape == (3, 2, 16, 24) and offsets.shape == (3, 2, 16, 24)
    with pytest.raises(InvalidInput):
        model.forward(np.zeros((1, 3, 60, 64), dtype=np.float32))


def test_recheck_takes_gray_and_rgba_photos_like_the_passes() -> None:
    from app.redact.face_verify import recheck

    rgb = load_oriented_rgb(shared_data_path("media", "png_rgb_face_astronaut.png"))
    x1, y1, x2, y2 = ASTRONAUT_FACE
    face = np.array([[x1, y1, x2, y2, 0.2]], dtype=np.float32)
    model = CenterFaceModel.shared()
    gray = rgb.mean(axis=2).astype(np.uint8)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, dtype=np.uint8)])
    assert recheck(model, gray, face)[0][0] > 0.3
    assert recheck(model, rgba, face)[0][0] == pytest.approx(recheck(model, rgb, face)[0][0])


# --- Box refinement and the size floor of shrinking passes ----------------------------------------


def test_a_confirmed_tall_cluster_is_boxed_by_the_recheck_not_the_union_of_its_neighbours() -> None:
    """The astronaut's face seen by one pass, plus a weak, much larger detection from another pass
    that overlaps it (as a crowd's neighbouring heads and texture do): the union is twice the face.
    The re-check confirms the face, so the box hugs it and still covers it; without refinement the
    box is the union."""
    from app.redact.faces import boxes_from_raw

    rgb = load_oriented_rgb(shared_data_path("media", "png_rgb_face_astronaut.png"))
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = ASTRONAUT_FACE
    sprawl = (x1 - 10, y1 - 5, x2 + 70, y2 + 60)  # IoU with the face about 0.34: one cluster
    dets = np.array([[x1, y1, x2, y2, 0.35], [*sprawl, 0.15]], dtype=np.float32)
    ids = np.array([0, 1], dtype=np.int32)
    detector = FaceDetector()
    assert detector.config.refine_confirm > 0
    (refined,) = boxes_from_raw(dets, ids, width, height, detector.config, recheck=detector.rechecker(rgb))
    face = [x1, y1, x2 - x1, y2 - y1]
    assert _covered_fraction(face, [refined], width, height) >= 0.9
    unrefined = boxes_from_raw(dets, ids, width, height, dataclasses.replace(detector.config, refine_confirm=0.0),
                               recheck=detector.rechecker(rgb))
    assert len(unrefined) == 1 and unrefined[0].x2 >= sprawl[2] and unrefined[0].y2 >= sprawl[3]
    assert refined.w * refined.h < 0.6 * unrefined[0].w * unrefined[0].h


def test_refined_boxes_keep_the_union_where_the_recheck_does_not_confirm() -> None:
    from app.redact.face_verify import refined_boxes

    union = np.array([[0, 0, 100, 100, 0.4], [200, 200, 300, 300, 0.3]], dtype=np.float32)
    mean = np.array([[20, 20, 60, 70, 0.4], [220, 220, 260, 270, 0.3]], dtype=np.float32)
    found = np.array([[25, 15, 65, 65], [230, 230, 250, 250]], dtype=np.float32)
    out = refined_boxes(union, mean, np.array([0.9, 0.5], dtype=np.float32), found, 0.6)
    assert out[0].tolist() == pytest.approx([20, 15, 65, 70, 0.4])  # re-check joined with the mean box
    assert out[1].tolist() == pytest.approx(union[1].tolist())  # unconfirmed: the union, unchanged


def test_shrinking_passes_drop_detections_below_the_size_floor() -> None:
    from app.redact.faces import drop_out_of_range

    config = DetectorConfig(passes=(Pass(1.0), Pass(0.5)), overview_size=640, min_net_px=12.0, max_net_px=0.0)
    # 20 px tall in the photo: 20 px at scale 1.0, 10 px in the 0.5 pass, 5 px in the overview of a 2560 px photo
    dets = np.array([[0, 0, 20, 20, 0.3], [0, 0, 20, 20, 0.3], [0, 0, 20, 20, 0.3], [0, 0, 60, 60, 0.3]],
                    dtype=np.float32)
    ids = np.array([0, 1, 2, 2], dtype=np.int32)
    kept, kept_ids = drop_out_of_range(dets, ids, 2560, 1440, config)
    assert kept_ids.tolist() == [0, 2] and kept[1, 3] == 60  # the overview's 15 px box stays
    off = dataclasses.replace(config, min_net_px=0.0)
    assert len(drop_out_of_range(dets, ids, 2560, 1440, off)[0]) == 4


def test_passes_that_see_a_face_too_large_leave_it_to_the_most_shrinking_pass_of_their_rotation() -> None:
    from app.redact.faces import drop_out_of_range

    upside_down = Pass(0.75, flip=True, rotate=180)
    config = DetectorConfig(passes=(Pass(1.0), Pass(0.5), upside_down), overview_size=640, min_net_px=0.0,
                            max_net_px=320.0)
    # A 600 px face in a 1000 px photo: 600 px at 1.0, 300 at 0.5, 450 upside down (the only pass of
    # its rotation), 384 in the overview (which does not run: 0.5 x 1000 is not over 1.5 x 640).
    face = [100, 100, 600, 700, 0.9]
    dets = np.array([face, face, face], dtype=np.float32)
    ids = np.array([0, 1, 2], dtype=np.int32)
    _, kept_ids = drop_out_of_range(dets, ids, 1000, 1000, config)
    assert kept_ids.tolist() == [1, 2]  # the 0.5 pass keeps it, and so does the only upside-down pass
    # a 2560 px photo: the overview runs and is the most shrinking upright pass (scale 0.25)
    big = np.array([[0, 0, 1500, 1500, 0.9]] * 3, dtype=np.float32)
    _, kept_ids = drop_out_of_range(big, np.array([1, 2, 3], dtype=np.int32), 2560, 2560, config)
    assert kept_ids.tolist() == [2, 3]  # 750 px in the 0.5 pass: left to the overview (375 px)
    off = dataclasses.replace(config, max_net_px=0.0)
    assert len(drop_out_of_range(dets, ids, 1000, 1000, off)[0]) == 3
