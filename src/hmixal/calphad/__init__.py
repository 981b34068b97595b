"""Liquid ΔH_mix of metallic binaries from public CALPHAD databases (TDB / ChemSage .dat), with cross-file consensus.

For every binary A–B whose liquid has interaction parameters in a database file, ΔH_mix relative to the pure
liquids is computed with pycalphad on a composition grid at a temperature rule T = min(max(Tm_A, Tm_B) + offset,
cap); when several files describe a binary, one is chosen by cross-file consensus (docs/calphad.md).

The modules, each importing only those above it:

- ``tdb``: the tolerant reader of a TDB file's liquid phase (keeps what ΔH_mix needs, records every repair).
- ``loading``: a database's liquid phase (TDB or ChemSage .dat), the database files under a folder, the binaries.
- ``curves``: the temperature rule and one binary's ΔH_mix curve, with the Redlich–Kister excess-term check.
- ``consensus``: trust in a source, the single low-quality source rule, the cross-file consensus rule.
- ``scan``: one file's load-report row, curves and citations.
- ``table``: ``derive_calphad_table``, the chosen, candidates and load-report tables from a whole folder.

Import names from the module that holds them; this package re-exports nothing.
"""
