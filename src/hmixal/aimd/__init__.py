"""AIMD: which runs to make, the engine-neutral protocol and analysis of a run, and its engines (VASP, ASE, MLIPs)."""
