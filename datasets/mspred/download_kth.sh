#!/usr/bin/env bash
# KTH-Actions for MSPred (port of the original resources/download_kth.sh): Denton's Torch7 sequence lists
# (kth.tar.gz, extracted into TARGET_DIR/processed/<class>/{train,test}_meta64x64.t7) and the six raw KTH
# video zips (unzipped into TARGET_DIR/raw/<class>/*.avi). Then run convert_kth.sh on the same TARGET_DIR.
#
#   bash datasets/mspred/download_kth.sh TARGET_DIR        (MSPred reads <datasets>/KTH_64, so TARGET_DIR is
#                                                          usually ../datasets/KTH_64)
#
# The keypoint files {train,test}_keypoints64x64.json are not produced by any script: see README.md.
# Downloads go to a temporary name and are moved into place only when complete; re-running skips finished
# parts (a class whose raw folder already holds videos, a processed folder that already has the metas).
set -euo pipefail

if [[ $# -lt 1 || -z "${1}" ]]; then
  echo "Must specify target directory: bash $0 TARGET_DIR" >&2
  exit 1
fi
TARGET_DIR=$1
META_URL="http://www.cs.nyu.edu/~denton/datasets/kth.tar.gz"
VIDEO_URL="http://www.nada.kth.se/cvap/actions"
CLASSES="walking jogging running handwaving handclapping boxing"

fetch() {  # url output
  local url=$1 out=$2
  if command -v wget > /dev/null; then
    wget --tries=3 --output-document="${out}.part" "${url}"
  elif command -v curl > /dev/null; then
    curl --fail --location --retry 3 --output "${out}.part" "${url}"
  else
    echo "error: neither wget nor curl is installed" >&2
    exit 1
  fi
  mv -f "${out}.part" "${out}"
}

mkdir -p "${TARGET_DIR}/processed" "${TARGET_DIR}/raw"

if ls "${TARGET_DIR}"/processed/*/train_meta64x64.t7 > /dev/null 2>&1; then
  echo "${TARGET_DIR}/processed already has the sequence lists"
else
  fetch "${META_URL}" "${TARGET_DIR}/processed/kth.tar.gz"
  tar -zxvf "${TARGET_DIR}/processed/kth.tar.gz" -C "${TARGET_DIR}/processed/"
  rm -f "${TARGET_DIR}/processed/kth.tar.gz"
fi

for c in ${CLASSES}; do
  if ls "${TARGET_DIR}/raw/${c}"/*.avi > /dev/null 2>&1; then
    echo "${TARGET_DIR}/raw/${c} already has videos"
    continue
  fi
  fetch "${VIDEO_URL}/${c}.zip" "${TARGET_DIR}/raw/${c}.zip"
  mkdir -p "${TARGET_DIR}/raw/${c}"
  unzip -o "${TARGET_DIR}/raw/${c}.zip" -d "${TARGET_DIR}/raw/${c}"
  rm -f "${TARGET_DIR}/raw/${c}.zip"
done
