"""Photo redaction: irreversible, metadata-free, deterministic, and refusing bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.errors import Cancelled, CorruptMedia, InvalidInput, MediaError, MediaTooLarge, UnsupportedMedia
from app.progress import CancelToken
from app.redact.faces import Box, DetectorConfig, FaceDetector, Pass
from app.redact.photo import (
    FILL_COLOUR,
    PIXELATE_CELLS,
    load_oriented_rgb,
    propose,
    redact_image,
)
from tests.conftest import shared_data_path

# Metadata tests are not about detection: a one-pass detector keeps them fast.
FAST = FaceDetector(DetectorConfig(passes=(Pass(0.5),), overview_size=0))

PNG_ALLOWED_CHUNKS = {b"IHDR", b"IDAT", b"IEND"}
# SOI, JFIF APP0, quantisation/Huffman tables, frame, restart interval, scan, EOI: pixels only.
JPEG_ALLOWED_MARKERS = {0xD8, 0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA, 0xD9}


def _png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        chunks.append(data[pos + 4:pos + 8])
        pos += 12 + length
    return chunks


def _jpeg_markers(data: bytes) -> list[int]:
    """Marker segments up to the first scan (metadata cannot follow image data in a JPEG)."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [0xD8], 2
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return markers


def _redact(path, boxes, **kwargs) -> tuple[bytes, object]:
    out = io.BytesIO()
    with open(path, "rb") as src:
        result = redact_image(src, out, boxes, detector=kwargs.pop("detector", FAST), **kwargs)
    return out.getvalue(), result


def _assert_no_metadata(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert not image.getexif(), "EXIF survived"
        assert "icc_profile" not in image.info
        assert "exif" not in image.info and "xmp" not in image.info
        text_keys = {k for k, v in image.info.items() if isinstance(v, (str, bytes))}
        assert not text_keys, f"text metadata survived: {text_keys}"
        if hasattr(image, "text"):
            assert not image.text
    # The file's structure itself: nothing but pixel data (a substring search for b"GPS" would also
    # hit compressed pixel bytes by chance).
    if data.startswith(b"\x89PNG"):
        assert set(_png_chunks(data)) <= PNG_ALLOWED_CHUNKS, _png_chunks(data)
    else:
        markers = _jpeg_markers(data)
        assert set(markers) <= JPEG_ALLOWED_MARKERS, [hex(m) for m in markers]
        app0_end = 4 + int.from_bytes(data[4:6], "big")
        assert data[6:11] == b"JFIF\x00" and app0_end == 20, "APP0 must be a bare JFIF header (no thumbnail)"


@pytest.mark.parametrize(
    ("name", "output_format"),
    [
        ("jpeg_exif_gps_DSCN0010.jpg", "png"),
        ("jpeg_exif_gps_DSCN0010.jpg", "jpeg"),
        ("jpeg_exif_gps_DSCN0021.jpg", "png"),
        # 8.5 MP: PNG-encoding it takes ~10 s here, and the output never depends on the source format
        ("heic_iphone_gps_IMG_5195.heic", "jpeg"),
    ],
)
def test_no_metadata_survives(name: str, output_format: str) -> None:
    path = shared_data_path("media", name)
    with Image.open(path) as original:  # the source really has GPS (else the test proves nothing)
        assert original.getexif().get_ifd(0x8825), "source has no GPS block"
    data, result = _redact(path, [Box(10, 10, 50, 50)], output_format=output_format)
    _assert_no_metadata(data)
    assert result.mime == ("image/png" if output_format == "png" else "image/jpeg")


def test_fill_replaces_every_pixel_in_the_boxes_and_nothing_else() -> None:
    path = shared_data_path("media", "png_rgb_face_astronaut.png")
    original = load_oriented_rgb(path)
    boxes = [Box(150, 20, 150, 190, 0.9), Box(400, 400, 200, 200, 1.0)]  # second one runs off the edge
    data, result = _redact(path, boxes)
    out = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert out.shape == original.shape
    mask = np.zeros(original.shape[:2], dtype=bool)
    mask[20:210, 150:300] = True
    mask[400:512, 400:512] = True
    assert (out[mask] == FILL_COLOUR).all()
    assert (out[~mask] == original[~mask]).all()  # PNG is lossless: the rest of the evidence is intact
    assert [b.to_list() for b in result.boxes] == [[150, 20, 150, 190], [400, 400, 112, 112]]


def test_pixelate_is_coarse_noisy_and_keeps_no_original_pixels() -> None:
    path = shared_data_path("media", "png_rgb_face_astronaut.png")
    original = load_oriented_rgb(path).astype(int)
    box = Box(150, 20, 150, 190)
    data, _ = _redact(path, [box], method="pixelate", seed=7)
    out = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    region = out[box.y:box.y2, box.x:box.x2]
    colours = {tuple(c) for c in region.reshape(-1, 3)}
    cells = PIXELATE_CELLS * PIXELATE_CELLS
    assert len(colours) <= cells, "mosaic must be coarse"
    # no cell carries its true average: noise was mixed in
    cell = -(-max(box.w, box.h) // PIXELATE_CELLS)
    src = original[box.y:box.y2, box.x:box.x2]
    exact = 0
    for r in range(0, box.h, cell):
        for c in range(0, box.w, cell):
            mean = src[r:r + cell, c:c + cell].reshape(-1, 3).mean(axis=0).round()
            exact += int((region[r, c] == mean).all())
    assert exact <= 1
    # and the face's detail is gone: per-pixel difference to the original is large
    assert np.abs(region - src).mean() > 10


def test_same_parameters_give_the_same_bytes() -> None:
    path = shared_data_path("media", "png_rgb_face_astronaut.png")
    boxes = [Box(150, 20, 150, 190)]
    for method in ("fill", "pixelate"):
        first, r1 = _redact(path, boxes, method=method, seed=3)
        second, r2 = _redact(path, boxes, method=method, seed=3)
        assert first == second and r1.sha256 == r2.sha256
    other, _ = _redact(path, boxes, method="pixelate", seed=4)
    assert other != first


def test_residual_faces_are_reported_when_a_face_is_left() -> None:
    path = shared_data_path("media", "png_rgb_face_astronaut.png")
    _, missed = _redact(path, [Box(0, 400, 50, 50)], detector=FaceDetector())
    assert missed.needs_review and missed.residual_faces
    _, done = _redact(path, [Box(140, 0, 170, 230)], detector=FaceDetector())
    assert done.residual_faces == []
    assert done.detector["model_sha256"] and done.to_dict()["sha256"] == done.sha256


def test_exif_rotated_photo_is_written_as_a_viewer_sees_it() -> None:
    path = shared_data_path("media", "jpeg_exif_orientation_6.jpg")
    with Image.open(path) as raw:
        stored = raw.size
    data, result = _redact(path, [Box(0, 0, 10, 10)])
    with Image.open(io.BytesIO(data)) as out:
        assert out.size == (stored[1], stored[0]) == (result.width, result.height)


def test_proposal_review_operations() -> None:
    path = shared_data_path("media", "png_rgb_face_astronaut.png")
    proposal = propose(path, detector=FAST)
    assert (proposal.width, proposal.height) == (512, 512) and proposal.boxes
    count = len(proposal.boxes)
    added = proposal.add(500, 500, 100, 100)
    assert added.to_list() == [500, 500, 12, 12] and added.score == 1.0
    resized = proposal.resize(0, 140, 0, 170, 230)
    assert proposal.boxes[0] == resized
    proposal.remove(len(proposal.boxes) - 1)
    assert len(proposal.boxes) == count
    with pytest.raises(InvalidInput):
        proposal.add(600, 600, 10, 10)
    with pytest.raises(InvalidInput):
        proposal.remove(99)
    assert proposal.to_dict()["boxes"][0]["w"] == 170


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("broken_truncated_50pct.jpg", CorruptMedia),
        ("broken_truncated_header_only.jpg", CorruptMedia),
        ("broken_truncated_60pct.png", CorruptMedia),
        ("broken_zero_bytes.jpg", UnsupportedMedia),
    ],
)
def test_broken_files_raise_the_specific_error(name: str, error: type[MediaError]) -> None:
    path = shared_data_path("media", name)
    out = io.BytesIO()
    with pytest.raises(error) as info, open(path, "rb") as src:
        redact_image(src, out, [], detector=FAST)
    assert info.value.user_message()
    assert out.getvalue() == b"", "nothing may be written for a file that could not be read"


