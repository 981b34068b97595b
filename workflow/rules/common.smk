# Shared helpers: config validation and the choice between committed and rebuilt derived tables.
import os
import sys
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

REFDATA = Path(config["refdata_dir"])
REBUILD = config["sources"]["rebuild_derived"]


def refdata(relative):
    """A path inside the configured reference-data folder."""
    return str(REFDATA / relative)


def derived(name):
    """A derived source table: rebuilt from refdata into results/derived/, or the committed copy in data/derived/."""
    return f"results/derived/{name}.csv" if REBUILD else f"data/derived/{name}.csv"

# Rule scripts (and this Snakefile) import hmixal from this checkout, also where it is not installed.
_SRC = str(Path(workflow.basedir) / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p)
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
