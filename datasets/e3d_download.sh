#!/usr/bin/env bash
# Data and pretrained weights of the E3D-LSTM study (kevinstan/video_prediction README), laid out as its
# scripts expect, relative to the directory this is run from:
#   data/moving-mnist-example/moving-mnist-{train,valid}.npz   (Moving MNIST, PredRNN-family npz)
#   data/kth/<action>/person<NN>_<action>_d<k>_uncomp/image_NNNN.png   (KTH Actions frames)
#   mm_e3d_lstm_pretrain/model.ckpt-80000.*, kth_e3d_lstm_pretrain/model.ckpt-200000.*  (Google's E3D-LSTM)
# Usage: bash datasets/e3d_download.sh [mnist] [kth] [pretrained]   (default: all three)
set -euo pipefail
what=("$@"); [ ${#what[@]} -eq 0 ] && what=(mnist kth pretrained)

fetch() {  # url output: download to a temporary name, move into place only when complete
  local url=$1 out=$2
  mkdir -p "$(dirname "$out")"
  curl -fL --retry 3 -o "$out.part" "$url"
  mv "$out.part" "$out"
}

for item in "${what[@]}"; do
  case $item in
    mnist)
      fetch "https://www.dropbox.com/s/fpe24s1t94m87rn/moving-mnist-example.tar.gz?dl=1" data/moving-mnist-example.tar.gz
      tar -xzf data/moving-mnist-example.tar.gz -C data
      ls data/moving-mnist-example/moving-mnist-train.npz data/moving-mnist-example/moving-mnist-valid.npz ;;
    kth)
      fetch "https://www.dropbox.com/s/ppmob712dzgogly/kth_action.tar.gz?dl=1" data/kth_action.tar.gz
      mkdir -p data/kth && tar -xzf data/kth_action.tar.gz -C data/kth --strip-components=1 ;;
    pretrained)
      # The original README swaps the two labels: this zip is the Moving MNIST model and vice versa.
      fetch https://storage.googleapis.com/e3d_lstm/pretrained_models/moving_mnist_e3d_lstm_pretrain.zip pretrain/mm.zip
      fetch https://storage.googleapis.com/e3d_lstm/pretrained_models/kth_e3d_lstm_pretrain.zip pretrain/kth.zip
      unzip -o -q pretrain/mm.zip -d . && unzip -o -q pretrain/kth.zip -d . ;;
    *) echo "unknown item '$item' (mnist, kth or pretrained)" >&2; exit 2 ;;
  esac
done
