"""A stand-in for the VASP executable in tests: writes VASP-format MD output from INCAR and POSCAR.

Not physics, but the statistics of hot Nosé–Hoover dynamics: positions random-walk; the static energy and
pressure follow one Birch–Murnaghan equation of state of the cell volume (P = −dE/dV exactly, so that a
zero-pressure correction can be tested end to end) with the ions' kinetic pressure 2 E_K/(3V) added; the
temperature, potential energy and pressure fluctuate with AR(1) noise of a chosen correlation time; the
conserved quantity E = F + EK + SP + SK drifts at a chosen rate, the thermostat energies SP + SK taking up the
difference; each step prints its electronic iterations, a chosen fraction of steps running to NELM.
The output files follow VASP 6 formats (OSZICAR electronic and MD lines, OUTCAR stress/energy blocks and
timing footer, XDATCAR, CONTCAR with velocities, vasprun.xml), which is what the parsers and custodian's
handlers read.

Behaviour is set by a JSON file named in the environment variable FAKE_VASP_CONFIG (unknown keys: exit 2):
  step_seconds       sleep per ionic step (custodian monitors need time to look)
  eos                {"v0_per_atom": Å^3, "b0_kbar": kbar (or "b0_GPa"), "b0_prime": -, "e0_per_atom": eV}:
                     static E(V) = N e0 + E_BM(V) and P(V) = −dE/dV; default: V0 = the POSCAR volume,
                     B0 = 1500 kbar, B0' = 4.5, e0 = −8 eV
  p_noise_kbar       standard deviation of the pressure noise per step (default 1)
  p_corr_steps       its correlation time in steps, AR(1) coefficient exp(−1/τ) (default 0: uncorrelated)
  e_noise_eV_per_atom  standard deviation of F per step / √N (default 0.02; the same for every N as before)
  e_corr_steps       correlation time of the F and temperature noise (default: p_corr_steps)
  t_noise            relative temperature noise per step (default 0.03)
  drift_eV_per_ps    drift of the conserved quantity, eV per cell per ps (default 0)
  conserved_noise_eV its step-to-step noise (default 0.002)
  scf_iterations     [least, most] electronic iterations of a converged step (default [NELMIN or 4, +6],
                     kept below NELM)
  nelm_fraction      fraction of steps whose SCF runs to NELM, unconverged (default 0)
  dos_per_eV_atom    density of states at E_F for the electronic entropy: T S = N (π²/3) g σ² with σ = SIGMA,
                     "energy  without entropy" = F + T S and E0 = F + T S / 2 (default 1)
  seed               mixed into the seed taken from the POSCAR (default 0)
  errors             list of {"message", "at_step", "stream": "stdout"|"stderr", "fatal", "while_incar": {...}}:
                     the message is printed at that step while the INCAR has those values; fatal ones exit(1)
  stall              {"at_step", "while_incar"}: stop writing and sleep (a frozen job) until killed
  kill_at_step       die mid-step (no footer, half-written last lines), as a run killed by the batch system
The same config and POSCAR give the same output. Every invocation is appended to fake_vasp.calls (one JSON
line per run) in the working directory. A STOPCAR with LSTOP = .TRUE. makes the run stop cleanly after the
current step, as VASP does.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sys
import time
from pathlib import Path

KB_EV = 8.617333262e-5
EV_A3_TO_KBAR = 1602.1766208
CONFIG_KEYS = frozenset({
    "step_seconds", "eos", "p_noise_kbar", "p_corr_steps", "e_noise_eV_per_atom", "e_corr_steps", "t_noise",
    "drift_eV_per_ps", "conserved_noise_eV", "scf_iterations", "nelm_fraction", "dos_per_eV_atom", "seed",
    "errors", "stall", "kill_at_step",
})  # fmt: skip
EOS_KEYS = frozenset({"v0_per_atom", "b0_kbar", "b0_GPa", "b0_prime", "e0_per_atom"})


class AR1:
    """Stationary AR(1) noise: x_k = φ x_(k−1) + √(1 − φ²) σ ξ_k with φ = exp(−1/τ); τ = 0 is white noise."""

    def __init__(self, rng: random.Random, sigma: float, tau_steps: float) -> None:
        self.rng, self.sigma = rng, sigma
        self.phi = math.exp(-1.0 / tau_steps) if tau_steps > 0 else 0.0
        self.x = None

    def next(self) -> float:
        kick = self.rng.gauss(0, self.sigma)
        # the first value is drawn from the stationary distribution, so no warm-up transient
        self.x = kick if self.x is None else self.phi * self.x + math.sqrt(1.0 - self.phi**2) * kick
        return self.x


def birch_murnaghan(volume: float, v0: float, b0_ev_a3: float, b0_prime: float) -> tuple[float, float]:
    """Third-order Birch–Murnaghan energy (eV, relative to V0) and pressure (eV/Å^3) of a cell volume."""
    eta = (v0 / volume) ** (2.0 / 3.0)
    energy = 9.0 * v0 * b0_ev_a3 / 16.0 * ((eta - 1.0) ** 3 * b0_prime + (eta - 1.0) ** 2 * (6.0 - 4.0 * eta))
    pressure = 1.5 * b0_ev_a3 * (eta**3.5 - eta**2.5) * (1.0 + 0.75 * (b0_prime - 4.0) * (eta - 1.0))
    return energy, pressure


def read_incar(path: Path) -> dict[str, str]:
    tags = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].split("!")[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            tags[key.strip().upper()] = value.strip()
    return tags


def read_poscar(path: Path) -> dict:
    lines = path.read_text().splitlines()
    scale = float(lines[1].split()[0])
    lattice = [[scale * float(x) for x in lines[i].split()[:3]] for i in (2, 3, 4)]
    species = lines[5].split()
    counts = [int(x) for x in lines[6].split()]
    n = sum(counts)
    start = 8 if lines[7].strip()[0].lower() in "dc" else 9
    frac = [[float(x) for x in lines[start + i].split()[:3]] for i in range(n)]
    if lines[start - 1].strip()[0].lower() == "c":
        raise SystemExit("fake_vasp: only Direct POSCARs are supported")
    velocities = None
    rest = [ln for ln in lines[start + n :] if ln.strip()]
    if len(rest) >= n:
        velocities = [[float(x) for x in rest[i].split()[:3]] for i in range(n)]
    return {"lattice": lattice, "species": species, "counts": counts, "frac": frac, "velocities": velocities}


def matches(incar: dict[str, str], wanted: dict | None) -> bool:
    if not wanted:
        return True
    for key, value in wanted.items():
        have = incar.get(key.upper())
        if have is None:
            return False
        if isinstance(value, bool):
            if have.strip(".").upper()[:1] != ("T" if value else "F"):
                return False
        elif isinstance(value, (int, float)):
            try:
                if not math.isclose(float(have), float(value), rel_tol=1e-9):
                    return False
            except ValueError:
                return False
        elif have.lower() != str(value).lower():
            return False
    return True


def _mantissa(x: float, digits: int) -> tuple[float, int]:
    """|x| as mantissa in [0.1, 1) and decimal exponent, rounded to ``digits`` (Fortran E style)."""
    exponent = math.floor(math.log10(abs(x))) + 1
    mantissa = abs(x) / 10**exponent
    if round(mantissa, digits) >= 1.0:
        mantissa /= 10
        exponent += 1
    return mantissa, exponent


def fmt_osz(x: float, digits: int) -> str:
    """VASP's OSZICAR number style: leading-dot mantissa, e.g. -.77512345E+03."""
    if x == 0:
        return "0." + "0" * digits + "E+00"
    mantissa, exponent = _mantissa(x, digits)
    text = f"{mantissa:.{digits}f}"[1:]  # ".77512345"
    return ("-" if x < 0 else "0") + f"{text}E{exponent:+03d}"


