"""Errors that reach the person: one line naming the file, line or config key — from the library, from a rule
script (hmixal.jobs) and, end to end, on the console of a Snakemake run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hmixal.config import check_config_limits, config_key, validate_config
from hmixal.errors import ConfigError, InputError
from hmixal.features import feature_names
from hmixal.systems import distinct_binaries, normalise_formula, orient, parse_binary, parse_system

N_FEATURES = len(feature_names())


@pytest.fixture(scope="module")
def schema(repo_dir: Path) -> dict:
    return yaml.safe_load((repo_dir / "workflow" / "schemas" / "config.schema.yaml").read_text())


@pytest.fixture
def config(repo_dir: Path) -> dict:
    """The default config with the quick one merged over it, as ``--configfile .test/config/config.yaml`` does."""
    from hmixal.config import merge_config, read_config_file

    merged = read_config_file(repo_dir / "config" / "config.yaml")
    merge_config(merged, read_config_file(repo_dir / ".test" / "config" / "config.yaml"))
    return merged


def problems(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return str(error.value).splitlines()


# --- config: schema and sizes ------------------------------------------------------------------------------


def test_the_shipped_configs_pass(config, schema, repo_dir):
    validate_config(config, schema)
    check_config_limits(config, feature_names(), n_binaries=300)
    from hmixal.config import merge_config, read_config_file

    for name in ("config.yaml", "emt_demo.yaml", "aimd_paper.yaml"):
        merged = read_config_file(repo_dir / "config" / "config.yaml")
        merge_config(merged, read_config_file(repo_dir / "config" / name))
        validate_config(merged, schema)
        check_config_limits(merged, feature_names())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.update(foo=1), "config: unknown key 'foo' at top level (known: active_learning, aimd,"),
        (lambda c: c["selection"].update(n_feature_al=3), "config: unknown key 'n_feature_al' in selection"),
        (lambda c: c["model"]["inner"].pop("n_folds"), "config: missing key 'n_folds' in model.inner"),
        (lambda c: c["selection"].update(repeats="ten"), "config: selection.repeats = 'ten' must be of type integer"),
        (lambda c: c["model"].update(outer_folds=1), "config: model.outer_folds = 1 must be at least 2"),
        (lambda c: c["calphad"]["x_grid"].__setitem__(1, 1.5), "config: calphad.x_grid[1] = 1.5 must be less than 1"),
        (
            lambda c: c["model"]["inner"].update(sample_weighting="rows"),
            "config: model.inner.sample_weighting = 'rows' must be one of miedema_group, none",
        ),
    ],
)
def test_schema_problems_are_one_line_naming_the_key(config, schema, change, expected):
    change(config)
    with pytest.raises(ConfigError) as error:
        validate_config(config, schema)
    assert len(problems(error)) == 1 and problems(error)[0].startswith(expected), problems(error)


def test_every_schema_problem_gets_its_own_line(config, schema):
    config["foo"] = 1
    config["selection"]["repeats"] = 0
    with pytest.raises(ConfigError) as error:
        validate_config(config, schema)
    assert [p.split(" (")[0] for p in problems(error)] == [
        "config: unknown key 'foo' at top level",
        "config: selection.repeats = 0 must be at least 1",
    ]


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        (
            "selection",
            "n_features_al",
            500,
            f"config: selection.n_features_al = 500 exceeds {N_FEATURES}, the number of candidate features",
        ),
        ("selection", "n_features_final", N_FEATURES + 1, f"exceeds {N_FEATURES}, the number of candidate features"),
        ("selection", "n_features_al", 5, "selection.n_features_al = 5 is below selection.min_features = 8"),
        ("model", "outer_folds", 301, "config: model.outer_folds = 301 exceeds 300, the number of binaries"),
        ("model", "grid_step", 0.03, "config: model.grid_step = 0.03 must divide 1 into at least two intervals"),
        ("uncertainty", "step", 0.7, "config: uncertainty.step = 0.7 must divide 1"),
        ("uncertainty", "k_min", 20, "config: uncertainty.k_min = 20 exceeds uncertainty.k_max = 12"),
        ("uncertainty", "features", ["Density_mean", "Densty_mean"], "unknown feature(s) 'Densty_mean'"),
        ("active_learning", "test_fraction", 0.75, "train_fraction + test_fraction = 1 leaves no pool"),
        ("active_learning", "features", ["Column_mean", "Colum_avgdev"], "active_learning.features: unknown feature"),
        ("uncertainty.plan", "objective_step", 0.3, "config: uncertainty.plan.objective_step = 0.3 must divide 1"),
        ("uncertainty.plan", "exclude", ["C", "Xx"], "uncertainty.plan.exclude: unknown element(s) 'Xx'"),
        ("uncertainty.plan", "exclude_systems", ["Li-U", "LiU"], "exclude_systems: 'LiU' is not a binary"),
        ("uncertainty.plan", "exclude_systems", ["Fe-Fe"], "exclude_systems: 'Fe-Fe' is not a binary"),
    ],
)
def test_impossible_sizes_are_refused_naming_the_key(config, section, key, value, expected):
    part = config
    for name in section.split("."):
        part = part[name]
    part[key] = value
    with pytest.raises(ConfigError) as error:
        check_config_limits(config, feature_names(), n_binaries=300)
    assert len(problems(error)) == 1 and expected in problems(error)[0], problems(error)


def test_inner_folds_are_bounded_by_the_smallest_outer_training_set(config):
    config["model"].update(outer_folds=4)
    config["model"]["inner"].update(n_folds=8, rfe_n_features=N_FEATURES + 3)
    with pytest.raises(ConfigError) as error:
        check_config_limits(config, feature_names(), n_binaries=9)  # the largest of 4 folds holds ≥ 3 of 9
    assert problems(error) == [
        f"config: model.inner.rfe_n_features = {N_FEATURES + 3} exceeds {N_FEATURES}, the number of candidate features",
        "config: model.inner.n_folds = 8 exceeds 6, the binaries in the smallest outer training set",
    ]
    config["model"]["inner"].update(n_folds=6, rfe_n_features=None)
    check_config_limits(config, feature_names(), n_binaries=9)
    check_config_limits(config, feature_names(), n_binaries=None)  # unknown: the fold checks wait for the data


def test_config_key_spells_paths_as_in_the_yaml():
    assert config_key(["model", "inner", "n_folds"]) == "model.inner.n_folds"
    assert config_key(["calphad", "x_grid", 2]) == "calphad.x_grid[2]"
    assert config_key([]) == ""


# --- the A-B convention ------------------------------------------------------------------------------------


def test_systems_are_read_as_written_in_any_case_and_oriented_for_the_library():
    assert parse_system("ni-AL") == ("Ni", "Al")
    assert parse_binary("Ni-Al") == ("Al", "Ni")
    a, b, x, swapped = orient(["Ni", "Al"], ["Al", "Ni"], [0.25, 0.25])
    assert list(a) == ["Al", "Al"] and list(b) == ["Ni", "Ni"] and list(swapped) == [True, False]
    assert x.tolist() == [0.75, 0.25]
    assert orient(["Zr"], ["Cu"], [0.3])[2][0] == 0.7  # exactly, like the dataset's normalised x_B
    for bad, message in (("Al-Xx", "unknown element 'Xx'"), ("Al", "write it as A-B"), ("al-AL", "twice")):
        with pytest.raises(InputError, match=message):
            parse_system(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AlCoCrFeNi", "AlCoCrFeNi"),
        ("alcocrfeni", "AlCoCrFeNi"),
        ("ALCOCRFENI", "AlCoCrFeNi"),
        ("al0.5cocrfeni", "Al0.5CoCrFeNi"),
        ("fe70cr20ni10", "Fe70Cr20Ni10"),
        ("CoB", "CoB"),  # mixed case is taken as written
    ],
)
def test_formulas_in_one_case_are_read_when_unambiguous(text, expected):
    assert normalise_formula(text) == expected


def test_ambiguous_or_unreadable_formulas_say_what_to_write():
    with pytest.raises(InputError, match=r"'cuzr' reads more than one way \(Cu Zr or C U Zr\).*e\.g\. CuZr"):
        normalise_formula("cuzr")
    with pytest.raises(InputError, match="cannot read 'alxx'"):
        normalise_formula("alxx")


def test_distinct_binaries_bounds_the_binaries_of_input_tables(tmp_path, repo_dir):
    table = tmp_path / "t.csv"
    table.write_text("# comment\nA,B,x_B,hmix_kJ_per_mol\nAl,Ni,0.5,-20\nni,al,0.2,-10\nCu,Zr,0.5,-5\nXx,Al,0.5,1\n")
    assert distinct_binaries([table]) == {("Al", "Ni"), ("Cu", "Zr")}
    assert len(distinct_binaries([repo_dir / "data" / "aimd_bizot2026.csv"])) > 30


# --- rule scripts: hmixal.jobs.start_job ---------------------------------------------------------------------

_SCRIPT = """
import sys, types
from hmixal.errors import InputError
from hmixal.jobs import start_job
snakemake = types.SimpleNamespace(
    log=[sys.argv[1]], threads=1, rule="dataset_initial", wildcards=types.SimpleNamespace()
)
log = start_job(snakemake, "merge_dataset")
log.info("reading")
if sys.argv[2] == "input":
    raise InputError("data/my.csv", 1, "missing column(s): x_B")
