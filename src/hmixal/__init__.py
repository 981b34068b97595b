"""hmixal: enthalpy of mixing of liquid alloys — Miedema baseline, machine learning, active learning, AIMD.

The Python API (hmixal.api): ``hmixal.predict``, ``hmixal.miedema``, ``hmixal.training_data``, ``hmixal.model_card``.
"""

__version__ = "0.1.0"

from hmixal.api import miedema, model_card, predict, training_data  # after __version__: hmixal.api imports it

__all__ = ["__version__", "miedema", "model_card", "predict", "training_data"]
