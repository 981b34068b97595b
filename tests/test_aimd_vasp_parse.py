"""VASP MD parsing of SCF iteration counts, the conserved quantity and the electronic internal energy.

The parser is tested on hand-written files in VASP's own formats (OSZICAR electronic and MD lines; OUTCAR
with its per-iteration energy blocks and the ionic "FREE ENERGIE" blocks), and end to end on runs of the
stand-in VASP (tests/fake_vasp/fake_vasp.py), directly and under custodian through the runner.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import SETTINGS
from pymatgen.io.vasp.inputs import Poscar
from scipy.integrate import simpson

from hmixal.aimd import checks
from hmixal.aimd.vasp.parse import (
    TruncatedRunError,
    concatenate_segments,
    parse_md_segment,
    read_oszicar_md,
    read_outcar_md,
    segment_metadata,
)
from hmixal.errors import InputError

FAKE_VASP = Path(__file__).parent / "fake_vasp" / "fake_vasp.py"
KB_EV = 8.617333262e-5
EV_A3_TO_KBAR = 1602.1766208

# ---------------------------------------------------------------------------------------------------------
# hand-written files in VASP's formats: 4 atoms, 3 MD steps, ALGO = Fast (one Davidson step, then RMM-DIIS),
# NELM = 6; step 2 runs to NELM

INCAR = "SYSTEM = Al2Ni2\nIBRION = 0\nMDALGO = 2\nPOTIM = 3.0\nNSW = 3\nTEBEG = 2000\nNELM = 6\nALGO = Fast\n"

POSCAR = """\
Al2Ni2
   1.00000000000000
     4.308869    0.000000    0.000000
     0.000000    4.308869    0.000000
     0.000000    0.000000    4.308869
   Al   Ni
     2     2
Direct
   0.10000000  0.10000000  0.10000000
   0.60000000  0.60000000  0.10000000
   0.60000000  0.10000000  0.60000000
   0.10000000  0.60000000  0.60000000
"""

HEADER = "       N       E                     dE             d eps       ncg     rms          rms(c)\n"
OSZICAR = """\
       N       E                     dE             d eps       ncg     rms          rms(c)
DAV:   1     0.394804337426E+03    0.39480E+03   -0.14813E+04  1520   0.143E+03
DAV:   2    -0.338512345678E+03   -0.73331E+03   -0.70245E+03  1520   0.436E+02
RMM:   3    -0.338790123456E+03   -0.27778E+00   -0.31245E+00   824   0.345E+01    0.123E+01
RMM:   4    -0.338801478964E+03   -0.11356E-01   -0.12345E-01   800   0.123E+00    0.456E-01
     1 T=  2000. E= -.32251448E+03 F= -.33880148E+03 E0= -.33878606E+03  EK= 0.16287E+02 SP= 0.00E+00 SK= 0.00E+00
       N       E                     dE             d eps       ncg     rms          rms(c)
DAV:   1    -0.338890000000E+03   -0.88521E-01   -0.22457E+01   324   0.780E+00    0.189E+00
RMM:   2    -0.338902310000E+03   -0.12310E-01   -0.22457E-02   324   0.780E-01    0.189E-01
RMM:   3    -0.338905310000E+03   -0.30000E-02   -0.22457E-03   324   0.380E-01    0.189E-02
RMM:   4    -0.338906010000E+03   -0.70000E-03   -0.12457E-03   324   0.180E-01    0.989E-03
RMM:   5    -0.338906210000E+03   -0.20000E-03   -0.92457E-04   324   0.980E-02    0.589E-03
RMM:   6    -0.338906310000E+03   -0.10000E-03   -0.62457E-04   324   0.780E-02    0.389E-03
     2 T=  2012. E= -.32250791E+03 F= -.33890631E+03 E0= -.33889090E+03  EK= 0.16383E+02 SP= 0.12E-01 SK= 0.34E-02
       N       E                     dE             d eps       ncg     rms          rms(c)
DAV:   1    -0.338770000000E+03    0.13631E+00   -0.22457E+01   324   0.780E+00    0.189E+00
RMM:   2    -0.338775000000E+03   -0.50000E-02   -0.22457E-02   312   0.180E-01    0.389E-02
RMM:   3    -0.338775860000E+03   -0.86000E-03   -0.12457E-03   300   0.280E-02    0.289E-03
     3 T=  1995. E= -.32249966E+03 F= -.33877586E+03 E0= -.33876044E+03  EK= 0.16246E+02 SP= 0.25E-01 SK= 0.52E-02
