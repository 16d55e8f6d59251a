#!/usr/bin/env bash
# SAVP's data (alexlee-gk/video_prediction data/download_and_preprocess_dataset.sh), laid out as its readers
# expect, relative to the directory this is run from:
#   bair: data/bair/{train,val,test}/traj_<a>_to_<b>.tfrecords      (read with the bair_savp reader)
#         the BAIR tarball's train/traj_256_to_511.tfrecords is moved to val/: that file is the validation split.
#   kth:  data/kth[_<S>]/{train,val,test}/sequence_<a>_to_<b>.tfrecords + sequence_lengths.txt   (kth_savp)
#         the six KTH action zips -> 25 fps SxS PNG frames (ffmpeg) -> datasets/savp/kth_dataset.py with the
#         subsequence lists of kth_meta.tar.gz; persons 1-16 train (95/5 train/val, shuffled with --seed 0), the
#         rest test.
# Usage: bash datasets/savp/download_and_preprocess_dataset.sh bair
#        bash datasets/savp/download_and_preprocess_dataset.sh kth [IMAGE_SIZE]   (default 64)
# Needs curl, tar, unzip and (for kth) ffmpeg.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python}

usage() { echo "Usage: $0 bair | kth [IMAGE_SIZE]" >&2; exit 1; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
if [ "$1" = bair ] && [ $# -eq 2 ]; then
  echo "IMAGE_SIZE argument is only applicable to the kth dataset" >&2; exit 1
fi

fetch() {  # url output: download to a temporary name, move into place only when complete
  local url=$1 out=$2
  mkdir -p "$(dirname "$out")"
  curl -fL --retry 3 -o "$out.part" "$url"
  mv "$out.part" "$out"
}

case $1 in
  bair)
    TARGET_DIR=./data/bair
    TAR_FNAME=bair_robot_pushing_dataset_v0.tar
    echo "Downloading 'bair' dataset (this takes a while)"
    fetch "http://rail.eecs.berkeley.edu/datasets/${TAR_FNAME}" "${TARGET_DIR}/${TAR_FNAME}"
    tar -xvf "${TARGET_DIR}/${TAR_FNAME}" --strip-components=1 -C "${TARGET_DIR}"
    rm "${TARGET_DIR}/${TAR_FNAME}"
    # reserve a fraction of the training set for validation
    mkdir -p "${TARGET_DIR}/val"
    mv "${TARGET_DIR}/train/traj_256_to_511.tfrecords" "${TARGET_DIR}/val/"
    ;;
  kth)
    if [ $# -eq 2 ]; then IMAGE_SIZE=$2; TARGET_DIR=./data/kth_${IMAGE_SIZE}; else IMAGE_SIZE=64; TARGET_DIR=./data/kth; fi
    echo "${TARGET_DIR} ${IMAGE_SIZE}"
    mkdir -p "${TARGET_DIR}/raw" "${TARGET_DIR}/processed"
    echo "Downloading 'kth' dataset (this takes a while)"
    for ACTION in walking jogging running boxing handwaving handclapping; do
      fetch "http://www.nada.kth.se/cvap/actions/${ACTION}.zip" "${TARGET_DIR}/raw/${ACTION}.zip"
      unzip -o "${TARGET_DIR}/raw/${ACTION}.zip" -d "${TARGET_DIR}/raw/${ACTION}"
    done
    # the metadata files that list the subsequences of every video
    TAR_FNAME=kth_meta.tar.gz
    echo "Downloading '${TAR_FNAME}'"
    fetch "http://rail.eecs.berkeley.edu/models/savp/data/${TAR_FNAME}" "${TARGET_DIR}/processed/${TAR_FNAME}"
    tar -xzvf "${TARGET_DIR}/processed/${TAR_FNAME}" --strip 1 -C "${TARGET_DIR}/processed"
    # the videos as sequences of downscaled frames
    echo "Processing 'kth' dataset"
    FRAME_RATE=25
    for ACTION in walking jogging running boxing handwaving handclapping; do
      for VIDEO_FNAME in "${TARGET_DIR}/raw/${ACTION}"/*.avi; do
        FNAME=$(basename "${VIDEO_FNAME}")
        FNAME=${FNAME%_uncomp.avi}
        mkdir -p "${TARGET_DIR}/processed/${ACTION}/${FNAME}"
        ffmpeg -loglevel error -i "${VIDEO_FNAME}" -r ${FRAME_RATE} -f image2 -s "${IMAGE_SIZE}x${IMAGE_SIZE}" \
          "${TARGET_DIR}/processed/${ACTION}/${FNAME}/image-%03d_${IMAGE_SIZE}x${IMAGE_SIZE}.png"
      done
    done
    "${PYTHON}" "${here}/kth_dataset.py" "${TARGET_DIR}/processed" "${TARGET_DIR}" "${IMAGE_SIZE}" --seed 0
    rm -rf "${TARGET_DIR}/raw" "${TARGET_DIR}/processed"
    ;;
  *)
    echo "Invalid dataset name: '$1' (choose from 'bair', 'kth')" >&2; exit 1 ;;
esac
echo "Successfully finished downloading and preprocessing dataset '$1'"