def fmt_fortran(x: float, digits: int) -> str:
    """Fortran E format with a 0.-mantissa, as VASP's electronic lines: 0.39480E+03, -0.14813E+04."""
    if x == 0:
        return "0." + "0" * digits + "E+00"
    mantissa, exponent = _mantissa(x, digits)
    return ("-" if x < 0 else "") + f"{mantissa:.{digits}f}E{exponent:+03d}"


def scf_lines(n_iter: int, f_final: float, algo: str, converged: bool) -> list[str]:
    """OSZICAR electronic iterations ending at F; ALGO Fast starts each step with Davidson, then RMM-DIIS."""
    # converging runs approach F geometrically; an unconverged one stalls ~1e-3 eV short of it
    gaps = [10.0 ** (-k / 2.0) if converged else max(10.0 ** (-k / 2.0), 1.3e-3) for k in range(1, n_iter + 1)]
    lines = []
    previous = 0.0
    for k, gap in enumerate(gaps, start=1):
        tag = {"normal": "DAV", "veryfast": "RMM"}.get(algo, "DAV" if k == 1 else "RMM")
        energy = f_final + gap - gaps[-1]  # the last iteration's energy is the step's F
        rms_c = f"    {fmt_fortran(0.5 * gap, 3)}" if k > 1 else ""
        lines.append(
            f"{tag}: {k:3d}    {fmt_fortran(energy, 12):>19}   {fmt_fortran(energy - previous, 5):>12}   "
            f"{fmt_fortran(-0.1 * gap, 5):>12}  {96 * k:4d}   {fmt_fortran(gap, 3)}{rms_c}\n"
        )
        previous = energy
    return lines