raise KeyError("x_B")
"""


@pytest.mark.parametrize("kind", ["input", "bug"])
def test_a_rule_script_error_reaches_log_and_console_in_one_line(tmp_path, kind):
    log = tmp_path / "job.log"
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(log), kind], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    text = log.read_text()
    if kind == "input":
        assert done.stderr == "ERROR dataset_initial: data/my.csv:1: missing column(s): x_B\n"
        assert "Traceback" not in text
        assert text.splitlines()[-1].endswith("ERROR merge_dataset: data/my.csv:1: missing column(s): x_B")
    else:  # an unexpected error keeps its traceback in the log, and the console is pointed there
        assert done.stderr == f"ERROR dataset_initial: KeyError: 'x_B' (traceback in {log})\n"
        assert "Traceback" in text and text.splitlines()[-1] == "KeyError: 'x_B'"


def test_job_labels_name_the_rule_and_its_wildcards():
    from types import SimpleNamespace

    from hmixal.jobs import job_label

    assert (
        job_label(SimpleNamespace(rule="rfe_block", wildcards=SimpleNamespace(block="3")), "x") == "rfe_block[block=3]"
    )
    assert job_label(SimpleNamespace(wildcards=SimpleNamespace()), "merge_dataset") == "merge_dataset"


def test_every_rule_script_is_a_run_job_shim(repo_dir):
    for script in sorted((repo_dir / "scripts").glob("*.py")):
        text = script.read_text()
        assert "run_job(snakemake" in text, script.name  # hmixal.jobs.run_job: start_job, then the job
        assert "logging.basicConfig" not in text and "sys.stderr = open" not in text, script.name


# --- end to end: what the person sees on the console of a Snakemake run ---------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    from helpers import scratch_copy

    return scratch_copy(tmp_path_factory.mktemp("errors"))


def snakemake(workdir: Path, *args: str) -> tuple[int, str]:
    """A local run with the repository's profile; the return code and the console (stdout + stderr)."""
    command = [sys.executable, "-m", "snakemake", *args, "--profile", "profiles/local", "--cores", "1"]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


