"""VASP's part of a results row: the reference text of VASP runs (pipeline or imported) and custodian's changes.

The row itself is built engine-neutrally (``hmixal.aimd.results``); only what names VASP settings, POTCARs and
custodian's INCAR corrections (recorded per segment by ``hmixal.aimd.vasp.run``) is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def reference_text(engine: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> str:
    """The ``reference`` of a VASP row: PAW-PBE POTCARs, ENCUT and smearing, or the directories of an import."""
    if engine.get("engine") == "vasp":
        md = engine.get("md_settings", {})
        symbols = sorted(
            {p["symbol"] for o in outcomes for st in o.get("stages", {}).values() for p in st.get("potcars", [])}
        )
        potcars = ", ".join(symbols) if symbols else "POTCARs not recorded"
        smearing = md.get("smearing", "gaussian")
        sigma = "σ = k_B·T" if smearing == "fermi" else f"σ {md.get('sigma_eV')} eV"
        return (
            f"hmixal VASP AIMD (PAW-PBE {md.get('potcar_functional')}: {potcars}; ENCUT {md.get('encut_eV')} eV; "
            f"{smearing} smearing, {sigma}; NVT Nosé–Hoover, Γ only; H corrected to P = 0)"
        )
    return f"imported VASP MD ({engine.get('imported')}); no volume loop recorded"


def custodian_changes(outcomes: Sequence[Mapping[str, Any]]) -> str:
    """custodian's INCAR changes over the runs' segments, e.g. ``ALGO Fast→Normal (run/stage)`` ('' if none)."""
    changes = []
    for outcome in outcomes:
        for stage, record in sorted(outcome.get("stages", {}).items()):
            for seg in record.get("segments", []):
                for tag, (before, after) in sorted(seg.get("incar_changes", {}).items()):
                    changes.append(f"{tag} {before}→{after} ({outcome.get('run')}/{stage})")
    return ", ".join(dict.fromkeys(changes))
