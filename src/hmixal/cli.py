"""The `hmixal` command line: answers from the library and from artifacts the pipeline wrote."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hmixal import __version__
from hmixal.errors import InputError, MissingArtifactError
from hmixal.systems import parse_binary
from hmixal.tables import FORMATS, render


def _compositions(values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if np.any((x <= 0) | (x >= 1)):
        raise InputError(None, None, f"--x values must lie strictly between 0 and 1, got {list(values)}")
    return x


def cmd_miedema(args: argparse.Namespace) -> pd.DataFrame:
    """Miedema's liquid ΔH_mix for binaries at the requested compositions."""
    from hmixal.miedema import hmix

    x = _compositions(args.x)
    pairs = [parse_binary(text) for text in args.systems]
    a = np.repeat([p[0] for p in pairs], x.size)
    b = np.repeat([p[1] for p in pairs], x.size)
    xb = np.tile(x, len(pairs))
    return pd.DataFrame({"A": a, "B": b, "x_B": xb, "hmix_kJ_per_mol": hmix(a, b, xb)})


def cmd_elements(args: argparse.Namespace) -> pd.DataFrame:
    """The element property table (the 22 feature properties of the 70 elements, with provenance)."""
    from hmixal.elements import load_element_table

    table = load_element_table(args.table).reset_index()
    if args.symbols:
        unknown = sorted(set(args.symbols) - set(table["symbol"]))
        if unknown:
            raise InputError(None, None, f"unknown element(s): {', '.join(unknown)}")
        table = table[table["symbol"].isin(args.symbols)]
    return table


def _predictor(results: str):
    """Load the final model and the outer-fold models from a results folder, or say how to build them."""
    from pathlib import Path

    from hmixal.predict import Predictor

    root = Path(results) / "model"
    final = root / "final_after"
    folds = sorted((root / "cv" / "after").glob("fold_*/model"), key=lambda p: int(p.parent.name.split("_")[1]))
    if not (final / "meta.json").is_file():
        raise MissingArtifactError(
            f"no trained model under {root}; build it with "
            "`snakemake --profile profiles/local results/model/predictions.csv` (or `python3 bootstrap.py run`)"
        )
    return Predictor.load(final, folds)


def cmd_predict(args: argparse.Namespace) -> pd.DataFrame:
    """ML-predicted ΔH_mix with uncertainty for binaries (A-B) or multicomponent liquids (e.g. AlCoCrFeNi)."""
    predictor = _predictor(args.results)
    binaries = [s for s in args.systems if "-" in s]
    alloys = [s for s in args.systems if "-" not in s]
    frames = []
    if binaries:
        x = _compositions(args.x)
        pairs = [parse_binary(text) for text in binaries]
        a = np.repeat([p[0] for p in pairs], x.size)
        b = np.repeat([p[1] for p in pairs], x.size)
        frame = predictor.predict(a, b, np.tile(x, len(pairs)))
        frames.append(frame.rename(columns={"uncertainty_kJ_per_mol": "uncertainty"}))
    if alloys:
        from hmixal.predict import predict_alloys

        frames.append(predict_alloys(predictor, alloys))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def cmd_plan(args: argparse.Namespace) -> pd.DataFrame:
    """The acquisition plan: binaries ranked by GP uncertainty, with cluster, coverage and composition."""
    from pathlib import Path

    from hmixal.plan import format_plan, load_plan

    path = Path(args.results) / "uncertainty" / "acquisition_plan.csv"
    if not path.is_file():
        raise MissingArtifactError(
            f"no acquisition plan at {path}; build it with "
            "`snakemake --profile profiles/local results/uncertainty/acquisition_plan.csv`"
        )
    return format_plan(load_plan(path), args.top)