def main() -> int:
    cwd = Path.cwd()
    config = {}
    if os.environ.get("FAKE_VASP_CONFIG"):
        config = json.loads(Path(os.environ["FAKE_VASP_CONFIG"]).read_text())
    unknown = set(config) - CONFIG_KEYS | set(config.get("eos", {})) - EOS_KEYS
    if unknown:
        sys.stderr.write(f"fake_vasp: unknown config key(s) {sorted(unknown)}\n")
        return 2
    incar = read_incar(cwd / "INCAR")
    poscar = read_poscar(cwd / "POSCAR")
    with open(cwd / "fake_vasp.calls", "a") as calls:
        calls.write(json.dumps({"incar": incar}) + "\n")

    nsw = int(incar.get("NSW", "0"))
    potim = float(incar.get("POTIM", "0.5"))
    tebeg = float(incar.get("TEBEG", "300"))
    lat = poscar["lattice"]
    a = lat[0][0]
    volume = lat[0][0] * lat[1][1] * lat[2][2]  # cubic/orthorhombic cells only
    species, counts = poscar["species"], poscar["counts"]
    n = sum(counts)
    frac = [list(p) for p in poscar["frac"]]
    seed = int(hashlib.sha256((cwd / "POSCAR").read_bytes()).hexdigest()[:8], 16) ^ int(config.get("seed", 0))
    rng = random.Random(seed)
    rng_scf = random.Random(seed + 1)  # SCF lengths and the conserved quantity: a stream of their own

    eos = config.get("eos", {})
    v0 = float(eos.get("v0_per_atom", volume / n)) * n
    b0_kbar = float(eos["b0_GPa"]) * 10.0 if "b0_GPa" in eos else float(eos.get("b0_kbar", 1500.0))
    b0p = float(eos.get("b0_prime", 4.5))
    e_bm, p_bm = birch_murnaghan(volume, v0, b0_kbar / EV_A3_TO_KBAR, b0p)
    p_static = p_bm * EV_A3_TO_KBAR
    # static energy plus the potential half of the ions' thermal energy (equipartition, 3/2 N k T)
    f_mean = n * float(eos.get("e0_per_atom", -8.0)) + e_bm + 1.5 * n * KB_EV * tebeg
    p_corr = float(config.get("p_corr_steps", 0.0))
    e_corr = float(config.get("e_corr_steps", p_corr))
    p_noise = AR1(rng, float(config.get("p_noise_kbar", 1.0)), p_corr)
    t_noise = AR1(rng, float(config.get("t_noise", 0.03)), e_corr)
    f_noise = AR1(rng, float(config.get("e_noise_eV_per_atom", 0.02)) * math.sqrt(n), e_corr)
    drift_per_fs = float(config.get("drift_eV_per_ps", 0.0)) / 1000.0
    conserved_noise = float(config.get("conserved_noise_eV", 0.002))
    nelm = int(incar.get("NELM", "60"))
    least = int(incar.get("NELMIN", "4"))
    lo, hi = config.get("scf_iterations", [least, least + 6])
    lo, hi = min(int(lo), nelm - 1), min(int(hi), nelm - 1)  # a converged step stops before NELM
    nelm_fraction = float(config.get("nelm_fraction", 0.0))
    algo = incar.get("ALGO", "Normal").lower()
    sigma = float(incar.get("SIGMA", "0.2"))
    entropy_ts = n * math.pi**2 / 3.0 * float(config.get("dos_per_eV_atom", 1.0)) * sigma**2
    conserved_start = None

    step_seconds = float(config.get("step_seconds", 0.0))
    errors = config.get("errors", [])
    stall = config.get("stall")
    kill_at = config.get("kill_at_step")

    out = open(cwd / "vasp.out", "w", buffering=1)  # noqa: SIM115 - stays open for the whole run
    err = sys.stderr
    osz = open(cwd / "OSZICAR", "w", buffering=1)  # noqa: SIM115
    outcar = open(cwd / "OUTCAR", "w", buffering=1)  # noqa: SIM115
    xdat = open(cwd / "XDATCAR", "w", buffering=1)  # noqa: SIM115
    xml = open(cwd / "vasprun.xml", "w", buffering=1)  # noqa: SIM115

    out.write(" running on    1 total cores\n vasp.6.4.2 18Apr23 (build Jan 01 2024) complex\n")
    out.write(f" POSCAR found type information on POSCAR {' '.join(species)}\n")
    out.write(f" POSCAR found :  {len(species)} types and {n:6d} ions\n")
    outcar.write(" vasp.6.4.2 18Apr23 (build Jan 01 2024) complex\n\n")
    outcar.write(f"   number of dos      NEDOS =    301   number of ions     NIONS = {n:6d}\n")
    outcar.write(
        f"   k-points           NKPTS =      1   k-points in BZ     NKDIM =      1   "
        f"number of bands    NBANDS= {6 * n:6d}\n"
    )
    outcar.write("   total plane-waves  NPLWV = 373248\n")
    outcar.write(f"   NSW    = {nsw:6d}    number of steps for IOM\n")
    outcar.write(f"   IBRION = {int(incar.get('IBRION', '0')):6d}    ionic relax: 0-MD 1-quasi-New 2-CG\n")
    outcar.write(f"   ISIF   = {int(incar.get('ISIF', '2')):6d}    stress and relaxation\n")
    outcar.write(f"   ISPIN  = {int(incar.get('ISPIN', '1')):6d}    spin polarized calculation?\n")
    outcar.write(f"   POTIM  = {potim:7.4f}    time-step for ionic-motion\n")
    outcar.write(f"   TEBEG  = {tebeg:7.1f};   TEEND  = {tebeg:7.1f} temperature during run\n")
    outcar.write(f"  volume of cell : {volume:12.2f}\n\n")
    xdat.write(f"{incar.get('SYSTEM', 'fake')}\n           1\n")
    for row in lat:
        xdat.write("    " + "  ".join(f"{x:10.6f}" for x in row) + "\n")
    xdat.write("   " + "   ".join(species) + "\n   " + "   ".join(str(c) for c in counts) + "\n")
    xml.write(_xml_header(incar, species, counts, lat, frac))

    velocities = poscar["velocities"] or [[rng.gauss(0, 0.02) for _ in range(3)] for _ in range(n)]
    stopcar = cwd / "STOPCAR"
    for step in range(1, nsw + 1):
        for spec in errors:
            if spec.get("at_step", 1) == step and matches(incar, spec.get("while_incar")):
                stream = err if spec.get("stream") == "stderr" else out
                stream.write(f" {spec['message']}\n")
                stream.flush()
                if spec.get("fatal", False):
                    return 1
        if stall and stall.get("at_step", 1) == step and matches(incar, stall.get("while_incar")):
            out.flush()
            time.sleep(3600)
        t_inst = tebeg * (1.0 + t_noise.next())
        ek = 1.5 * n * KB_EV * t_inst
        f_pot = f_mean + f_noise.next()
        at_nelm = rng_scf.random() < nelm_fraction
        n_iter = nelm if at_nelm else rng_scf.randint(lo, hi)
        osz.write("       N       E                     dE             d eps       ncg     rms          rms(c)\n")
        for line in scf_lines(n_iter, f_pot, algo, not at_nelm):
            osz.write(line)
            out.write(line)
        if kill_at == step:
            osz.write(f"  {step:4d} T=  {tebeg:5.0f}. E= -.7")  # cut mid-line, no newline
            xdat.write(f"Direct configuration= {step:5d}\n   0.1000")
            outcar.write("  FORCE on cell =-STRESS in cart. coord.  units (eV):\n")
            for handle in (osz, xdat, outcar, out, xml):
                handle.flush()
            os._exit(137)  # as SIGKILL from the batch system: nothing is closed
        eint = f_pot + entropy_ts  # "energy  without entropy" = F + T S
        e0 = f_pot + 0.5 * entropy_ts  # VASP's σ → 0 estimate, (F + E)/2
        p_kin = 2.0 * ek / (3.0 * volume) * EV_A3_TO_KBAR
        p_total = p_static + p_kin + p_noise.next()
        p_ext = p_total - p_kin
        # Nosé–Hoover: E = F + EK + SP + SK is conserved up to the drift, the thermostat's SP + SK taking up
        # the fluctuations of F + EK; SP = SK = 0 when a run starts (VASP starts the thermostat at rest)
        if conserved_start is None:
            conserved_start = f_pot + ek - drift_per_fs * step * potim
            conserved, sp, sk = f_pot + ek, 0.0, 0.0
        else:
            conserved = conserved_start + drift_per_fs * step * potim + rng_scf.gauss(0, conserved_noise)
            sk = 0.5 * KB_EV * tebeg * rng_scf.gauss(0, 1) ** 2  # one degree of freedom: <SK> = k T / 2
            sp = conserved - f_pot - ek - sk
        md_line = (
            f"  {step:4d} T= {t_inst:6.0f}. E= {fmt_osz(conserved, 8)} F= {fmt_osz(f_pot, 8)} "
            f"E0= {fmt_osz(e0, 8)}  EK= {fmt_osz(ek, 5)} SP= {fmt_osz(sp, 2)} SK= {fmt_osz(sk, 2)}\n"
        )
        osz.write(md_line)
        out.write(md_line)
        out.write(" bond charge predicted\n")
        for p in frac:
            for i in range(3):
                p[i] = (p[i] + rng.gauss(0, 0.01)) % 1.0
        xdat.write(f"Direct configuration= {step:5d}\n")
        for p in frac:
            xdat.write(f"  {p[0]:.8f}  {p[1]:.8f}  {p[2]:.8f}\n")
        diag = p_ext
        energies = {"F": f_pot, "eint": eint, "E0": e0, "EK": ek, "SP": sp, "SK": sk, "E": conserved}
        outcar.write(_outcar_step(diag, p_ext, p_kin, p_total, volume, energies, t_inst, step_seconds))
        xml.write(_xml_step(energies, lat, frac, diag))
        # VASP rewrites CONTCAR after every ionic step, so a killed run leaves the last complete state
        (cwd / "CONTCAR").write_text(_contcar(incar, lat, species, counts, frac, velocities))
        if step_seconds:
            time.sleep(step_seconds)
        if stopcar.is_file() and "LSTOP" in stopcar.read_text().upper().replace(" ", ""):
            out.write(" LSTOP = .TRUE. found in STOPCAR: stopping after this ionic step\n")
            break
        if stopcar.is_file() and "LABORT" in stopcar.read_text().upper().replace(" ", ""):
            break

    (cwd / "CONTCAR").write_text(_contcar(incar, lat, species, counts, frac, velocities))
    xml.write(_xml_footer(lat, frac))
    outcar.write(
        "\n\n General timing and accounting informations for this job:\n"
        " ========================================================\n\n"
        "                  Total CPU time used (sec):        1.000\n"
        "                            User time (sec):        1.000\n"
        "                          System time (sec):        0.000\n"
        "                         Elapsed time (sec):        1.000\n"
    )
    out.write(f" writing wavefunctions\n{a:.3f} fake done\n")
    for handle in (osz, xdat, outcar, out, xml):
        handle.close()
    return 0