USER_TABLES = {
    "empty.csv": ("", "ERROR dataset_initial: data/empty.csv: empty file: no header line"),
    "no_x.csv": (
        "A,B,hmix_kJ_per_mol\nAl,Ni,-20\n",
        "ERROR dataset_initial: data/no_x.csv:1: missing column(s): x_B",
    ),
    "semicolons.csv": (
        "A;B;x_B;hmix_kJ_per_mol\nAl;Ni;0.5;-20\n",
        "ERROR dataset_initial: data/semicolons.csv:1: missing column(s): A, B, x_B",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(USER_TABLES))
def test_a_bad_user_table_is_one_line_on_the_console(workdir, name):
    text, expected = USER_TABLES[name]
    (workdir / "data" / name).write_text(text)
    code, console = snakemake(
        workdir, "results/data/dataset_initial.csv", "--config", f"sources={{'user_tables': ['data/{name}']}}"
    )
    assert code != 0
    assert expected in console, console[-3000:]
    log = (workdir / "results" / "logs" / "dataset_initial.log").read_text()
    assert "Traceback" not in log and "Traceback" not in console
    assert not (workdir / "results" / "data" / "dataset_initial.csv").exists()


@pytest.mark.slow
def test_config_errors_are_one_line_and_stop_the_run_before_any_job(workdir):
    bad = workdir / "config" / "bad.yaml"
    bad.write_text("foo: 1\n")
    code, console = snakemake(workdir, "-n", "--configfile", ".test/config/config.yaml", "config/bad.yaml")
    assert code != 0 and "config: unknown key 'foo' at top level" in console
    assert len(console.strip().splitlines()) <= 4 and "Failed validating" not in console, console
    bad.write_text("selection:\n  n_features_al: 500\n")
    code, console = snakemake(
        workdir, "results/selection/features_al.txt", "--configfile", ".test/config/config.yaml", "config/bad.yaml"
    )
    assert code != 0
    assert f"config: selection.n_features_al = 500 exceeds {N_FEATURES}, the number of candidate features" in console
    assert "Traceback" not in console and not (workdir / "results" / "selection").exists()  # no job ran
    bad.write_text("model:\n  outer_folds: 5000\n")
    code, console = snakemake(workdir, "-n", "--configfile", "config/bad.yaml")
    assert code != 0 and "config: model.outer_folds = 5000 exceeds" in console


@pytest.mark.slow
def test_a_yaml_syntax_error_is_reported_by_snakemake_and_located_by_check_config(workdir):
    bad = workdir / "config" / "bad.yaml"
    bad.write_text("selection:\n  repeats: 2\n  lgbm: {n_estimators: 40\nmodel:\n  outer_folds: 3\n")
    code, console = snakemake(workdir, "-n", "--configfile", "config/bad.yaml")
    # Snakemake parses --configfile before the workflow runs and names neither file nor line (README: Command line).
    assert code != 0 and "Config file is not valid JSON or YAML" in console
    done = subprocess.run(
        [sys.executable, "-m", "hmixal", "check-config", "config/bad.yaml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.startswith("hmixal check-config: config/bad.yaml:4: YAML syntax")


def test_a_config_error_is_an_input_error_with_one_line_per_problem():
    error = ConfigError(["a = 1 must be at least 2", "unknown key 'b' at top level"])
    assert str(error).splitlines() == ["config: a = 1 must be at least 2", "config: unknown key 'b' at top level"]
    assert isinstance(error, InputError) and error.problems[1] == "unknown key 'b' at top level"


def test_the_job_start_up_loads_no_thread_pool_before_capping_it():
    """numpy (BLAS) and LightGBM (OpenMP) read their thread caps when they load: the start-up must come first."""
    code = "import sys, hmixal.jobs; print(sorted(m for m in ('numpy', 'lightgbm', 'pandas') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