def cmd_aimd_import(args: argparse.Namespace) -> pd.DataFrame:
    """Import finished VASP MD runs made outside the pipeline into results/aimd/imported/<run id>/."""
    import shutil
    import tempfile
    from pathlib import Path

    from hmixal.aimd.analysis import read_trace
    from hmixal.aimd.runner import import_run
    from hmixal.aimd.systems import run_id

    target_root = Path(args.results) / "aimd" / "imported"
    target_root.mkdir(parents=True, exist_ok=True)
    # Parse into a scratch folder first: a truncated or inconsistent run leaves nothing behind.
    with tempfile.TemporaryDirectory(dir=target_root) as scratch:
        trace_path, _ = import_run(args.run_dirs, scratch, allow_truncated=args.allow_truncated)
        trace = read_trace(trace_path)
        name = args.run_id or run_id(trace.composition, trace.target_temperature_K)
        destination = target_root / name
        if destination.exists() and not args.force:
            raise InputError(None, None, f"{destination} exists; pass --force to replace it")
        shutil.rmtree(destination, ignore_errors=True)
        Path(scratch).rename(destination)
        Path(scratch).mkdir()  # TemporaryDirectory removes it on exit
    return pd.DataFrame(
        [{"run_id": name, "directory": str(destination), "steps": len(trace.table), "segments": len(args.run_dirs)}]
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="hmixal",
        description="Enthalpy of mixing of liquid alloys: Miedema baseline, ML predictions, active learning, AIMD.",
    )
    parser.add_argument("--version", action="version", version=f"hmixal {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
        p.set_defaults(func=func)
        return p

    def add_compositions(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--x",
            nargs="+",
            type=float,
            default=[0.5],
            metavar="X_B",
            help="mole fraction(s) of the alphabetically second element B of binaries (default 0.5)",
        )

    p = add("miedema", cmd_miedema, "Miedema's liquid enthalpy of mixing (kJ/mol) of binaries")
    p.add_argument("systems", nargs="+", metavar="A-B", help="binary systems, e.g. Al-Ni Cu-Zr")
    add_compositions(p)

    p = add("predict", cmd_predict, "ML-predicted enthalpy of mixing (kJ/mol) with uncertainty")
    p.add_argument("systems", nargs="+", metavar="SYSTEM", help="binaries A-B (e.g. Al-Ni) or alloys (AlCoCrFeNi)")
    add_compositions(p)
    p.add_argument("--results", default="results", help="the pipeline's results folder (default: results)")

    p = add("plan", cmd_plan, "where new data would help most: binaries ranked by GP uncertainty")
    p.add_argument("--top", type=int, default=20, help="how many binaries (default 20)")
    p.add_argument("--results", default="results", help="the pipeline's results folder (default: results)")

    aimd = sub.add_parser("aimd", help="AIMD runs: import finished VASP runs", description="AIMD runs")
    aimd_sub = aimd.add_subparsers(dest="aimd_command", required=True, metavar="ACTION")
    p = aimd_sub.add_parser(
        "import",
        help="import finished VASP MD runs (segments in order) for the pipeline to analyse",
        description="Parse OSZICAR/OUTCAR/XDATCAR of finished VASP MD runs into the pipeline's run format; the "
        "AIMD rules then use them instead of running VASP for that run id.",
    )
    p.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="VASP run directories, continuation segments in order"
    )
    p.add_argument("--run-id", default=None, help="run id, e.g. Ir50Ti50_2750K (default: from composition and T)")
    p.add_argument("--results", default="results", help="the pipeline's results folder (default: results)")
    p.add_argument("--allow-truncated", action="store_true", help="use the complete steps of a killed run")
    p.add_argument("--force", action="store_true", help="replace an earlier import of the same run id")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(func=cmd_aimd_import)

    p = add("elements", cmd_elements, "the element property table used for the features")
    p.add_argument("symbols", nargs="*", metavar="EL", help="only these elements (default: all 70)")
    p.add_argument("--table", default=None, help="element table CSV (default: the committed data/derived one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hmixal` command."""
    args = build_parser().parse_args(argv)
    try:
        frame = args.func(args)
    except (InputError, MissingArtifactError) as exc:
        print(f"hmixal {args.command}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render(frame, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
