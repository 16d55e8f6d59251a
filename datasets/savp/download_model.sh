#!/usr/bin/env bash
# SAVP's published models (alexlee-gk/video_prediction, pretrained_models/download_model.sh):
#   bash datasets/savp/download_model.sh DATASET MODEL [TARGET_ROOT]
# downloads <DATASET>_<file>.tar.gz from the authors' server and unpacks it into
# TARGET_ROOT/DATASET/MODEL (default ./pretrained_models), where generate.py, evaluate.py, train.py --checkpoint,
# `vidpred predict` and `python -m vidpred_tf.convert.savp` read it (TF1 checkpoint + options/hparams JSONs).
# The tarball is checked before unpacking, and the folder is replaced only once the unpacking succeeded.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  echo "usage: $0 DATASET MODEL [TARGET_ROOT]   (DATASET: bair_action_free, kth, bair)" >&2
  exit 2
fi
DATASET=$1
MODEL=$2
ROOT=${3:-./pretrained_models}

# Model name -> the tarball's name (after the dataset prefix); aliases as the original script had them.
case "${DATASET}" in
  bair_action_free) MODELS="ours_deterministic:ours_deterministic_l1 ours_deterministic_l1:ours_deterministic_l1
    ours_deterministic_l2:ours_deterministic_l2 ours_gan:ours_gan ours_savp:ours_savp ours_vae:ours_vae_l1
    ours_vae_l1:ours_vae_l1 ours_vae_l2:ours_vae_l2 sv2p_time_invariant:sv2p_time_invariant" ;;
  kth) MODELS="ours_deterministic:ours_deterministic_l1 ours_deterministic_l1:ours_deterministic_l1
    ours_deterministic_l2:ours_deterministic_l2 ours_gan:ours_gan ours_savp:ours_savp ours_vae:ours_vae_l1
    ours_vae_l1:ours_vae_l1 sv2p_time_invariant:sv2p_time_invariant sv2p_time_variant:sv2p_time_variant" ;;
  bair) MODELS="ours_deterministic:ours_deterministic_l1 ours_deterministic_l1:ours_deterministic_l1
    ours_deterministic_l2:ours_deterministic_l2 ours_gan:ours_gan ours_savp:ours_savp ours_vae:ours_vae_l1
    ours_vae_l1:ours_vae_l1 ours_vae_l2:ours_vae_l2 sna_l1:sna_l1 sna_l2:sna_l2 sv2p_time_variant:sv2p_time_variant" ;;
  *) echo "$0: invalid dataset '${DATASET}' (choose from bair_action_free, kth, bair)" >&2; exit 2 ;;
esac

FILE=""
for pair in ${MODELS}; do
  if [ "${pair%%:*}" = "${MODEL}" ]; then FILE="${DATASET}_${pair#*:}"; fi
done
if [ -z "${FILE}" ]; then
  echo "$0: invalid model '${MODEL}' for dataset '${DATASET}'; one of:" $(for p in ${MODELS}; do echo -n "${p%%:*} "; done) >&2
  exit 2
fi

TARGET="${ROOT}/${DATASET}/${MODEL}"
STAGING="$(mktemp -d "${ROOT%/}.download.XXXXXX" 2>/dev/null || mktemp -d)"
trap 'rm -rf "${STAGING}"' EXIT
URL="http://rail.eecs.berkeley.edu/models/savp/pretrained_models/${FILE}.tar.gz"
echo "Downloading ${URL}"
if command -v wget >/dev/null; then wget -q "${URL}" -O "${STAGING}/${FILE}.tar.gz"
else curl -fsSL "${URL}" -o "${STAGING}/${FILE}.tar.gz"; fi
tar -tzf "${STAGING}/${FILE}.tar.gz" >/dev/null || { echo "$0: ${FILE}.tar.gz is not a valid tarball" >&2; exit 1; }
mkdir -p "${STAGING}/unpacked"
tar -xzf "${STAGING}/${FILE}.tar.gz" -C "${STAGING}/unpacked"
mkdir -p "$(dirname "${TARGET}")"
rm -rf "${TARGET}"
mv "${STAGING}/unpacked" "${TARGET}"
echo "Downloaded the pretrained model '${MODEL}' of '${DATASET}' into ${TARGET}"