def test_png_bytes_named_jpg_are_sniffed_not_trusted() -> None:
    rgb = load_oriented_rgb(shared_data_path("media", "broken_png_bytes_named.jpg"))
    assert rgb.shape == (512, 512, 3)


def test_decompression_bomb_is_refused() -> None:
    bomb = io.BytesIO()
    Image.new("1", (16000, 16000)).save(bomb, format="PNG")  # 256 MP of zeros in a few KB
    assert bomb.tell() < 200_000
    out = io.BytesIO()
    with pytest.raises(MediaTooLarge):
        redact_image(bomb, out, [], detector=FAST)
    # the explicit limit applies from the header, below Pillow's own
    with pytest.raises(MediaTooLarge):
        load_oriented_rgb(_small_png(2000, 1000), max_pixels=1_000_000)


def _small_png(width: int, height: int) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def test_unknown_method_is_refused() -> None:
    with pytest.raises(InvalidInput):
        redact_image(_small_png(10, 10), io.BytesIO(), [], method="blur", detector=FAST)  # type: ignore[arg-type]


def test_cancel_leaves_the_output_untouched_and_progress_is_reported() -> None:
    path = shared_data_path("media", "png_rgb_face_astronaut.png")
    calls: list[tuple[int, int, str]] = []
    token = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        calls.append((done, total, message))
        token.cancel()

    out = io.BytesIO()
    with pytest.raises(Cancelled), open(path, "rb") as src:
        redact_image(src, out, [Box(150, 20, 150, 190)], progress=progress, cancel=token)
    assert out.getvalue() == b""
    assert calls and calls[0][0] == 0 and calls[0][1] > 0