"""
SCF_STEPS = [4, 6, 3]
CONSERVED = [-322.51448, -322.50791, -322.49966]  # F + EK + SP + SK

ITERATION_BLOCK = """\
--------------------------------------- Iteration {ionic:6d}({k:4d})  ---------------------------------------

    POTLOK:  cpu time      0.0123: real time      0.0124
    SETDIJ:  cpu time      0.0050: real time      0.0050

  Free energy of the ion-electron system (eV)
  ---------------------------------------------------
  alpha Z        PSCENC =        16.57521009
  Ewald energy   TEWEN  =      1313.38339669
  -Hartree energ DENC   =     -1868.12606939
  -exchange      EXHF   =         0.00000000
  -V(xc)+E(xc)   XCENC  =       226.92345296
  PAW double counting   =      1809.76563098    -1813.53530389
  entropy T*S    EENTRO =        -0.03083604
  eigenvalues    EBANDS =       -66.89051508
  atomic energy  EATOM  =       246.57497010
  Solvation  Ecorr      =         0.00000000
  ---------------------------------------------------
  free energy    TOTEN  =      {free:14.8f} eV

  energy without entropy =   {free_plus:14.8f}  energy(sigma->0) =   {free_half:14.8f}

"""

IONIC_BLOCK = """\
  FORCE on cell =-STRESS in cart. coord.  units (eV):
  Direction    XX          YY          ZZ          XY          YZ          ZX
  --------------------------------------------------------------------------------------
  Total       -8.71449    -8.64777    -0.17541    -0.24097    -0.54011    -0.09527
  in kB      -15.12114   -15.00537    -0.30436    -0.41812    -0.93718    -0.16531
  external pressure =      {ext:6.2f} kB  Pullay stress =        0.00 kB

  kinetic pressure (ideal gas correction) =     {kin:5.2f} kB
  total pressure  = {tot:9.2f} kB
  Total+kin.   -14.171     -13.896       0.708      -0.692      -0.570      -0.221

 VOLUME and BASIS-vectors are now :
 -----------------------------------------------------------------------------
  energy-cutoff  :      400.00
  volume of cell :       80.00

 POSITION                                       TOTAL-FORCE (eV/Angst)
 -----------------------------------------------------------------------------------
      0.43089      0.43089      0.43089         0.012345     -0.023456      0.003456
 -----------------------------------------------------------------------------------
    total drift:                               -0.000123      0.000234     -0.000345

--------------------------------------------------------------------------------------------------------

  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)
  ---------------------------------------------------
  free  energy   TOTEN  =      {free:14.8f} eV

  energy  without entropy=     {eint:14.8f}  energy(sigma->0) =     {e0:14.8f}

  ENERGIE OF THE ELECTRON-ION-THERMOSTAT SYSTEM (eV)
  ---------------------------------------------------
% ion-electron   TOTEN  =      {free:14.8f}  see above
  kinetic energy EKIN   =          {ek:9.6f}  (temperature {t:7.2f} K)
  kinetic energy EKIN_LAT=           0.000000  (temperature    0.00 K)
  nose potential ES     =           {sp:.5f}
  nose kinetic   EPS    =           {sk:.5f}
  ---------------------------------------------------
  total energy   ETOTAL =      {etotal:14.8f} eV

     LOOP+:  cpu time     12.3400: real time     12.5000
"""

OUTCAR_HEAD = """\
 vasp.6.4.2 18Apr23 (build Jan 01 2024) complex
   number of dos      NEDOS =    301   number of ions     NIONS =      4
   NELM   =      6;   NELMIN=  2; NELMDL= -5     # of ELM steps
  volume of cell :       80.00
"""
OUTCAR_FOOTER = """
 General timing and accounting informations for this job:
 ========================================================
                  Total CPU time used (sec):       36.421
