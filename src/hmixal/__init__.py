"""hmixal: enthalpy of mixing of liquid alloys — Miedema baseline, machine learning, active learning, AIMD."""

__version__ = "0.1.0"
