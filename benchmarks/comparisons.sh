#!/usr/bin/env bash
# Regenerate every paired comparison table the README and the issues' closing notes cite
# (results/tables/compare_*.md) from the runs under $ZSSAR_RESULTS (default results/).
#
#   make comparisons            # or: bash benchmarks/comparisons.sh
#
# Each method is selected at its default switches (all mechanisms on), so ablation runs of
# the same version never mix into its row; the baseline is `linear` with its default text
# (descriptions). A pair that cannot be compared (e.g. no shared runs) is skipped with zssar's reason.
set -euo pipefail
Z=${ZSSAR:-.venv/bin/zssar}
T=${ZSSAR_RESULTS:-results}/tables
mkdir -p "$T"
declare -A SWITCHES=(
  [skeletoncontext]="dje context_prompt ppm kpd"
  [neuron]="spatial_compression temporal_memory granularity_update phase_evolving"
  [scople]="dual_stream joint_prompts sampler"
  [star]="visual_prompts semantic_prompts part_alignment"
)
METRICS=zsl_top1,gzsl_h
LINEAR="linear[text_source=descriptions]"

default_of() {  # "m[s1=true,s2=true,...]": the method with every mechanism switched on
  local m=$1 all=""
  for s in ${SWITCHES[$m]}; do all="$all,$s=true"; done
  echo "$m[${all#,}]"
}

compare() {  # compare A B DATASET NAME; a pair that cannot be compared is skipped with zssar's reason
  local err
  if ! err=$("$Z" compare "$1" "$2" --dataset "$3" --metric $METRICS --md "$T/compare_$4.md" 2>&1 > /dev/null); then
    echo "skipped: $1 vs $2 on $3: $(tail -n 1 <<< "$err")" >&2
  fi
}

for ds in synthetic msr_action3d nw_ucla; do
  compare "$LINEAR" "linear[text_source=names]" $ds "${ds}_linear_descriptions_vs_names"
  for m in neuron star scople skeletoncontext; do
    compare "$(default_of $m)" "$LINEAR" $ds "${ds}_${m}_vs_linear"
  done
  for m in star scople skeletoncontext; do
    compare "$(default_of $m)" "$(default_of neuron)" $ds "${ds}_${m}_vs_neuron"
  done
done
# ablations on one real dataset (MSR Action3D): each switch off vs all on, same version
for m in skeletoncontext scople star neuron; do
  for s in ${SWITCHES[$m]}; do
    compare "$m[$s=false]" "$(default_of $m)" msr_action3d "msr_action3d_${m}_ablation_${s}"
  done
done
compare "linear[tuned]" "$LINEAR" synthetic synthetic_linear_tuned_per_split_vs_family
# synthetic ZSL re-scored on sub-tasks of each split's unseen classes (needs the runs' preds.npz,
# which are git-ignored: present where the runs were made)
PY=${PYTHON:-.venv/bin/python}
for m in neuron star scople skeletoncontext; do
  if ! err=$("$PY" benchmarks/synthetic_subtasks.py "$(default_of $m)" "$LINEAR" \
             --md "$T/subtasks_synthetic_${m}_vs_linear.md" 2>&1 > /dev/null); then
    echo "skipped: sub-tasks of $m vs linear: $(tail -n 1 <<< "$err")" >&2
  fi
done
echo "$(find "$T" -name 'compare_*.md' -o -name 'subtasks_*.md' | wc -l) comparison tables in $T"
