#!/usr/bin/env bash
# Download the standard Moving MNIST test set of Srivastava et al. (2015): mnist_test_seq.npy,
# uint8 [20, 10000, 64, 64] (time first), about 820 MB. Read it with the `mnist_test_seq` reader.
#
#   bash datasets/download_moving_mnist.sh [OUT_DIR]      (default OUT_DIR: data/moving_mnist)
#
# The file is fetched under a temporary name and renamed only once it checks out, so an interrupted
# download never leaves a file that looks complete; re-running skips a complete file.
set -euo pipefail

URL="http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy"
# 20 * 10000 * 64 * 64 bytes of frames after a .npy header of a few dozen bytes.
FRAME_BYTES=819200000
PYTHON="${PYTHON:-python3}"

out_dir="${1:-data/moving_mnist}"
target="${out_dir}/mnist_test_seq.npy"
mkdir -p "${out_dir}"

file_size() { wc -c < "$1" | tr -d ' '; }

# A complete file is the frame bytes plus a header shorter than 4 KiB, and (when Python with NumPy is at
# hand) parses as uint8 [20, 10000, 64, 64].
is_complete() {
  local size
  size="$(file_size "$1")"
  (( size > FRAME_BYTES && size < FRAME_BYTES + 4096 )) || return 1
  if "${PYTHON}" -c "import numpy" 2> /dev/null; then
    "${PYTHON}" - "$1" << 'PY' || return 1
import sys
import numpy as np
frames = np.load(sys.argv[1], mmap_mode="r")
sys.exit(0 if frames.dtype == np.uint8 and frames.shape == (20, 10000, 64, 64) else 1)
PY
  fi
}

if [[ -f "${target}" ]] && is_complete "${target}"; then
  echo "${target} is already complete"
  exit 0
fi

partial="$(mktemp "${out_dir}/.mnist_test_seq.npy.XXXXXX")"
trap 'rm -f "${partial}"' EXIT

if command -v curl > /dev/null; then
  curl --fail --location --retry 3 --output "${partial}" "${URL}"
elif command -v wget > /dev/null; then
  wget --tries=3 --output-document="${partial}" "${URL}"
else
  echo "error: neither curl nor wget is installed" >&2
  exit 1
fi

if ! is_complete "${partial}"; then
  echo "error: ${URL} gave $(file_size "${partial}") bytes that are not uint8 [20, 10000, 64, 64] .npy" >&2
  exit 1
fi
chmod 644 "${partial}"
mv -f "${partial}" "${target}"
trap - EXIT
echo "wrote ${target}"
