"""hmixal's Python API: ΔH_mix of binaries and multicomponent liquids as pandas tables, as `hmixal` prints them.

```python
import hmixal
hmixal.predict("Al-Ni", x=[0.25, 0.5])      # binaries: value, calibrated intervals, data coverage
hmixal.predict("AlCoCrFeNi")                # alloys, extrapolated from the predicted binaries (Muggianu)
hmixal.miedema("Al-Ni", x=0.5)              # Miedema's liquid model
```

Binaries are written ``A-B`` with x the mole fraction of B as written (``Ni-Al`` at x = 0.25 is 25 % Al), symbols
in any case; alloys as formulas (``AlCoCrFeNi``, ``Al0.5CoCrFeNi``, ``Fe70Cr20Ni10``). The command line calls
these functions, so both give the same table. Notes on a prediction (extrapolation, a model that departs from its
own data, the training data of a binary) are in ``frame.attrs["notes"]``, one string each; the CLI prints them on
stderr. Predictions come from the predictor shipped in the package unless ``model`` names a pipeline's
``results/model`` folder (or a results folder holding one).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hmixal.errors import InputError, MissingArtifactError
from hmixal.systems import binary_grid, composition_label, normalise_formula, orient, parse_system

if TYPE_CHECKING:
    from hmixal.predictor import Predictor

DEFAULT_X_B = 0.5
NOTES = "notes"  # key of DataFrame.attrs holding the notes on a prediction


def _as_list(systems: str | Sequence[str]) -> list[str]:
    """One system or several, as a list of non-empty strings."""
    items = [systems] if isinstance(systems, str) else list(systems)
    if not items:
        raise InputError(None, None, "no system given; write a binary such as Al-Ni or an alloy such as AlCoCrFeNi")
    return [str(item) for item in items]


def _split(systems: list[str]) -> tuple[list[str], list[str]]:
    """Binaries (``A-B``) and alloy formulas, each in the order written."""
    binaries = [s for s in systems if "-" in s]
    alloys = [normalise_formula(s) for s in systems if "-" not in s]
    return binaries, alloys


def _compositions(x: float | Sequence[float] | None, binaries: list[str]) -> np.ndarray:
    """The x_B values of the binaries, checked: strictly between 0 and 1; only with binaries."""
    if x is None:
        return np.array([DEFAULT_X_B])
    if not binaries:
        raise InputError(
            None, None, "x applies to binaries A-B; write an alloy's amounts in its formula, e.g. Fe70Cr20Ni10"
        )
    values = np.atleast_1d(np.asarray(x, dtype=float))
    if values.ndim != 1 or values.size == 0 or not np.all((values > 0) & (values < 1)):
        shown = ", ".join(f"{v:g}" for v in np.ravel(values))
        raise InputError(None, None, f"x must lie strictly between 0 and 1, got {shown or 'nothing'}")
    return values


def _check_alloys(alloys: list[str], method: str, asymmetric: str | None) -> None:
    """Read every formula and the extrapolation choice before any model loads: a typo answers at once."""
    from hmixal.multicomponent import parse_composition

    for formula in alloys:
        # Without binaries Toop's own choice is left for later; everything else is checked now.
        extrapolation_asymmetric(list(parse_composition(formula)), None, method, asymmetric)


def model_folder(model: str | Path | None = None) -> Path:
    """The model folder ``model`` names: the shipped predictor (None), ``results/model`` or a results folder."""
    from hmixal.layout import FINAL_MODEL_DIR
    from hmixal.resources import shipped_predictor_dir

    if model is None:
        folder = shipped_predictor_dir()
        if not (folder / FINAL_MODEL_DIR / "meta.json").is_file():
            raise MissingArtifactError(
                f"this hmixal has no shipped predictor in {folder}; reinstall it, or pass a trained model folder "
                "(model='results/model', --model results/model)"
            )
        return folder
    path = Path(model)
    for folder in (path, path / "model"):
        if (folder / FINAL_MODEL_DIR / "meta.json").is_file():
            return folder
    raise MissingArtifactError(
        f"no trained model in {path} (expected {path / FINAL_MODEL_DIR}/meta.json); build one with "
        "`snakemake --profile profiles/local results/model/predictions.csv`, or leave the model out to use the "
        "predictor shipped with hmixal"
    )


@lru_cache(maxsize=4)
def _load(folder: str, stamp: tuple[int, ...]) -> Predictor:
    """A predictor per folder and file state: a notebook calling predict() again does not reload it."""
    from hmixal.predictor import Predictor

    return Predictor.from_folder(folder)


def load_predictor(model: str | Path | None = None) -> Predictor:
    """The predictor of ``model`` (default: the shipped one), loaded once per folder while its files are unchanged."""
    from hmixal.layout import CALIBRATION_FILE, FINAL_MODEL_DIR

    folder = model_folder(model)
    stamp = tuple(
        (folder / name).stat().st_mtime_ns if (folder / name).exists() else 0
        for name in (f"{FINAL_MODEL_DIR}/meta.json", CALIBRATION_FILE)
    )
    return _load(str(folder.resolve()), stamp)


def model_card(model: str | Path | None = None) -> dict[str, Any]:
    """The model card of a model folder (default: the shipped predictor): data, settings, CV metrics, version."""
    import json

    from hmixal.layout import MODEL_CARD_FILE

    folder = model_folder(model)
    path = folder / MODEL_CARD_FILE
    if not path.is_file():
        raise MissingArtifactError(
            f"{folder} has no {MODEL_CARD_FILE}; build it with "
            "`snakemake --profile profiles/local results/model/model_card.json`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def model_label(model: str | Path | None = None) -> str:
    """A short name of a model for labels and file names: ``hmixal-<version>-<dataset sha256[:8]>`` from its card,
    or the folder's name when it has none."""
    try:
        card = model_card(model)
    except MissingArtifactError:
        return model_folder(model).name
    return f"hmixal-{card['hmixal_version']}-{card['artifacts']['dataset'][:8]}"