def _contcar(incar, lat, species, counts, frac, velocities) -> str:
    text = f"{incar.get('SYSTEM', 'fake')}\n   1.00000000000000\n"
    for row in lat:
        text += "    " + "  ".join(f"{x:20.16f}" for x in row) + "\n"
    text += "   " + "   ".join(species) + "\n   " + "   ".join(str(c) for c in counts) + "\nDirect\n"
    for p in frac:
        text += f"  {p[0]:.16f}  {p[1]:.16f}  {p[2]:.16f}\n"
    text += "\n"
    for v in velocities:
        text += f"  {v[0]: .8E} {v[1]: .8E} {v[2]: .8E}\n"
    return text


def _outcar_step(
    diag: float,
    p_ext: float,
    p_kin: float,
    p_total: float,
    volume: float,
    energies: dict[str, float],
    t_inst: float,
    step_seconds: float,
) -> str:
    f_pot, ek = energies["F"], energies["EK"]
    stress_ev = diag * volume / EV_A3_TO_KBAR
    return (
        "  FORCE on cell =-STRESS in cart. coord.  units (eV):\n"
        "  Direction    XX          YY          ZZ          XY          YZ          ZX\n"
        "  " + "-" * 86 + "\n"
        f"  Total   {stress_ev:12.5f}{stress_ev:12.5f}{stress_ev:12.5f}     0.00000     0.00000     0.00000\n"
        f"  in kB   {diag:12.5f}{diag:12.5f}{diag:12.5f}     0.00000     0.00000     0.00000\n"
        f"  external pressure = {p_ext:11.2f} kB  Pullay stress =        0.00 kB\n\n"
        f"  kinetic pressure (ideal gas correction) = {p_kin:8.2f} kB\n"
        f"  total pressure  = {p_total:9.2f} kB\n"
        f"  Total+kin. {p_total:9.3f}{p_total:12.3f}{p_total:12.3f}       0.000       0.000       0.000\n\n"
        " VOLUME and BASIS-vectors are now :\n"
        " " + "-" * 77 + "\n"
        "  energy-cutoff  :      400.00\n"
        f"  volume of cell : {volume:11.2f}\n\n"
        "  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)\n"
        "  ---------------------------------------------------\n"
        f"  free  energy   TOTEN  = {f_pot:18.8f} eV\n\n"
        f"  energy  without entropy= {energies['eint']:18.8f}  energy(sigma->0) = {energies['E0']:18.8f}\n\n"
        "  ENERGIE OF THE ELECTRON-ION-THERMOSTAT SYSTEM (eV)\n"
        "  ---------------------------------------------------\n"
        f"% ion-electron   TOTEN  = {f_pot:18.8f}  see above\n"
        f"  kinetic energy EKIN   = {ek:18.6f}  (temperature {t_inst:8.2f} K)\n"
        "  kinetic energy EKIN_LAT=           0.000000  (temperature    0.00 K)\n"
        f"  nose potential ES     = {energies['SP']:18.5f}\n"
        f"  nose kinetic   EPS    = {energies['SK']:18.5f}\n"
        "  ---------------------------------------------------\n"
        f"  total energy   ETOTAL = {energies['E']:18.8f} eV\n\n"
        f"     LOOP+:  cpu time {step_seconds + 0.01:10.4f}: real time {step_seconds + 0.01:10.4f}\n\n"
    )


