"""The `hmixal` command line: answers from the library and from artifacts the pipeline wrote.

Binaries are written ``A-B`` with x_B the mole fraction of B as written (``Ni-Al --x 0.25`` is 25 % Al), symbols
in any case; results come back with columns A, B, x_B in that order (hmixal.systems). An expected error (bad
argument, bad input, missing artifact) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from hmixal import __version__
from hmixal.errors import EXPECTED_ERRORS, InputError
from hmixal.layout import ACQUISITION_PLAN, AIMD_IMPORTED, RESULTS, aimd_binaries, aimd_runs
from hmixal.multicomponent import METHODS
from hmixal.systems import canonical_element
from hmixal.tables import FORMATS, render


class UsageError(Exception):
    """A command line argparse cannot parse; ``main`` prints it as one line."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"{prog}: {message} (see {prog} --help)")


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one line, exit code 2 in ``main``) instead of printing its usage."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(self.prog, message)


def cmd_miedema(args: argparse.Namespace) -> pd.DataFrame:
    """Miedema's liquid ΔH_mix for binaries at the requested compositions (A, B, x_B as written) and alloys."""
    from hmixal.api import miedema

    return miedema(args.systems, args.x, method=args.method, asymmetric=args.asymmetric)


def cmd_elements(args: argparse.Namespace) -> pd.DataFrame:
    """The element property table (the 22 feature properties of the 70 elements, with provenance)."""
    from hmixal.elements import load_element_table

    table = load_element_table(args.table)
    if args.symbols:
        unknown = [s for s in args.symbols if s.strip().lower() not in {e.lower() for e in table.index}]
        if unknown:
            raise InputError(None, None, f"unknown element(s): {', '.join(unknown)}")
        symbols = list(dict.fromkeys(canonical_element(s) for s in args.symbols))
        table = table.loc[symbols]
    return table.reset_index()


def cmd_predict(args: argparse.Namespace) -> pd.DataFrame:
    """ML-predicted ΔH_mix with calibrated intervals and domain flags for binaries (A-B) or multicomponent
    liquids (e.g. AlCoCrFeNi); notes on stderr name the training data of a binary and flagged predictions."""
    from hmixal.api import NOTES, predict, training_data

    frame = predict(
        args.systems, args.x, model=args.model, method=args.method, asymmetric=args.asymmetric, details=args.details
    )
    if args.espei:
        _write_espei(frame, args)
    if args.data:  # the notes of the prediction, then the data instead of it
        _print_notes(frame.attrs[NOTES])
        binaries = [s for s in args.systems if "-" in s]
        if not binaries:
            raise InputError(None, None, "--data lists the training data of binaries A-B; none was given")
        return training_data(binaries, model=args.model)
    _print_notes(frame.attrs[NOTES])
    return frame


def _write_espei(frame: pd.DataFrame, args: argparse.Namespace) -> None:
    """The predicted binaries as ESPEI datasets (HM_MIX, LIQUID), labelled as predictions of the model used."""
    from hmixal.api import model_label
    from hmixal.espei_export import prediction_datasets, write_datasets

    if "A" not in frame.columns:
        raise InputError(None, None, "--espei writes binaries A-B; alloys have no ESPEI HM_MIX dataset here")
    binaries = frame[frame["A"].notna()]
    paths = write_datasets(prediction_datasets(binaries, model_label(args.model)), args.espei)
    print(
        f"hmixal predict: wrote {len(paths)} ESPEI dataset(s), labelled as predictions, to {args.espei}",
        file=sys.stderr,
    )


def cmd_model(args: argparse.Namespace) -> pd.DataFrame | str:
    """The model card of the predictor: where its data came from, its settings, its cross-validated accuracy."""
    import json

    from hmixal.api import model_card
    from hmixal.cards import card_rows

    card = model_card(args.model)
    if args.format == "json":  # the whole card, as written
        return json.dumps(card, indent=2, ensure_ascii=False) + "\n"
    return card_rows(card)