"""
# F, energy without entropy, E0, EK, T, SP, SK, (external, kinetic, total) pressure
STEPS = [
    (-338.80148051, -338.77064447, -338.78606249, 16.287, 2000.0, 0.0, 0.0, (-10.25, 3.10, -7.15)),
    (-338.90631012, -338.87547408, -338.89089210, 16.383, 2012.0, 0.012, 0.0034, (2.50, 3.12, 5.62)),
    (-338.77586004, -338.74502400, -338.76044202, 16.246, 1995.0, 0.025, 0.0052, (-4.00, 3.08, -0.92)),
]
EINT = [s[1] for s in STEPS]


def outcar_text(n_steps: int = 3, cut_after_stress: bool = False) -> str:
    """OUTCAR of the first ``n_steps`` steps, each with its electronic-iteration and ionic energy blocks."""
    text = OUTCAR_HEAD
    for ionic, (free, eint, e0, ek, t, sp, sk, (ext, kin, tot)) in enumerate(STEPS[:n_steps], start=1):
        for k in (1, 2):  # NWRITE = 2 prints the energy of every electronic iteration; these are not steps
            shift = 0.5 / k
            text += ITERATION_BLOCK.format(
                ionic=ionic, k=k, free=free + shift, free_plus=eint + shift, free_half=e0 + shift
            )
        block = IONIC_BLOCK.format(
            ext=ext, kin=kin, tot=tot, free=free, eint=eint, e0=e0, ek=ek, t=t, sp=sp, sk=sk,
            etotal=free + ek + sp + sk,
        )  # fmt: skip
        if cut_after_stress and ionic == n_steps:
            block = block.split(" POSITION")[0]  # killed before the energy block of the last step
        text += block
    return text


def write_run(directory: Path, outcar: str | None = None, oszicar: str = OSZICAR, incar: str = INCAR) -> Path:
    """A complete MD run directory in VASP's formats."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "INCAR").write_text(incar)
    (directory / "POSCAR").write_text(POSCAR)
    (directory / "OSZICAR").write_text(oszicar)
    (directory / "OUTCAR").write_text((outcar_text() + OUTCAR_FOOTER) if outcar is None else outcar)
    (directory / "vasprun.xml").write_text('<?xml version="1.0" encoding="ISO-8859-1"?>\n<modeling>\n</modeling>\n')
    return directory


# ---------------------------------------------------------------------------------------------------------
# parsing


def test_scf_steps_internal_energy_and_conserved_quantity(tmp_path: Path) -> None:
    seg = parse_md_segment(write_run(tmp_path / "run"))
    table = seg.table
    assert table["scf_steps"].tolist() == SCF_STEPS
    assert seg.nelm == 6 and int((table["scf_steps"] >= seg.nelm).sum()) == 1
    # OSZICAR's E = F + EK + SP + SK, the Nosé–Hoover conserved quantity, as printed
    assert table["conserved_eV"].tolist() == pytest.approx(CONSERVED)
    assert (table["conserved_eV"] - table["etotal_eV"] - table["thermostat_eV"]).abs().max() < 1e-5
    # the ionic blocks' "energy  without entropy", not the per-iteration blocks' (0.5 and 0.25 eV higher)
    assert table["eint_eV"].tolist() == pytest.approx(EINT, abs=1e-8)
    assert table["pressure_kbar"].tolist() == pytest.approx([-7.15, 5.62, -0.92])
    assert not seg.truncated and seg.issues == ()
    out = read_outcar_md(tmp_path / "run" / "OUTCAR")
    assert out.free_energy == pytest.approx([s[0] for s in STEPS]) and len(out.energy_without_entropy) == 3


def test_nelm_defaults_to_vasps_and_other_algorithm_tags_count(tmp_path: Path) -> None:
    # ALGO = All prints "CG :" lines (VASP wiki, OSZICAR); no NELM tag: VASP's default 60
    oszicar = OSZICAR.replace("DAV:", "CG :").replace("RMM:", "CG :")
    seg = parse_md_segment(write_run(tmp_path / "cg", oszicar=oszicar, incar=INCAR.replace("NELM = 6\n", "")))
    assert seg.table["scf_steps"].tolist() == SCF_STEPS and seg.nelm == 60


def test_electronic_lines_out_of_order_or_malformed_name_file_and_line(tmp_path: Path) -> None:
    run = write_run(tmp_path / "bad")
    lines = OSZICAR.splitlines(keepends=True)
    skipped = "".join(lines[:3] + lines[4:])  # iteration 3 of step 1 missing
    (run / "OSZICAR").write_text(skipped)
    with pytest.raises(InputError, match=r"OSZICAR:4: electronic iteration 4 where iteration 3 was expected"):
        parse_md_segment(run)
    (run / "OSZICAR").write_text("".join(lines[:2]) + "DAV: ***    -0.3385E+03\n" + "".join(lines[3:]))
    with pytest.raises(InputError, match=r"OSZICAR:3: malformed electronic-iteration line"):
        parse_md_segment(run)