def _xml_structure(name: str | None, lat: list[list[float]], frac: list[list[float]]) -> str:
    attr = f' name="{name}"' if name else ""
    text = f' <structure{attr}>\n  <crystal>\n   <varray name="basis" >\n'
    for row in lat:
        text += "    <v>" + " ".join(f"{x:16.8f}" for x in row) + " </v>\n"
    text += '   </varray>\n  </crystal>\n  <varray name="positions" >\n'
    for p in frac:
        text += "   <v>" + " ".join(f"{x:16.8f}" for x in p) + " </v>\n"
    return text + "  </varray>\n </structure>\n"


def _xml_header(incar: dict[str, str], species: list[str], counts: list[int], lat, frac) -> str:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<modeling>\n <generator>\n'
    text += '  <i name="program" type="string">vasp </i>\n  <i name="version" type="string">6.4.2  </i>\n'
    text += " </generator>\n <incar>\n"
    for key, value in incar.items():
        text += f'  <i type="string" name="{key}">{value}</i>\n'
    text += ' </incar>\n <kpoints>\n  <generation param="Gamma">\n'
    text += '   <v type="int" name="divisions">       1        1        1 </v>\n  </generation>\n'
    text += '  <varray name="kpointlist" >\n   <v>       0.00000000       0.00000000       0.00000000 </v>\n'
    text += '  </varray>\n  <varray name="weights" >\n   <v>       1.00000000 </v>\n  </varray>\n </kpoints>\n'
    text += ' <parameters>\n  <separator name="electronic" >\n   <i name="NELECT">    100.0</i>\n'
    text += f'   <i type="int" name="NELM">   {incar.get("NELM", "60")}</i>\n'
    text += f'   <i type="int" name="ISPIN">   {incar.get("ISPIN", "1")}</i>\n'
    text += '   <i type="logical" name="LSORBIT"> F  </i>\n  </separator>\n'
    text += '  <separator name="ionic" >\n'
    text += f'   <i type="int" name="NSW">   {incar.get("NSW", "0")}</i>\n'
    text += f'   <i type="int" name="IBRION">   {incar.get("IBRION", "0")}</i>\n'
    text += f'   <i type="int" name="ISIF">   {incar.get("ISIF", "2")}</i>\n'
    text += f'   <i name="POTIM">   {incar.get("POTIM", "0.5")}</i>\n'
    text += '   <i name="EDIFFG">   -0.01</i>\n  </separator>\n </parameters>\n'
    text += " <atominfo>\n  <atoms>" + f"{sum(counts):8d}" + " </atoms>\n  <types>" + f"{len(species):8d}"
    text += ' </types>\n  <array name="atoms" >\n   <dimension dim="1">ion</dimension>\n'
    text += '   <field type="string">element</field>\n   <field type="int">atomtype</field>\n   <set>\n'
    for t, (s, c) in enumerate(zip(species, counts, strict=True), start=1):
        for _ in range(c):
            text += f"    <rc><c>{s:2s}</c><c>   {t}</c></rc>\n"
    text += '   </set>\n  </array>\n  <array name="atomtypes" >\n   <dimension dim="1">type</dimension>\n'
    text += '   <field type="int">atomspertype</field>\n   <field type="string">element</field>\n'
    text += '   <field>mass</field>\n   <field>valence</field>\n   <field type="string">pseudopotential</field>\n'
    text += "   <set>\n"
    for s, c in zip(species, counts, strict=True):
        text += f"    <rc><c>{c:4d}</c><c>{s:2s}</c><c>100.0</c><c>9.0</c><c>  PAW_PBE {s} 06Sep2000</c></rc>\n"
    text += "   </set>\n  </array>\n </atominfo>\n"
    return text + _xml_structure("initialpos", lat, frac)