def _results_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--results`` option of the commands that read a pipeline run."""
    parser.add_argument("--results", default=RESULTS, help=f"the pipeline's results folder (default: {RESULTS})")


def _print_notes(notes: Sequence[str]) -> None:
    """Notes and warnings on stderr, so stdout stays the table a program reads."""
    for line in notes:
        print(f"hmixal predict: {line}", file=sys.stderr)


def cmd_plan(args: argparse.Namespace) -> pd.DataFrame:
    """The acquisition plan: binaries ranked by GP uncertainty, with cluster, coverage and composition."""
    from hmixal.plan import format_plan, load_plan

    return format_plan(load_plan(Path(args.results) / ACQUISITION_PLAN), args.top)


def cmd_aimd_import(args: argparse.Namespace) -> pd.DataFrame:
    """Import finished VASP MD runs made outside the pipeline into results/aimd/imported/<run id>/."""
    import shutil
    import tempfile

    from hmixal.aimd.protocol import FINISHED, stage_point, write_outcome
    from hmixal.aimd.statistics import DEFAULT_MIN_DISCARD_FRACTION
    from hmixal.aimd.systems import run_id
    from hmixal.aimd.trace import read_trace
    from hmixal.aimd.vasp.run import import_run

    target_root = Path(args.results) / AIMD_IMPORTED
    # Parse into a scratch folder outside the results first: a failed import creates nothing there.
    with tempfile.TemporaryDirectory(prefix="hmixal-import-") as scratch:
        trace_path, _ = import_run(args.run_dirs, scratch, allow_truncated=args.allow_truncated)
        trace = read_trace(trace_path)
        name = args.run_id or run_id(trace.composition, trace.target_temperature_K)
        # The outcome the ΔH_mix rule reads: finished, made by VASP outside the pipeline (no volume loop recorded,
        # so the zero-pressure correction falls back to its one-volume rule, docs/aimd.md).
        engine = {"engine": "vasp", "is_dft": True, "imported": [str(Path(d).resolve()) for d in args.run_dirs]}
        try:
            production = stage_point(trace, DEFAULT_MIN_DISCARD_FRACTION)
        except InputError as error:  # too short to average here; the ΔH_mix rule will say so with the file
            production, reason = None, f"imported ({error})"
        else:
            reason = "imported"
        write_outcome(
            Path(scratch),
            {"run": name, "state": FINISHED, "reason": reason, "composition": trace.composition,
             "temperature_K": trace.target_temperature_K, "engine": engine, "volume": {}, "production": production},
        )  # fmt: skip
        destination = target_root / name
        if destination.exists() and not args.force:
            raise InputError(None, None, f"{destination} exists; pass --force to replace it")
        target_root.mkdir(parents=True, exist_ok=True)
        # Copied beside the destination, then renamed: the run appears whole or not at all.
        staging = Path(tempfile.mkdtemp(dir=target_root, prefix=f".{name}."))
        try:
            shutil.copytree(scratch, staging, dirs_exist_ok=True)
            shutil.rmtree(destination, ignore_errors=True)
            staging.rename(destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return pd.DataFrame(
        [{"run_id": name, "directory": str(destination), "steps": len(trace.table), "segments": len(args.run_dirs)}]
    )


def _merged_config(files: Sequence[str], base: str) -> dict:
    """The workflow config as Snakemake merges it: ``base`` (if any) first, then the files in order."""
    from hmixal.config import merge_config, read_config_file

    config: dict = {}
    for path in [base, *files] if base else list(files):
        merge_config(config, read_config_file(path))
    return config


def _aimd_config(files: Sequence[str], base: str) -> dict:
    """The merged workflow config, which must have an ``aimd`` section."""
    config = _merged_config(files, base)
    if "aimd" not in config:
        raise InputError(files[-1] if files else base, None, "no aimd section in the config")
    return config


def cmd_aimd_inputs(args: argparse.Namespace) -> pd.DataFrame:
    """Write the complete inputs of one system's three runs (alloy, pure A, pure B) for inspection, nothing run."""
    from hmixal.aimd.campaign import make_engine, protocol_settings, run_counts, run_seed
    from hmixal.aimd.protocol import RUN_RECORD, prepare_run, read_run_record
    from hmixal.aimd.systems import melting_points, plan_runs
    from hmixal.elements import load_element_table

    config = _aimd_config(args.config, args.base)
    aimd = config["aimd"]
    elements = load_element_table()
    systems = {k: v for k, v in aimd.get("systems", {}).items() if k != "plan"}
    entry: object = args.system if args.T is None else {"system": args.system, "T_K": args.T}
    plan = plan_runs({**systems, "binaries": [entry]}, melting_points(elements))
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise InputError(out, None, "exists and is not empty; choose a new --out directory")
    protocol = protocol_settings(aimd)
    rows = []
    for _, run in plan.runs.iterrows():
        seed = run_seed(config.get("seed", 0), run["run_id"])
        engine = make_engine(aimd, seed)
        run_dir = out / run["run_id"]
        prepare_run(run_dir, engine, run_counts(run), float(run["T_K"]), protocol, seed, elements)
        record = read_run_record(run_dir, engine, protocol)
        first = run_dir / "vol_00"
        rows.append(
            {"run_id": run["run_id"], "T_K": run["T_K"], "start_volume_A3": round(record["start_volume_A3"], 2),
             "B_guess_GPa": round(record["bulk_modulus_guess_kbar"] / 10.0, 1),
             "files": " ".join(sorted(p.name for p in first.iterdir())), "directory": str(run_dir / RUN_RECORD)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def cmd_aimd_status(args: argparse.Namespace) -> pd.DataFrame:
    """Every run of the campaign: stage, simulated ps, mean pressure ± SE, drift, outcome and what happens next."""
    from hmixal.aimd.campaign import campaign_status, make_engine, protocol_settings

    aimd = _aimd_config(args.config, args.base)["aimd"]
    engine = make_engine(aimd, 0)
    root = Path(args.results) / aimd_runs(str(aimd["engine"]))
    table = campaign_status(root, engine, protocol_settings(aimd).min_discard_fraction)
    binaries = Path(args.results) / aimd_binaries(str(aimd["engine"]))
    verdicts: dict[str, list[str]] = {}
    for path in sorted(binaries.glob("*.csv")) if binaries.is_dir() else []:
        for _, row in pd.read_csv(path, keep_default_na=False).iterrows():
            for source in str(row["source"]).split(";"):
                verdicts.setdefault(Path(source).name, []).append(f"{row['A']}-{row['B']} {row['status']}")
    table["binaries"] = [", ".join(verdicts.get(run, [])) for run in table["run"]]
    return table


def _default_schema() -> Path:
    here = Path("workflow/schemas/config.schema.yaml")
    return here if here.is_file() else Path(__file__).resolve().parents[2] / here


def cmd_check_config(args: argparse.Namespace) -> pd.DataFrame:
    """Check config files as the pipeline will: YAML syntax (file, line), unknown keys, types and sizes."""
    import yaml

    from hmixal.config import check_config_limits, validate_config
    from hmixal.features import feature_names

    files = [args.base, *args.files] if args.base else list(args.files)
    config = _merged_config(args.files, args.base)
    schema_path = Path(args.schema) if args.schema else _default_schema()
    if not schema_path.is_file():
        raise InputError(schema_path, None, "config schema not found; run from the repository or pass --schema")
    validate_config(config, yaml.safe_load(schema_path.read_text(encoding="utf-8")))
    check_config_limits(config, feature_names())
    return pd.DataFrame({"file": files, "status": "ok"})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    parser = _Parser(
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
            default=None,
            metavar="X_B",
            help="mole fraction(s) of B, the second element of A-B as written: Ni-Al --x 0.25 is 25 %% Al "
            "(default 0.5; binaries only: an alloy's amounts are in its formula)",
        )
        p.add_argument(
            "--method",
            choices=METHODS,
            default="muggianu",
            help="how alloys are extrapolated from their binaries (default muggianu; docs/multicomponent.md)",
        )
        p.add_argument(
            "--asymmetric",
            default=None,
            metavar="EL",
            help="Toop's asymmetric element (--method toop; default: chosen by hmixal's documented rule)",
        )

    def add_model(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--model",
            default=None,
            metavar="DIR",
            help="a trained model folder, e.g. results/model of your own pipeline run (default: the predictor "
            "shipped with hmixal; `hmixal model` describes it)",
        )

    p = add("miedema", cmd_miedema, "Miedema's liquid enthalpy of mixing (kJ/mol) of binaries and alloys")
    p.add_argument(
        "systems",
        nargs="+",
        metavar="SYSTEM",
        help="binaries A-B in any case (e.g. Al-Ni cu-zr; printed as written) or alloys (e.g. AlCoCrFeNi)",
    )
    add_compositions(p)

    p = add("predict", cmd_predict, "ML-predicted enthalpy of mixing (kJ/mol) with uncertainty")
    p.add_argument(
        "systems",
        nargs="+",
        metavar="SYSTEM",
        help="binaries A-B (e.g. Ni-Al, printed as written) or alloys (AlCoCrFeNi; a formula in one case such as "
        "alcocrfeni is read when its symbols split only one way)",
    )
    add_compositions(p)
    add_model(p)
    p.add_argument(
        "--details",
        action="store_true",
        help="every column: ensemble spread, training binaries with A and with B, nearest training binary and its "
        "feature-space distance, the model's residual on the binary's own data",
    )
    p.add_argument("--data", action="store_true", help="print the training data of the binaries instead")
    p.add_argument(
        "--espei",
        default=None,
        metavar="DIR",
        help="also write the binaries' predictions as ESPEI datasets (HM_MIX, LIQUID) into the new folder DIR, "
        "labelled as predictions with their uncertainty (docs/redlich_kister.md, 'ESPEI datasets')",
    )

    p = add("model", cmd_model, "the model card of the predictor: data, settings, cross-validated accuracy, version")
    add_model(p)

    p = add("plan", cmd_plan, "where new data would help most: binaries ranked by GP uncertainty")
    p.add_argument("--top", type=int, default=20, help="how many binaries (default 20)")
    _results_argument(p)

    aimd = sub.add_parser("aimd", help="AIMD runs: inputs, status, import", description="AIMD runs")
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
    _results_argument(p)
    p.add_argument("--allow-truncated", action="store_true", help="use the complete steps of a killed run")
    p.add_argument("--force", action="store_true", help="replace an earlier import of the same run id")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(func=cmd_aimd_import)

    def add_config_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", nargs="*", default=[], metavar="FILE", help="config files as given to snakemake")
        p.add_argument("--base", default="config/config.yaml", help="read first (default: config/config.yaml)")
        p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")

    p = aimd_sub.add_parser(
        "inputs",
        help="write one system's complete run inputs for inspection (nothing is submitted)",
        description="Writes what the pipeline's aimd_run jobs would start from for the alloy and the two pure "
        "liquids of SYSTEM: run.json and the first volume stage's inputs (VASP: INCAR, KPOINTS, POSCAR, and POTCAR "
        "or, without PMG_VASP_PSP_DIR, POTCAR.spec).",
    )
    p.add_argument("system", metavar="SYSTEM", help="binary A-B, e.g. Ir-Ti")
    p.add_argument("--T", type=float, default=None, help="temperature in K (default: the config's rule)")
    p.add_argument("--out", required=True, help="a new directory for the inputs")
    add_config_arguments(p)
    p.set_defaults(func=cmd_aimd_inputs)

    p = aimd_sub.add_parser(
        "status",
        help="every run's stage, simulated ps, mean pressure ± SE, drift, outcome and what happens next",
        description="Reads results/aimd/<engine>/runs/*: nothing is run or changed.",
    )
    _results_argument(p)
    add_config_arguments(p)
    p.set_defaults(func=cmd_aimd_status)

    p = add(
        "check-config",
        cmd_check_config,
        "check pipeline config files before a run: YAML syntax (file and line), unknown keys, types, sizes",
    )
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="config files in --configfile order, e.g. .test/config/config.yaml"
    )
    p.add_argument(
        "--base",
        default="config/config.yaml",
        help="the workflow's own config, read first (default: config/config.yaml; '' for none)",
    )
    p.add_argument("--schema", default=None, help="default: workflow/schemas/config.schema.yaml")

    p = add("elements", cmd_elements, "the element property table used for the features")
    p.add_argument("symbols", nargs="*", metavar="EL", help="only these elements, any case (default: all 70)")
    p.add_argument("--table", default=None, help="element table CSV (default: the committed data/derived one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hmixal` command: 0 on success, 2 with one line on stderr for an expected error."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    command = " ".join(filter(None, (args.command, getattr(args, "aimd_command", None))))
    try:
        frame = args.func(args)
    except EXPECTED_ERRORS as exc:
        print(f"hmixal {command}: {exc}", file=sys.stderr)
        return 2
    # A command may answer with text it has rendered itself (`hmixal model --format json`: the card as written).
    sys.stdout.write(frame if isinstance(frame, str) else render(frame, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
