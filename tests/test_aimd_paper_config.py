"""config/aimd_paper.yaml plans exactly the seed's Table 1 campaign: its computed systems at its temperatures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from hmixal.aimd.systems import melting_points, plan_runs
from hmixal.elements import load_element_table

REPO = Path(__file__).resolve().parents[1]
# Seed §4.2 (Bizot, Tamura, Deffrennes, Comput. Mater. Sci. 266 (2026) 114568): "the temperatures we have
# considered for Ir, Os, Re and W alloys are 2750, 3300, 3500 and 3700 K, respectively".
PAPER_T_K = {"Ir": 2750.0, "Os": 3300.0, "Re": 3500.0, "W": 3700.0}
# Table 1: each refractory element with the same ten partners; X (phase separation) and N/A (not computed).
PARTNERS = ("As", "Al", "Ca", "Mg", "Mo", "Sc", "Si", "Ti", "V", "Zr")
NOT_COMPUTED = {("Os", "As"), ("Re", "As"), ("W", "As")}
PHASE_SEPARATION = {("Os", "Ca"), ("Os", "Mg"), ("Re", "Ca"), ("Re", "Mg"), ("Re", "Mo"), ("W", "Ca"), ("W", "Mg"),
                    ("W", "Sc")}  # fmt: skip


def _key(a: str, b: str) -> str:
    """The system name as plan_runs writes it (alphabetical order)."""
    return "-".join(sorted((a, b)))


def _refractory(a: str, b: str) -> str:
    (element,) = {a, b} & set(PAPER_T_K)  # Table 1 pairs one of the four with a partner outside them
    return element


@pytest.fixture(scope="module")
def plan():
    """The plan of config/aimd_paper.yaml with the project's element table."""
    config = yaml.safe_load((REPO / "config" / "aimd_paper.yaml").read_text(encoding="utf-8"))
    return plan_runs(config["aimd"]["systems"], melting_points(load_element_table()))


@pytest.fixture(scope="module")
def table1() -> pd.DataFrame:
    """data/aimd_bizot2026.csv (Table 1): one row per system, comments skipped."""
    return pd.read_csv(REPO / "data" / "aimd_bizot2026.csv", comment="#", keep_default_na=False)


def test_table1_file_matches_the_paper_statuses_and_temperatures(table1):
    # The committed table is the reference of the other tests: check it against the paper's layout first.
    assert len(table1) == len(PAPER_T_K) * len(PARTNERS) == 40
    for row in table1.itertuples():
        refractory = _refractory(row.A, row.B)
        partner = row.A if refractory == row.B else row.B
        expected = (
            "not_computed"
            if (refractory, partner) in NOT_COMPUTED
            else "phase_separation"
            if (refractory, partner) in PHASE_SEPARATION
            else "value"
        )
        assert row.status == expected, row.comment
        assert PAPER_T_K[refractory] == row.T_K, row.comment
    assert (table1["status"] == "value").sum() == 29 and (table1["status"] == "phase_separation").sum() == 8


def test_the_paper_config_plans_exactly_table1s_computed_systems_at_its_temperatures(plan, table1):
    computed = table1[table1["status"].isin(["value", "phase_separation"])]
    expected = {_key(a, b): float(t) for a, b, t in zip(computed["A"], computed["B"], computed["T_K"], strict=True)}
    planned = dict(zip(plan.systems["system"], plan.systems["T_K"].astype(float), strict=True))
    assert len(expected) == 37
    assert planned == expected
    # Equimolar 100-atom cells, as §4.2.
    assert set(plan.systems["x_B"]) == {0.5}
    assert set(plan.runs["n_atoms"]) == {100}
    not_computed = table1[table1["status"] == "not_computed"]
    assert not {_key(a, b) for a, b in zip(not_computed["A"], not_computed["B"], strict=True)} & set(planned)


def test_every_run_is_at_the_papers_temperature_of_its_refractory_element(plan):
    for system in plan.systems.itertuples():
        t_k = PAPER_T_K[_refractory(system.A, system.B)]
        for run in (system.alloy_run, system.pure_A_run, system.pure_B_run):
            assert run.endswith(f"_{t_k:.0f}K"), (system.system, run)
    # No run outside the systems' runs, and none at a temperature the paper did not use.
    used = set(plan.systems[["alloy_run", "pure_A_run", "pure_B_run"]].to_numpy().ravel())
    assert set(plan.runs["run_id"]) == used
    assert set(plan.runs["T_K"]) == set(PAPER_T_K.values())


def test_pure_runs_are_shared_within_a_temperature(plan):
    pure = plan.runs[plan.runs["kind"] == "pure"]
    # Per temperature: the refractory element once and each partner computed at that temperature once
    # (Ir: all ten partners; Os, Re, W: the nine other than As) = 11 + 10 + 10 + 10.
    per_t = pure.groupby("T_K")["A"].apply(sorted).to_dict()
    assert per_t == {
        2750.0: sorted(["Ir", *PARTNERS]),
        3300.0: sorted(["Os", *(p for p in PARTNERS if p != "As")]),
        3500.0: sorted(["Re", *(p for p in PARTNERS if p != "As")]),
        3700.0: sorted(["W", *(p for p in PARTNERS if p != "As")]),
    }
    assert len(plan.runs) == 37 + 41


def test_the_melting_point_rule_alone_would_leave_the_papers_temperatures(plan):
    # Why the config writes T_K on every system: without it Ir-Mo (Mo melts above Ir) and the Os alloys (Os melts
    # 6 K above 3300 K) would run at temperatures the paper never used.
    config = yaml.safe_load((REPO / "config" / "aimd_paper.yaml").read_text(encoding="utf-8"))
    by_rule = [{"system": e["system"]} for e in config["aimd"]["systems"]["binaries"]]
    rule = plan_runs({"binaries": by_rule}, melting_points(load_element_table())).systems
    moved = {
        s: t for s, t in zip(rule["system"], rule["T_K"], strict=True) if t != PAPER_T_K[_refractory(*s.split("-"))]
    }
    assert moved == {"Ir-Mo": 2900.0, **{_key("Os", p): 3350.0 for p in PARTNERS if p != "As"}}
    assert set(plan.systems["T_source"]) == {"override"}
