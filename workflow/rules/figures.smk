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


# The template of the figure rules below: each takes it with `use rule figure as figure_… with:`, gives its
# inputs, outputs, log and params (figure: what hmixal.figures.render draws) and inherits its one thread;
# resources only where it needs more memory (`with:` replaces resources as a whole). It has no output, so no
# target reaches it; its log is for `snakemake --lint`, which asks every rule for one.
rule figure:
    log:
        "results/logs/figures/figure.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/figures.py"


use rule figure as figure_uncertainty_map with:
    input:
        gp_map="results/uncertainty/gp_map.csv",
        elements=derived("elements"),
    output:
        **figure_outputs("fig1_uncertainty_map", FIG_CATEGORY, SUBCATEGORY["uncertainty"], "Fig. 1"),
    log:
        "results/logs/figures/fig1_uncertainty_map.log",
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        figure="uncertainty_map",


use rule figure as figure_parity with:
    input:
        oof="results/model/oof_predictions.csv",
    output:
        **figure_outputs("fig2_parity", FIG_CATEGORY, SUBCATEGORY["model"], "Fig. 2"),
    log:
        "results/logs/figures/fig2_parity.log",
    params:
        figure="parity",


# Fig. 3 names the refractory elements alphabetically (its title); Fig. 4 draws them in the config's order.
use rule figure as figure_aimd_shift with:
    input:
        predictions="results/model/predictions.csv",
    output:
        **figure_outputs("fig3_aimd_shift", FIG_CATEGORY, SUBCATEGORY["aimd"], "Fig. 3"),
    log:
        "results/logs/figures/fig3_aimd_shift.log",
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        figure="aimd_shift",
        refractory=sorted(config["uncertainty"]["refractory"]),
        at=config["figures"]["aimd_shift"]["at"],


use rule figure as figure_refractory_trends with:
    input:
        predictions="results/model/predictions.csv",
        aimd_points="results/model/oof_predictions.csv",
        elements=derived("elements"),
    output:
        **figure_outputs("fig4_refractory_trends", FIG_CATEGORY, SUBCATEGORY["aimd"], "Fig. 4"),
    log:
        "results/logs/figures/fig4_refractory_trends.log",
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        figure="refractory_trends",
        refractory=config["uncertainty"]["refractory"],
        periods=config["figures"]["refractory_trends"]["periods"],


use rule figure as figure_cp_s_ratios with:
    input:
        ratios="results/uncertainty/miedema_groups_binaries.csv",
    output:
        **figure_outputs("fig5_cp_s_ratios", FIG_CATEGORY, SUBCATEGORY["miedema"], "Fig. 5"),
    log:
        "results/logs/figures/fig5_cp_s_ratios.log",
    params:
        figure="cp_s_ratios",


use rule figure as figure_rfe with:
    input:
        curve="results/selection/rfe_curve.csv",
    output:
        **figure_outputs("figS1_rfe", SUPPL_CATEGORY, SUBCATEGORY["selection"], "Fig. S1"),
    log:
        "results/logs/figures/figS1_rfe.log",
    params:
        figure="rfe",
        marks=[config["selection"]["n_features_al"], config["selection"]["n_features_final"]],


use rule figure as figure_kmeans_al with:
    input:
        scan="results/uncertainty/kmeans_scan.csv",
    output:
        **figure_outputs("figS3_kmeans_al", SUPPL_CATEGORY, SUBCATEGORY["uncertainty"], "Fig. S3"),
    log:
        "results/logs/figures/figS3_kmeans_al.log",
    params:
        figure="kmeans_scan",
        chosen_k=config["uncertainty"]["k"],
        features="the 10 active-learning features",


use rule figure as figure_kmeans_cps with:
    input:
        scan="results/uncertainty/kmeans_scan_cps.csv",
    output:
        **figure_outputs("figS4_kmeans_cps", SUPPL_CATEGORY, SUBCATEGORY["miedema"], "Fig. S4"),
    log:
        "results/logs/figures/figS4_kmeans_cps.log",
    params:
        figure="kmeans_scan",
        chosen_k=config["uncertainty"]["miedema_groups"]["k"],
        features="mean and avg. deviation of liquid $C_p$ and $S$",


use rule figure as figure_cluster_map with:
    input:
        clusters="results/uncertainty/miedema_groups_binaries.csv",  # the same table as Fig. 5
        elements=derived("elements"),
    output:
        **figure_outputs("figS5_cluster_map", SUPPL_CATEGORY, SUBCATEGORY["miedema"], "Fig. S5"),
    log:
        "results/logs/figures/figS5_cluster_map.log",
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        figure="cluster_map",


use rule figure as figure_calibration with:
    input:
        curve="results/model/calibration_curve.csv",
    output:
        **figure_outputs("figS6_calibration", SUPPL_CATEGORY, SUBCATEGORY["model"], "Fig. S6"),
    log:
        "results/logs/figures/figS6_calibration.log",
    params:
        figure="calibration",


# The active-learning figures come last: `rule all` and the report list the figures in the order of their rules.
use rule figure as figure_al_curves with:
    input:
        curves="results/active_learning/random/curves.csv",
        endpoints="results/active_learning/random/endpoints.csv",
        references="results/active_learning/random/references.csv",
    output:
        **figure_outputs("figS2_al_curves", SUPPL_CATEGORY, SUBCATEGORY["active_learning"], "Fig. S2"),
    log:
        "results/logs/figures/figS2_al_curves.log",
    params:
        figure="al_curves",
        design="random",


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
        design="cluster",


rule metrics_report:
    input:
        metrics="results/model/metrics.json",
    output:
        html=report(f"{FIG}/metrics.html", caption="../report/metrics.rst", category="0. Key metrics"),
    log:
        "results/logs/figures/metrics.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/metrics_report.py"


# Every figure rule's PNG, read from the rules above (an active-learning one only for a design the config runs:
# active_learning.designs), and the metrics page: the figures `rule all` asks for.
FIGURES = [
    getattr(rules, rule.name).output.png
    for rule in workflow.rules
    if rule.name.startswith("figure_") and getattr(rule.params, "design", None) in (None, *AL_DESIGNS)
] + [rules.metrics_report.output.html]