def _binary_points(binaries: list[str], x: np.ndarray) -> pd.DataFrame:
    """Columns A, B, x_B of every binary at every x, in the order written (x_B is the fraction of that B)."""
    return binary_grid([parse_system(text) for text in binaries], x)


def _predict_binaries(predictor: Predictor, points: pd.DataFrame, details: bool) -> tuple[pd.DataFrame, list[str]]:
    """Predicted binaries in the written order, and the notes: flags, and each binary's training data."""
    from hmixal.predictor import SUMMARY_COLUMNS, data_note, warnings_for

    # The model takes A < B alphabetically; the table goes back to the order and x_B the person wrote.
    a, b, x_b, swapped = orient(points["A"], points["B"], points["x_B"])
    frame = predictor.predict(a, b, x_b)
    frame = frame.assign(A=points["A"].to_numpy(), B=points["B"].to_numpy(), x_B=points["x_B"].to_numpy())
    # Per-element columns follow their element back to the written order.
    n_a, n_b = frame["n_train_binaries_A"].to_numpy(), frame["n_train_binaries_B"].to_numpy()
    frame["n_train_binaries_A"] = np.where(swapped, n_b, n_a)
    frame["n_train_binaries_B"] = np.where(swapped, n_a, n_b)
    notes = warnings_for(frame)
    for wa, wb in dict.fromkeys(zip(points["A"], points["B"], strict=True)):
        rows = predictor.data_as_written(wa, wb)
        if len(rows):
            notes.append(data_note(rows, wa, wb))
    return (frame if details else frame[list(SUMMARY_COLUMNS)]), notes


def _with_notes(frames: list[pd.DataFrame], notes: list[str]) -> pd.DataFrame:
    """The frames stacked (binaries first, then alloys), with the notes in ``attrs``."""
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs[NOTES] = list(notes)
    return frame


