"""Video redaction has a preview like photos (issue 15): the frame shown is drawn as the redacted copy will
show it (computed in memory), following the frame as the reviewer scrubs.  Real vault, ffmpeg, Qt."""

from __future__ import annotations

import numpy as np

from app.ui.redaction_review import RedactionReviewDialog
from tests.ui.test_redaction_review import WAIT, _make_video, _shown_rgb, vault  # noqa: F401  (fixture)


def test_video_preview_covers_the_boxes_of_the_frame_shown(vault, qtbot, tmp_path) -> None:  # noqa: F811
    item = vault.ingest_file(_make_video(tmp_path / "clip.mp4"), kind="video").item_id
    dialog = RedactionReviewDialog(vault, item)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.video is not None and dialog.frame_boxes is not None
                    and dialog.proposal is not None, timeout=WAIT)
    assert dialog.preview_action.isVisible()
    with qtbot.waitSignal(dialog.frameShown, timeout=WAIT, check_params_cb=lambda i: i == 6):
        dialog.timeline.slider.setValue(6)
    dialog.editor.add_box(40, 30, 60, 50)  # true video pixels (192x144)
    before = _shown_rgb(dialog).copy()
    dialog.set_option("method_combo", "fill")
    dialog.set_preview(True)
    assert dialog.preview_image is not None and not dialog.editor.editable
    shown = _shown_rgb(dialog)
    scale = shown.shape[1] / 192
    inside = shown[round(35 * scale):round(75 * scale), round(45 * scale):round(95 * scale)]
    assert inside.max() < 24  # the box is filled black, as the copy will be
    outside = shown[:round(25 * scale), :round(35 * scale)].astype(int)
    assert np.abs(outside - before[:round(25 * scale), :round(35 * scale)].astype(int)).mean() < 2.0
    # Scrubbing while previewing shows the next frame previewed (no box there: unchanged).
    with qtbot.waitSignal(dialog.frameShown, timeout=WAIT, check_params_cb=lambda i: i == 12):
        dialog.timeline.slider.setValue(12)
    assert dialog.preview_action.isChecked()
    dialog.set_preview(False)
    assert dialog.editor.editable and dialog.preview_image is None
