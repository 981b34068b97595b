"""AIMD loop: systems, liquid start cells, VASP inputs, runs and parsing, and the volume update rule."""