def predict(
    systems: str | Sequence[str],
    x: float | Sequence[float] | None = None,
    *,
    model: str | Path | None = None,
    method: str = "muggianu",
    asymmetric: str | None = None,
    details: bool = False,
) -> pd.DataFrame:
    """ML-predicted ΔH_mix (kJ/mol) with calibrated 68 %/95 % intervals and data coverage, for binaries and alloys.

    ``x``: mole fraction(s) of B for binaries (default 0.5). ``method``: muggianu | kohler | toop, how alloys are
    extrapolated from their binaries; ``asymmetric``: Toop's asymmetric element (default: hmixal's rule,
    docs/multicomponent.md). ``details``: every column (ensemble spread, training binaries with A and with B,
    nearest training binary, the model's residual on the binary's own data).
    """
    binaries, alloys = _split(_as_list(systems))
    x_b = _compositions(x, binaries)
    points = _binary_points(binaries, x_b) if binaries else None
    _check_alloys(alloys, method, asymmetric)
    predictor = load_predictor(model)
    frames, notes = [], []
    if points is not None:
        frame, binary_notes = _predict_binaries(predictor, points, details)
        frames.append(frame)
        notes += binary_notes
    if alloys:
        from hmixal.predictor import alloy_notes, predict_alloys

        frame = predict_alloys(predictor, alloys, method=method, asymmetric=asymmetric)
        frames.append(frame)
        notes += alloy_notes(frame)
    return _with_notes(frames, notes)


def training_data(systems: str | Sequence[str], *, model: str | Path | None = None) -> pd.DataFrame:
    """The training rows of binaries (value, x_B as written, T, source, reference) the model was fitted to."""
    binaries, alloys = _split(_as_list(systems))
    if alloys:
        raise InputError(None, None, f"training data are per binary; write {alloys[0]}'s binaries as A-B")
    pairs = [parse_system(text) for text in binaries]
    predictor = load_predictor(model)
    frames = [predictor.data_as_written(a, b) for a, b in dict.fromkeys(pairs)]
    frames = [f for f in frames if len(f)]
    if not frames:
        frame = pd.DataFrame(columns=list(predictor.training.columns))
        frame.attrs[NOTES] = [f"no training data for {', '.join(binaries)}"]
        return frame
    return _with_notes(frames, [])


def miedema(
    systems: str | Sequence[str],
    x: float | Sequence[float] | None = None,
    *,
    method: str = "muggianu",
    asymmetric: str | None = None,
) -> pd.DataFrame:
    """Miedema's liquid ΔH_mix (kJ/mol) of binaries at x (A, B, x_B as written) and of alloys (extrapolated)."""
    from hmixal.miedema_model import hmix

    binaries, alloys = _split(_as_list(systems))
    x_b = _compositions(x, binaries)
    _check_alloys(alloys, method, asymmetric)
    frames = []
    if binaries:
        points = _binary_points(binaries, x_b)
        a, b, xb, _ = orient(points["A"], points["B"], points["x_B"])
        frames.append(points.assign(hmix_kJ_per_mol=hmix(a, b, xb)))
    if alloys:
        frames.append(pd.DataFrame([_miedema_alloy(formula, method, asymmetric) for formula in alloys]))
    return _with_notes(frames, [])


def _miedema_alloy(formula: str, method: str, asymmetric: str | None) -> dict[str, object]:
    """One alloy's Miedema ΔH_mix, extrapolated from Miedema's binaries."""
    from hmixal.multicomponent import extrapolate, parse_composition

    fractions = parse_composition(formula)
    elements = list(fractions)
    chosen = extrapolation_asymmetric(elements, _miedema_binary, method, asymmetric)
    value = extrapolate(elements, np.array(list(fractions.values())), _miedema_binary, method, chosen)
    return {
        "composition": composition_label(fractions),
        "method": method,
        "asymmetric": chosen or "",
        "hmix_kJ_per_mol": float(value),
    }


def extrapolation_asymmetric(elements: Sequence[str], binary: Any, method: str, asymmetric: str | None) -> str | None:
    """Toop's asymmetric element: the one named (any case; checked), or hmixal's rule when ``binary`` is given;
    None for the symmetric methods. Method and element are checked by hmixal.multicomponent.check_method."""
    from hmixal.multicomponent import check_method, choose_asymmetric
    from hmixal.systems import canonical_element

    symbol = None if asymmetric is None else canonical_element(asymmetric)
    if method == "toop" and symbol is None:
        return None if binary is None else choose_asymmetric(elements, binary)
    check_method(list(elements), method, symbol)
    return symbol


def _miedema_binary(a: str, b: str, x_b: np.ndarray) -> np.ndarray:
    """Miedema's ΔH_mix of A–B (A < B) at x_B, in the form the extrapolation models take."""
    from hmixal.miedema_model import hmix

    x_b = np.asarray(x_b, dtype=float)
    return hmix(np.full(x_b.shape, a), np.full(x_b.shape, b), x_b)
