"""The OCR worker for KTP photos: runs in its own process (bot/ktp.py starts it), reads text boxes.

This module is what the worker process imports, so it stays small: Pillow, numpy and RapidOCR
load inside the worker only. RapidOCR (Apache-2.0) runs PaddleOCR's PP-OCR models with
onnxruntime; the models ship inside the `rapidocr` wheel and are loaded from there by path, so
nothing is downloaded. The photo is decoded here and dropped as soon as its text is read.
"""

from __future__ import annotations

import gc
import io
import warnings
from pathlib import Path
from typing import Any

# Photos larger than this (in pixels) are refused before decoding: a phone photo is 12-50 MP.
MAX_PIXELS = 60_000_000
# The longest side of the decoded photo (what the recognizer crops from) and of what the text
# detector sees; a card filling most of a phone photo stays readable at both.
MAX_SIDE = 1280
DET_SIDE = 800

# Recognition batch: the boxes read per call, in reading order.
_CHUNK = 6
# At most this many boxes are read (a KTP has about 35; a newspaper page would have hundreds).
_MAX_BOXES = 80
# Boxes the direction classifier looks at to tell an upside-down photo.
_DIRECTION_SAMPLE = 7
# Text read with less confidence than this is dropped (RapidOCR's own default).
_MIN_SCORE = 0.5
# Labels of the KTP rows below the ones the registration needs.
_BELOW_NEEDED = ("agama", "statusperkawinan", "pekerjaan", "kewarganegaraan", "berlakuhingga")

Box = tuple[tuple[tuple[float, float], ...], str, float]  # 4 corners, text, confidence

_engine: Any = None


def _model_paths() -> dict[str, Path]:
    """The detection and recognition models that the rapidocr wheel carries."""
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    paths = {
        "det": models / "PP-OCRv6_det_small.onnx",
        "rec": models / "PP-OCRv6_rec_small.onnx",
        "cls": models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    }
    for path in paths.values():
        if not path.is_file():  # never let the library fall back to downloading
            raise FileNotFoundError(path)
    return paths


def load() -> None:
    """Load the OCR models (the worker's initializer; about a second)."""
    global _engine
    if _engine is not None:
        return
    from onnxruntime import SessionOptions
    from rapidocr import RapidOCR
    from rapidocr.inference_engine.onnxruntime import main as ort_main

    # Without the memory-pattern planner onnxruntime keeps ~80 MB less per photo size seen,
    # which keeps the worker under its 400 MB budget; the speed is the same on CPU.
    plain = ort_main.OrtInferSession._init_sess_opts

    def options(cfg: dict[str, Any]) -> SessionOptions:
        opts: SessionOptions = plain(cfg)
        opts.enable_mem_pattern = False
        return opts

    ort_main.OrtInferSession._init_sess_opts = staticmethod(options)  # type: ignore[method-assign]
    paths = _model_paths()
    _engine = RapidOCR(
        params={
            "Global.log_level": "error",
            "Global.use_cls": False,  # the direction classifier runs once a photo (_upright)
            "Cls.model_path": str(paths["cls"]),
            "Det.model_path": str(paths["det"]),
            "Det.limit_type": "max",
            "Det.limit_side_len": DET_SIDE,
            "Rec.model_path": str(paths["rec"]),
            "Rec.rec_batch_num": 2,
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": False,
            # One thread: the bot's own process keeps the other core, and on a busy machine one
            # thread does the same work in about half the CPU time of two.
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def read_boxes(image: bytes) -> list[Box] | str:
    """The text boxes of a photo, or a reason code: "not_image" or "too_large"."""
    from PIL import Image, UnidentifiedImageError

    load()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(image)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    return "too_large"
                opened.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at 1/2, 1/4, 1/8 size
                picture = opened.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "too_large"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "not_image"
    del image
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    import numpy as np

    pixels = np.asarray(picture)[:, :, ::-1]  # RGB to the BGR that OpenCV expects
    del picture
    pixels, found = _upright(pixels, _engine(pixels, use_rec=False).boxes)
    boxes = _recognise(pixels, found)
    del pixels
    gc.collect()
    _trim()
    return boxes


def _trim() -> None:
    """Give freed memory back to the system (glibc keeps it otherwise), so RSS stays flat."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name and "libc" in name:
        libc = ctypes.CDLL(name)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


def _upright(pixels: Any, found: Any) -> tuple[Any, Any]:
    """The photo turned upright (a card photographed sideways or upside down), and its boxes.

    Sideways text gives boxes taller than wide: turn a quarter and detect again. Then the
    direction classifier looks at the widest boxes; if most read upside down, turn a half.
    """
    import numpy as np
    from rapidocr.utils.process_img import get_rotate_crop_image

    if found is None or len(found) < 3:
        return pixels, found
    quads = np.asarray(found, dtype=np.float32)
    widths = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    heights = np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1)
    if float(np.median(heights / np.maximum(widths, 1.0))) > 1.5:
        pixels = np.ascontiguousarray(np.rot90(pixels))
        found = _engine(pixels, use_rec=False).boxes
        if found is None or len(found) < 3:
            return pixels, found
        quads = np.asarray(found, dtype=np.float32)
        widths = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    widest = [quads[i].copy() for i in np.argsort(-widths)[:_DIRECTION_SAMPLE]]
    _turned, directions = _engine.cls_and_rotate(
        [get_rotate_crop_image(pixels, q) for q in widest]
    )
    flipped = sum(label == "180" and score > 0.8 for label, score in directions.cls_res or ())
    if flipped * 2 > len(widest):
        pixels = np.ascontiguousarray(pixels[::-1, ::-1])
        found = _engine(pixels, use_rec=False).boxes
    return pixels, found


def _recognise(pixels: Any, found: Any) -> list[Box]:
    """Read the detected boxes in reading order, a few at a time, and stop below "Agama".

    At most _MAX_BOXES. A KTP's rows from "Agama" down (religion, marriage, work, nationality,
    validity) are not needed; skipping them saves a third of the recognition time. Other
    documents are read whole.
    """
    import numpy as np
    from rapidocr.utils.process_img import get_rotate_crop_image

    if found is None or len(found) == 0:
        return []
    quads = [np.asarray(q, dtype=np.float32) for q in found]
    widths = [q[1] - q[0] for q in quads]
    angles = sorted(float(np.arctan2(w[1], w[0])) for w in widths if abs(w[0]) > 40)
    angle = angles[len(angles) // 2] if angles else 0.0
    c, s = float(np.cos(angle)), float(np.sin(angle))
    quads.sort(key=lambda q: float((-q[:, 0] * s + q[:, 1] * c).mean()))
    boxes: list[Box] = []
    for start in range(0, min(len(quads), _MAX_BOXES), _CHUNK):
        chunk = quads[start : start + _CHUNK]
        crops = [get_rotate_crop_image(pixels, q.copy()) for q in chunk]
        read = _engine.recognize_txt(crops)
        stop = False
        for quad, text, score in zip(chunk, read.txts or (), read.scores or (), strict=False):
            text = str(text).strip()
            if not text or score < _MIN_SCORE:
                continue
            points = tuple((float(x), float(y)) for x, y in quad)
            boxes.append((points, text, float(score)))
            letters = "".join(ch for ch in text.lower() if ch.isalpha())
            stop = stop or letters.startswith(_BELOW_NEEDED)
        if stop:
            break
    return boxes