def test_malformed_energy_without_entropy_names_file_and_line(tmp_path: Path) -> None:
    run = write_run(tmp_path / "bad")
    text = (run / "OUTCAR").read_text()
    bad = text.replace(f"energy  without entropy=     {EINT[1]:14.8f}", "energy  without entropy=     **************")
    (run / "OUTCAR").write_text(bad)
    line = next(n for n, t in enumerate(bad.splitlines(), start=1) if "**************" in t)
    with pytest.raises(InputError, match=rf"OUTCAR:{line}: '\*+' is not a number"):
        parse_md_segment(run)


def test_run_killed_before_the_last_energy_block_keeps_complete_steps(tmp_path: Path) -> None:
    run = write_run(tmp_path / "killed", outcar=outcar_text(3, cut_after_stress=True))
    with pytest.raises(TruncatedRunError, match=r"3 pressures but 2 'energy  without entropy' lines.*2 complete"):
        parse_md_segment(run)
    seg = parse_md_segment(run, allow_truncated=True)
    assert seg.n_steps == 2 and seg.table["eint_eV"].tolist() == pytest.approx(EINT[:2])
    assert seg.table["scf_steps"].tolist() == SCF_STEPS[:2]


def test_cut_oszicar_keeps_the_iteration_counts_of_complete_steps(tmp_path: Path) -> None:
    cut = OSZICAR + HEADER + "DAV:   1    -0.338770000000E+03    0.13631E+00\nRMM:   2    -0.3387"
    run = write_run(tmp_path / "cut", oszicar=cut, outcar=outcar_text(3))  # no footer: killed
    seg = parse_md_segment(run, allow_truncated=True)
    assert seg.truncated and seg.table["scf_steps"].tolist() == SCF_STEPS
    steps = read_oszicar_md(run / "OSZICAR").steps
    assert steps["scf_steps"].tolist() == SCF_STEPS and not read_oszicar_md(run / "OSZICAR").partial_last_line


def test_segments_join_with_their_nelm(tmp_path: Path) -> None:
    one = parse_md_segment(write_run(tmp_path / "a"))
    two = parse_md_segment(write_run(tmp_path / "b", incar=INCAR.replace("NELM = 6", "NELM = 12")))
    table = concatenate_segments([one, two])
    assert table["scf_steps"].tolist() == SCF_STEPS * 2 and table["eint_eV"].tolist() == pytest.approx(EINT * 2)
    assert table["conserved_eV"].tolist() == pytest.approx(CONSERVED * 2)
    meta = segment_metadata([one, two])
    assert meta["nelm"] is None and [s["nelm"] for s in meta["segments"]] == [6, 12]
    assert segment_metadata([one, one])["nelm"] == 6
    # a segment whose OUTCAR has no ionic energy lines cannot be joined with one that has them
    bare = outcar_text().replace("energy  without entropy=", "energy-without-entropy:") + OUTCAR_FOOTER
    three = parse_md_segment(write_run(tmp_path / "c", outcar=bare))
    assert "eint_eV" not in three.table and three.table["scf_steps"].tolist() == SCF_STEPS
    with pytest.raises(InputError, match=r"c/OUTCAR: no 'energy  without entropy' lines while other segments"):
        concatenate_segments([one, three])
    assert "eint_eV" not in concatenate_segments([three, three])


# ---------------------------------------------------------------------------------------------------------
# the stand-in VASP, run directly


