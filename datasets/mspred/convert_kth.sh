#!/usr/bin/env bash
# KTH videos -> frames for MSPred (port of the original resources/convert_kth.sh). Every
# TARGET_DIR/raw/<class>/<name>.avi becomes TARGET_DIR/processed/<class>/<name minus its last 11 characters,
# i.e. "_uncomp.avi">/image-%03d_<S>x<S>.png, decoded by ffmpeg at 25 fps and scaled to S x S (default 64).
#
#   bash datasets/mspred/convert_kth.sh TARGET_DIR [IMG_SIZE]
#
# ffmpeg comes from $FFMPEG, else the PATH, else the imageio-ffmpeg package of $PYTHON (default python3).
# Each video is decoded into a temporary folder that is renamed into place when complete, so an interrupted
# run never leaves a partial frame folder; re-running skips videos whose folder exists.
set -euo pipefail

if [[ $# -lt 1 || -z "${1}" ]]; then
  echo "Must specify target directory: bash $0 TARGET_DIR [IMG_SIZE]" >&2
  exit 1
fi
TARGET_DIR=$1
img_size=${2:-64}
classes="boxing handclapping handwaving jogging running walking"

FFMPEG=${FFMPEG:-}
if [[ -z "${FFMPEG}" ]]; then
  if command -v ffmpeg > /dev/null; then
    FFMPEG=ffmpeg
  elif FFMPEG=$("${PYTHON:-python3}" -c "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())" 2> /dev/null)
  then
    :
  else
    echo "error: ffmpeg not found (install it, set FFMPEG, or pip install imageio-ffmpeg)" >&2
    exit 1
  fi
fi

converted=0
for class in ${classes}; do
  if [[ ! -d "${TARGET_DIR}/raw/${class}" ]]; then
    echo "warning: ${TARGET_DIR}/raw/${class} does not exist; skipping ${class}" >&2
    continue
  fi
  for path in "${TARGET_DIR}/raw/${class}"/*; do
    [[ -f "${path}" ]] || continue
    fname="$(basename -- "${path}")"
    if (( ${#fname} <= 11 )); then
      echo "warning: ${path}: name too short to strip the 11-character suffix; skipping" >&2
      continue
    fi
    video="${fname:0:${#fname}-11}"
    out_dir="${TARGET_DIR}/processed/${class}/${video}"
    if [[ -d "${out_dir}" ]]; then
      continue
    fi
    mkdir -p "${TARGET_DIR}/processed/${class}"
    partial="$(mktemp -d "${TARGET_DIR}/processed/${class}/.${video}.XXXXXX")"
    if ! "${FFMPEG}" -nostdin -loglevel error -i "${path}" -r 25 -f image2 -s "${img_size}x${img_size}" \
        "${partial}/image-%03d_${img_size}x${img_size}.png"; then
      rm -rf "${partial}"
      echo "error: ffmpeg failed on ${path}" >&2
      exit 1
    fi
    chmod 755 "${partial}"
    mv "${partial}" "${out_dir}"
    converted=$((converted + 1))
  done
done
echo "converted ${converted} videos into ${TARGET_DIR}/processed"
