"""LightGBM models loaded for prediction through LightGBM's own C library, without importing its Python package.

Importing ``lightgbm`` imports scikit-learn and SciPy's statistics whenever they are installed (its sklearn
compatibility layer), about 1.5 s of a `hmixal predict` that otherwise answers in under one (measured:
benchmarks/RESULTS.md). A prediction needs none of that: this module finds ``lib_lightgbm`` inside the installed
package without executing it and calls the library's documented C API (``LGBM_BoosterCreateFromModelfile``,
``LGBM_BoosterPredictForMat``), the same functions ``lightgbm.Booster`` calls, so predictions are identical
(tests/test_lightgbm_c.py compares them bit for bit).
"""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import sys
from functools import cache
from pathlib import Path

import numpy as np

from hmixal.errors import MissingArtifactError

_DTYPE_FLOAT64 = 1  # C_API_DTYPE_FLOAT64
_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL
_ROW_MAJOR = 1
_ALL_ITERATIONS = -1


def _library_name() -> str:
    """The file name of LightGBM's shared library on this platform."""
    if sys.platform == "win32":
        return "lib_lightgbm.dll"
    return "lib_lightgbm.dylib" if sys.platform == "darwin" else "lib_lightgbm.so"


@cache
def library() -> ctypes.CDLL:
    """LightGBM's C library from the installed ``lightgbm`` package (found, not imported)."""
    spec = importlib.util.find_spec("lightgbm")
    if spec is None or not spec.submodule_search_locations:
        raise MissingArtifactError("LightGBM is not installed; pip install lightgbm")
    package = Path(next(iter(spec.submodule_search_locations)))
    candidates = [package / "lib" / _library_name(), package / _library_name()]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise MissingArtifactError(f"no {_library_name()} in the installed LightGBM ({package})")
    lib = ctypes.cdll.LoadLibrary(str(path))
    lib.LGBM_GetLastError.restype = ctypes.c_char_p
    return lib


def _check(status: int) -> None:
    """Raise the library's own message when a C API call fails."""
    if status != 0:
        raise RuntimeError(f"LightGBM: {library().LGBM_GetLastError().decode(errors='replace')}")


class CBooster:
    """A LightGBM model file loaded through the C library: ``predict`` as ``lightgbm.Booster.predict`` does."""

    def __init__(self, model_file: str | Path) -> None:
        self.model_file = Path(model_file)
        self._handle = ctypes.c_void_p()
        iterations = ctypes.c_int()
        _check(
            library().LGBM_BoosterCreateFromModelfile(
                str(self.model_file).encode(), ctypes.byref(iterations), ctypes.byref(self._handle)
            )
        )
        self.num_iterations = iterations.value
        features = ctypes.c_int()
        _check(library().LGBM_BoosterGetNumFeature(self._handle, ctypes.byref(features)))
        self.num_features = features.value

    def predict(self, X: np.ndarray, num_threads: int = 1) -> np.ndarray:
        """Raw regression output of every row of X (all iterations), as ``Booster.predict(X, num_threads=…)``."""
        data = np.ascontiguousarray(X, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.num_features:
            raise ValueError(f"{self.model_file.name} takes {self.num_features} features, got shape {data.shape}")
        out = np.empty(data.shape[0], dtype=np.float64)
        written = ctypes.c_int64()
        _check(
            library().LGBM_BoosterPredictForMat(
                self._handle,
                data.ctypes.data_as(ctypes.c_void_p),
                ctypes.c_int(_DTYPE_FLOAT64),
                ctypes.c_int32(data.shape[0]),
                ctypes.c_int32(data.shape[1]),
                ctypes.c_int(_ROW_MAJOR),
                ctypes.c_int(_PREDICT_NORMAL),
                ctypes.c_int(0),
                ctypes.c_int(_ALL_ITERATIONS),
                f"num_threads={int(num_threads)}".encode(),
                ctypes.byref(written),
                out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            )
        )
        if written.value != data.shape[0]:
            raise RuntimeError(f"LightGBM returned {written.value} predictions for {data.shape[0]} rows")
        return out

    def save_model(self, filename: str | Path) -> None:
        """Write the model file it was loaded from, byte for byte (what ``Booster.save_model`` wrote)."""
        shutil.copyfile(self.model_file, filename)

    def __del__(self) -> None:
        if getattr(self, "_handle", None) and self._handle.value:
            library().LGBM_BoosterFree(self._handle)
            self._handle = ctypes.c_void_p()
