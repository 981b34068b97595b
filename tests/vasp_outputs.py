"""A small VASP MD run in VASP's own formats (4 atoms, 3 steps): OSZICAR, OUTCAR, XDATCAR, INCAR, POSCAR.

Shared by the VASP parsing tests (tests/test_aimd_vasp.py) and the `hmixal aimd import` test (tests/test_cli.py).
"""

from __future__ import annotations

from pathlib import Path

OSZICAR_MD = """\
       N       E                     dE             d eps       ncg     rms          rms(c)
RMM:   1    -0.338801478964E+03   -0.33880E+03   -0.13452E+04   800   0.123E+03
RMM:   2    -0.338801478980E+03   -0.16000E-07   -0.60546E-04   262   0.494E-02
     1 T=  2000. E= -.32251463E+03 F= -.33880148E+03 E0= -.33880148E+03  EK= 0.16287E+02 SP= 0.00E+00 SK= 0.00E+00
       N       E                     dE             d eps       ncg     rms          rms(c)
RMM:   1    -0.338812036810E+03    0.94862E+00   -0.22457E+01   324   0.780E+00    0.189E+00
     2 T=  2012. E= -.32252310E+03 F= -.33890631E+03 E0= -.33890612E+03  EK= 0.16383E+02 SP= 0.12E-01 SK= 0.34E-02
       N       E                     dE             d eps       ncg     rms          rms(c)
RMM:   1    -0.338799000000E+03    0.94862E+00   -0.22457E+01   324   0.780E+00    0.189E+00
     3 T=  1995. E= -.32253000E+03 F= -.33877586E+03 E0= -.33877500E+03  EK= 0.16246E+02 SP= 0.00E+00 SK= 0.00E+00
"""

OUTCAR_STEP = """\
  FORCE on cell =-STRESS in cart. coord.  units (eV):
  Direction    XX          YY          ZZ          XY          YZ          ZX
  --------------------------------------------------------------------------------------
  Total       -8.71449    -8.64777    -0.17541    -0.24097    -0.54011    -0.09527
  in kB      -15.12114   -15.00537    -0.30436    -0.41812    -0.93718    -0.16531
  external pressure =  {ext:10.2f} kB  Pullay stress =        0.00 kB

  kinetic pressure (ideal gas correction) =     {kin:5.2f} kB
  total pressure  = {tot:9.2f} kB
  Total+kin.   -14.171     -13.896       0.708      -0.692      -0.570      -0.221

 VOLUME and BASIS-vectors are now :
 -----------------------------------------------------------------------------
  energy-cutoff  :      400.00
  volume of cell :       80.00

  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)
  ---------------------------------------------------
  free  energy   TOTEN  =      -338.80148051 eV

     LOOP+:  cpu time     12.3400: real time     12.5000
"""

OUTCAR_HEAD = """\
 vasp.6.4.2 18Apr23 (build Jan 01 2024) complex
   number of dos      NEDOS =    301   number of ions     NIONS =      4
  volume of cell :       80.00
"""

OUTCAR_FOOTER = """
 General timing and accounting informations for this job:
 ========================================================
                  Total CPU time used (sec):       36.421
"""

PRESSURES = [(-10.25, 3.10, -7.15), (2.50, 3.12, 5.62), (-4.00, 3.08, -0.92)]

XDATCAR = """\
Al2Ni2
           1
     4.308869    0.000000    0.000000
     0.000000    4.308869    0.000000
     0.000000    0.000000    4.308869
   Al   Ni
     2     2
Direct configuration=     1
   0.10000000  0.10000000  0.10000000
   0.60000000  0.60000000  0.10000000
   0.60000000  0.10000000  0.60000000
   0.10000000  0.60000000  0.60000000
Direct configuration=     2
   0.11000000  0.10000000  0.10000000
   0.61000000  0.60000000  0.10000000
   0.61000000  0.10000000  0.60000000
   0.11000000  0.60000000  0.60000000
Direct configuration=     3
   0.12000000  0.10000000  0.10000000
   0.62000000  0.60000000  0.10000000
   0.62000000  0.10000000  0.60000000
   0.12000000  0.60000000  0.60000000
"""


def write_vasp_dir(directory: Path, outcar_steps: int = 3, footer: bool = True, total_lines: bool = True) -> Path:
    """A small MD run directory in VASP's formats (4 atoms, 3 steps)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "INCAR").write_text("IBRION = 0\nMDALGO = 2\nPOTIM = 3.0\nNSW = 3\nTEBEG = 2000\nNBLOCK = 1\n")
    (directory / "POSCAR").write_text(XDATCAR.split("Direct configuration")[0] + "Direct\n" + "\n".join(
        XDATCAR.splitlines()[8:12]) + "\n")  # fmt: skip
    (directory / "OSZICAR").write_text(OSZICAR_MD)
    blocks = []
    for ext, kin, tot in PRESSURES[:outcar_steps]:
        block = OUTCAR_STEP.format(ext=ext, kin=kin, tot=tot)
        if not total_lines:
            block = "\n".join(line for line in block.splitlines() if "total pressure" not in line
                              and "kinetic pressure" not in line) + "\n"  # fmt: skip
        blocks.append(block)
    (directory / "OUTCAR").write_text(OUTCAR_HEAD + "".join(blocks) + (OUTCAR_FOOTER if footer else ""))
    (directory / "XDATCAR").write_text(XDATCAR)
    (directory / "vasprun.xml").write_text('<?xml version="1.0" encoding="ISO-8859-1"?>\n<modeling>\n</modeling>\n')
    return directory
