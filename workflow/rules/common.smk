# Shared helpers: config validation and the choice between committed and rebuilt derived tables.
import os
import sys
from pathlib import Path

import yaml

# Rule scripts (and this Snakefile) import hmixal from this checkout, also where it is not installed.
_SRC = str(Path(workflow.basedir) / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p)

from hmixal.config import check_config_limits, validate_config
from hmixal.errors import ConfigError
from hmixal.features import feature_names
from hmixal.systems import distinct_binaries


def _input_binaries():
    """Upper bound on the binaries of the datasets: the input tables' distinct pairs (+ AIMD systems to run), or
    None while a table is not there yet (rebuilt derived tables, a missing user table: the rules report those)."""
    sources = config["sources"]
    rebuilt = "results/derived" if sources["rebuild_derived"] else "data/derived"
    paths = [f"{rebuilt}/calphad_hmix.csv", f"{rebuilt}/calorimetry.csv", sources["aimd_published"]]
    paths += list(sources["user_tables"])
    try:
        pairs = distinct_binaries(paths)
    except (OSError, UnicodeDecodeError):
        return None
    systems = config["aimd"]["systems"] if config["aimd"]["run"] else {}
    return len(pairs) + len(systems.get("binaries", [])) + systems.get("plan", {}).get("top_n", 0)


# Every config problem is one line naming its key (no schema dump), and impossible sizes stop the run before
# any job starts. (A YAML syntax error is reported by Snakemake itself, before this file runs: see README.)
try:
    _schema = yaml.safe_load((Path(workflow.basedir) / "workflow/schemas/config.schema.yaml").read_text())
    validate_config(config, _schema)
    check_config_limits(config, feature_names(), _input_binaries())
except ConfigError as error:
    sys.exit(str(error))

REFDATA = Path(config["refdata_dir"])
REBUILD = config["sources"]["rebuild_derived"]


def refdata(relative):
    """A path inside the configured reference-data folder."""
    return str(REFDATA / relative)


def derived(name):
    """A derived source table: rebuilt from refdata into results/derived/, or the committed copy in data/derived/."""
    return f"results/derived/{name}.csv" if REBUILD else f"data/derived/{name}.csv"


CONDA_ENV = "../../envs/hmixal.yaml"


FIG = "results/figures"


def figure_outputs(name, caption, category, label):
    """Named outputs of a figure rule: the PNG in the report, the PDF and the plotted numbers beside it."""
    return {
        "png": report(
            f"{FIG}/{name}.png", caption=f"../report/{caption}.rst", category=category, labels={"figure": label}
        ),
        "pdf": f"{FIG}/{name}.pdf",
        "data": f"{FIG}/{name}.csv",
    }
