# Figures of the paper (Fig. 1–5, suppl. Fig. S1–S5), hmixal's calibration figure (Fig. S6), the active-learning
# figure of the held-out-cluster design (Fig. S7) and the key-metrics page, for `snakemake --report`.
# One script draws any figure (params.figure picks it); the other params are keyword options of the
# hmixal.figures function. Each figure writes a PNG (report), a PDF (papers) and a CSV of the plotted numbers.

FIG_CATEGORY = "1. Figures of the paper"
SUPPL_CATEGORY = "2. Supplementary figures"
# Within both categories, one subcategory per pipeline stage, so the figures of one stage sit together.
SUBCATEGORY = {
    "selection": "Feature selection",
    "active_learning": "Active learning",
    "uncertainty": "Uncertainty map and clusters",
    "model": "Prediction model",
    "aimd": "AIMD and refractory liquids",
    "miedema": "Miedema's groups and parameters",
}


rule figure_uncertainty_map:
    input:
        gp_map="results/uncertainty/gp_map.csv",
        elements=derived("elements"),
    output:
        **figure_outputs("fig1_uncertainty_map", FIG_CATEGORY, SUBCATEGORY["uncertainty"], "Fig. 1"),
    log:
        "results/logs/figures/fig1_uncertainty_map.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        figure="uncertainty_map",
    script:
        "../../scripts/figures.py"


rule figure_parity:
    input:
        oof="results/model/oof_predictions.csv",
    output:
        **figure_outputs("fig2_parity", FIG_CATEGORY, SUBCATEGORY["model"], "Fig. 2"),
    log:
        "results/logs/figures/fig2_parity.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="parity",
    script:
        "../../scripts/figures.py"


rule figure_aimd_shift:
    input:
        predictions="results/model/predictions.csv",
    output:
        **figure_outputs("fig3_aimd_shift", FIG_CATEGORY, SUBCATEGORY["aimd"], "Fig. 3"),
    log:
        "results/logs/figures/fig3_aimd_shift.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        figure="aimd_shift",
        refractory=sorted(config["uncertainty"]["refractory"]),  # alphabetical in the title; Fig. 4 in config order
        at=config["figures"]["aimd_shift"]["at"],
    script:
        "../../scripts/figures.py"


rule figure_refractory_trends:
    input:
        predictions="results/model/predictions.csv",
        aimd_points="results/model/oof_predictions.csv",
        elements=derived("elements"),
    output:
        **figure_outputs("fig4_refractory_trends", FIG_CATEGORY, SUBCATEGORY["aimd"], "Fig. 4"),
    log:
        "results/logs/figures/fig4_refractory_trends.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        figure="refractory_trends",
        refractory=config["uncertainty"]["refractory"],
        periods=config["figures"]["refractory_trends"]["periods"],
    script:
        "../../scripts/figures.py"


rule figure_cp_s_ratios:
    input:
        ratios="results/uncertainty/miedema_groups_binaries.csv",
    output:
        **figure_outputs("fig5_cp_s_ratios", FIG_CATEGORY, SUBCATEGORY["miedema"], "Fig. 5"),
    log:
        "results/logs/figures/fig5_cp_s_ratios.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="cp_s_ratios",
    script:
        "../../scripts/figures.py"


rule figure_rfe:
    input:
        curve="results/selection/rfe_curve.csv",
    output:
        **figure_outputs("figS1_rfe", SUPPL_CATEGORY, SUBCATEGORY["selection"], "Fig. S1"),
    log:
        "results/logs/figures/figS1_rfe.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="rfe",
        marks=[config["selection"]["n_features_al"], config["selection"]["n_features_final"]],
    script:
        "../../scripts/figures.py"


rule figure_al_curves:
    input:
        curves="results/active_learning/random/curves.csv",
        endpoints="results/active_learning/random/endpoints.csv",
        references="results/active_learning/random/references.csv",
    output:
        **figure_outputs("figS2_al_curves", SUPPL_CATEGORY, SUBCATEGORY["active_learning"], "Fig. S2"),
    log:
        "results/logs/figures/figS2_al_curves.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="al_curves",
        design="random",
    script:
        "../../scripts/figures.py"


# The same figure for the held-out-cluster design: how fast each approach learns a region the train set lacks.
use rule figure_al_curves as figure_al_extrapolation with:
    input:
        curves="results/active_learning/cluster/curves.csv",
        endpoints="results/active_learning/cluster/endpoints.csv",
        references="results/active_learning/cluster/references.csv",
    output:
        **figure_outputs("figS7_al_extrapolation", SUPPL_CATEGORY, SUBCATEGORY["active_learning"], "Fig. S7"),
    log:
        "results/logs/figures/figS7_al_extrapolation.log",
    params:
        figure="al_curves",
        design="cluster",


rule figure_kmeans_al:
    input:
        scan="results/uncertainty/kmeans_scan.csv",
    output:
        **figure_outputs("figS3_kmeans_al", SUPPL_CATEGORY, SUBCATEGORY["uncertainty"], "Fig. S3"),
    log:
        "results/logs/figures/figS3_kmeans_al.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="kmeans_scan",
        chosen_k=config["uncertainty"]["k"],
        features="the 10 active-learning features",
    script:
        "../../scripts/figures.py"


rule figure_kmeans_cps:
    input:
        scan="results/uncertainty/kmeans_scan_cps.csv",
    output:
        **figure_outputs("figS4_kmeans_cps", SUPPL_CATEGORY, SUBCATEGORY["miedema"], "Fig. S4"),
    log:
        "results/logs/figures/figS4_kmeans_cps.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="kmeans_scan",
        chosen_k=config["uncertainty"]["miedema_groups"]["k"],
        features="mean and avg. deviation of liquid $C_p$ and $S$",
    script:
        "../../scripts/figures.py"


rule figure_cluster_map:
    input:
        clusters="results/uncertainty/miedema_groups_binaries.csv",  # the same table as Fig. 5
        elements=derived("elements"),
    output:
        **figure_outputs("figS5_cluster_map", SUPPL_CATEGORY, SUBCATEGORY["miedema"], "Fig. S5"),
    log:
        "results/logs/figures/figS5_cluster_map.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        figure="cluster_map",
    script:
        "../../scripts/figures.py"


rule figure_calibration:
    input:
        curve="results/model/calibration_curve.csv",
    output:
        **figure_outputs("figS6_calibration", SUPPL_CATEGORY, SUBCATEGORY["model"], "Fig. S6"),
    log:
        "results/logs/figures/figS6_calibration.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure="calibration",
    script:
        "../../scripts/figures.py"


rule metrics_report:
    input:
        metrics="results/model/metrics.json",
    output:
        html=report(f"{FIG}/metrics.html", caption="../report/metrics.rst", category="0. Key metrics"),
    log:
        "results/logs/figures/metrics.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/metrics_report.py"


# The active-learning figure of each test design the config runs (active_learning.designs).
AL_FIGURES = {"random": "figS2_al_curves", "cluster": "figS7_al_extrapolation"}

FIGURES = (
    [
        f"{FIG}/{name}.png"
        for name in (
            "fig1_uncertainty_map",
            "fig2_parity",
            "fig3_aimd_shift",
            "fig4_refractory_trends",
            "fig5_cp_s_ratios",
            "figS1_rfe",
            "figS3_kmeans_al",
            "figS4_kmeans_cps",
            "figS5_cluster_map",
            "figS6_calibration",
        )
    ]
    + [f"{FIG}/{AL_FIGURES[design]}.png" for design in AL_DESIGNS]
    + [f"{FIG}/metrics.html"]
)