def fake_run(directory: Path, config: dict[str, object], a: float = 5.2, nsw: int = 20, nelm: int = 60) -> Path:
    """Run the stand-in VASP once in ``directory`` on an 8-atom simple-cubic Cu cell of edge ``a``."""
    directory.mkdir(parents=True)
    (directory / "INCAR").write_text(
        f"IBRION = 0\nMDALGO = 2\nNSW = {nsw}\nPOTIM = 3.0\nTEBEG = 2000\nNELM = {nelm}\nALGO = Fast\n"
        "ISMEAR = -1\nSIGMA = 0.17235\n"
    )
    coords = "".join(f" {x} {y} {z}\n" for x in (0.0, 0.5) for y in (0.0, 0.5) for z in (0.0, 0.5))
    (directory / "POSCAR").write_text(f"Cu8\n1.0\n {a} 0 0\n 0 {a} 0\n 0 0 {a}\nCu\n8\nDirect\n{coords}")
    (directory / "fake.json").write_text(json.dumps(config))
    env = {**os.environ, "FAKE_VASP_CONFIG": str(directory / "fake.json")}
    done = subprocess.run([sys.executable, str(FAKE_VASP)], cwd=directory, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return directory


QUIET = {"p_noise_kbar": 0.0, "e_noise_eV_per_atom": 0.0, "t_noise": 0.0, "conserved_noise_eV": 0.0}


def static_point(directory: Path, eos: dict[str, float], volume: float) -> tuple[float, float, float]:
    """Cell volume, F and static pressure (OUTCAR's total minus 2 EK/(3V), kbar) of a noiseless 1-step run."""
    seg = parse_md_segment(fake_run(directory, {**QUIET, "eos": eos}, a=volume ** (1 / 3), nsw=1))
    row = seg.table.iloc[0]
    static = row["pressure_kbar"] - 2 * row["ekin_eV"] / (3 * seg.volume_A3) * EV_A3_TO_KBAR
    return seg.volume_A3, float(row["epot_eV"]), float(static)


def test_stand_in_energy_and_pressure_come_from_one_equation_of_state(tmp_path: Path) -> None:
    eos = {"v0_per_atom": 17.0, "b0_GPa": 120.0, "b0_prime": 5.0, "e0_per_atom": -4.0}
    v0 = 8 * 17.0
    volume, free, static = np.array([static_point(tmp_path / f"v{k}", eos, v0 * (1.0 + 0.02 * k)) for k in range(9)]).T
    # at V0 the static pressure vanishes and F = N e0 + the ions' potential energy 3/2 N k T
    assert abs(static[0]) < 0.02 and free[0] == pytest.approx(8 * (-4.0 + 1.5 * KB_EV * 2000.0), abs=1e-4)
    assert static[-1] < -100.0  # 16 % larger: under tension
    # E(V) − E(V0) = −∫ P dV: the energy change that a zero-pressure correction integrates
    work = simpson(static / EV_A3_TO_KBAR, x=volume)
    assert free[-1] - free[0] == pytest.approx(-work, abs=2e-4)
    # and locally P = −dF/dV
    slope = -np.gradient(free, volume)[1:-1] * EV_A3_TO_KBAR
    assert slope == pytest.approx(static[1:-1], abs=1.0)
    # Fermi smearing at SIGMA: energy without entropy = F + T S with T S = N (π²/3) g σ², g = 1 per eV and atom
    table = parse_md_segment(tmp_path / "v0").table
    assert (table["eint_eV"] - table["epot_eV"]).iloc[0] == pytest.approx(8 * math.pi**2 / 3 * 0.17235**2, abs=1e-5)


def test_stand_in_is_deterministic_and_its_seed_matters(tmp_path: Path) -> None:
    config = {"p_noise_kbar": 20.0, "p_corr_steps": 5, "nelm_fraction": 0.3, "drift_eV_per_ps": 0.1}
    first, second = fake_run(tmp_path / "a", config), fake_run(tmp_path / "b", config)
    third = fake_run(tmp_path / "c", {**config, "seed": 1})
    for name in ("OSZICAR", "OUTCAR", "XDATCAR"):
        assert (first / name).read_text() == (second / name).read_text()
    assert (first / "OSZICAR").read_text() != (third / "OSZICAR").read_text()
    (tmp_path / "typo.json").write_text(json.dumps({"p_noise": 3}))
    env = {**os.environ, "FAKE_VASP_CONFIG": str(tmp_path / "typo.json")}
    done = subprocess.run([sys.executable, str(FAKE_VASP)], cwd=first, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "unknown config key(s) ['p_noise']" in done.stderr


# ---------------------------------------------------------------------------------------------------------
# the stand-in under custodian, through the runner


@pytest.fixture
def psp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PMG_VASP_PSP_DIR with tiny fake POTCARs (header keywords only) for Ir and Ti_pv."""
    folder = tmp_path / "psp" / "POT_GGA_PAW_PBE_54"
    folder.mkdir(parents=True)
    for symbol in ("Ir", "Ti_pv"):
        element = symbol.split("_")[0]
        (folder / f"POTCAR.{symbol}").write_text(
            f"  PAW_PBE {symbol} 06Sep2000\n 9.0\n parameters from PSCTR are:\n   VRHFIN ={element}: fake\n"
            f"   LEXCH  = PE\n   TITEL  = PAW_PBE {symbol} 06Sep2000\n"
            "   POMASS =  100.000; ZVAL   =    9.000    mass and valenz\n"
            "   ENMAX  =  210.000; ENMIN  =  150.000 eV\n   LPAW   =      T    paw PP\n"
            " END of PSCTR-controll parameters\n local part\n  0.1 0.2 0.3\n End of Dataset\n"
        )
    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(tmp_path / "psp"))
    return tmp_path / "psp"


def lag1(x: np.ndarray) -> float:
    """Lag-1 autocorrelation coefficient."""
    d = x - x.mean()
    return float(d[1:] @ d[:-1] / (d @ d))


def run_stand_in_stage(stage: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, object], nelm: int) -> Path:
    """A 600 fs (200-step) Ir4Ti4 stage run by the runner under custodian with the stand-in VASP."""
    from hmixal.aimd.structure import random_liquid_cell
    from hmixal.aimd.vasp.inputs import MDSettings, cell_structure
    from hmixal.aimd.vasp.run import RunnerSettings, prepare_stage, run_stage

    (stage.parent / f"{stage.name}.json").write_text(json.dumps(config))
    monkeypatch.setenv("FAKE_VASP_CONFIG", str(stage.parent / f"{stage.name}.json"))
    counts = {"Ir": 4, "Ti": 4}
    poscar = Poscar(cell_structure(random_liquid_cell(counts, 8 * 17.0, 2.0, 1)), comment="Ir4Ti4 2750 K")
    prepare_stage(stage, poscar, 2750.0, 600.0, MDSettings(nelm=nelm), "Ir4Ti4 2750 K")
    settings = RunnerSettings(vasp_cmd=(sys.executable, str(FAKE_VASP)), polling_time_step_s=0.02, monitor_freq=1)
    status = run_stage(stage, settings)
    assert status.state.value == "finished", status
    return stage


def test_correlated_noise_and_nelm_steps_through_the_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    from hmixal.aimd.vasp.run import stage_segments, stage_trace

    eos = {"v0_per_atom": 17.0, "b0_GPa": 150.0, "b0_prime": 4.5}
    hot = {"eos": eos, "p_noise_kbar": 20.0, "p_corr_steps": 10, "nelm_fraction": 0.1, "drift_eV_per_ps": 0.08}
    stage = run_stand_in_stage(tmp_path / "hot", monkeypatch, hot, nelm=15)
    trace = stage_trace(stage)
    assert len(trace.table) == 200 and {"scf_steps", "conserved_eV", "eint_eV"} <= set(trace.table.columns)
    pressure = trace.table["pressure_kbar"].to_numpy()
    # AR(1) with τ = 10 steps: lag-1 correlation exp(−0.1) = 0.90; 20 kbar per step
    assert lag1(pressure) > 0.75 and 10.0 < pressure.std() < 30.0
    white = run_stand_in_stage(tmp_path / "white", monkeypatch, {**hot, "p_corr_steps": 0}, nelm=15)
    assert abs(lag1(stage_trace(white).table["pressure_kbar"].to_numpy())) < 0.25
    # steps at NELM: as many as OSZICAR blocks with an iteration numbered 15
    oszicar = "".join((s.directory / "OSZICAR").read_text() for s in stage_segments(stage))
    at_nelm = len(re.findall(r"^(?:DAV|RMM):\s+15\s", oszicar, flags=re.MULTILINE))
    assert 8 <= at_nelm <= 35 and int((trace.table["scf_steps"] == 15).sum()) == at_nelm
    assert trace.table["scf_steps"].max() == 15 and trace.metadata["nelm"] == 15
    result = checks.run_checks(trace, None)
    assert isinstance(result.scf, checks.ScfCheck) and result.scf.n_at_nelm == at_nelm
    assert result.scf.flag is not None and str(stage) in result.scf.flag
    # 0.08 eV/ps per cell of 8 atoms = 10 meV/atom/ps
    assert isinstance(result.drift, checks.DriftCheck) and result.drift.flag is not None
    assert result.drift.slope_meV_per_atom_ps == pytest.approx(10.0, abs=3 * result.drift.slope_sem_meV_per_atom_ps)