def _xml_step(energies: dict[str, float], lat, frac, diag: float) -> str:
    f_pot, eint, e0, ek = energies["F"], energies["eint"], energies["E0"], energies["EK"]
    text = " <calculation>\n  <scstep>\n   <energy>\n"
    text += f'    <i name="e_fr_energy"> {f_pot:16.8f} </i>\n    <i name="e_wo_entrp"> {eint:16.8f} </i>\n'
    text += f'    <i name="e_0_energy"> {e0:16.8f} </i>\n   </energy>\n  </scstep>\n'
    text += _xml_structure(None, lat, frac).replace("\n", "\n ", 0)
    text += '  <varray name="stress" >\n'
    for i in range(3):
        row = [diag if j == i else 0.0 for j in range(3)]
        text += "   <v>" + " ".join(f"{x:16.8f}" for x in row) + " </v>\n"
    text += "  </varray>\n  <energy>\n"
    text += f'   <i name="e_fr_energy"> {f_pot:16.8f} </i>\n   <i name="e_wo_entrp"> {eint:16.8f} </i>\n'
    text += f'   <i name="e_0_energy"> {e0:16.8f} </i>\n   <i name="kinetic"> {ek:16.8f} </i>\n'
    text += f'   <i name="nosepot"> {energies["SP"]:16.8f} </i>\n'
    text += f'   <i name="nosekinetic"> {energies["SK"]:16.8f} </i>\n'
    text += f'   <i name="total"> {energies["E"]:16.8f} </i>\n  </energy>\n </calculation>\n'
    return text


def _xml_footer(lat, frac) -> str:
    return _xml_structure("finalpos", lat, frac) + "</modeling>\n"


if __name__ == "__main__":
    sys.exit(main())
