#!/usr/bin/env bash
# Convert one of NVIDIA's StyleGAN2 pickles into a ganzoo preset and publish it to the Hub.
#
#   hub/publish_stylegan2.sh NAME PATH/TO/NAME.pkl [REPO_ID]       # -> ganzoo/stylegan2-NAME
#   TOKEN_FILE=~/.secrets/hf_write hub/publish_stylegan2.sh ffhq ffhq.pkl me/stylegan2-ffhq
#
# NAME is ffhq, afhqcat, afhqdog, afhqwild, metfaces or cifar10 (the recipe
# zoo_configs/stylegan2-NAME.yaml). Get the file from
# https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/NAME.pkl
# (NVIDIA Source Code License-NC: non-commercial use only). The pickle is read
# with ganzoo's restricted unpickler; no code from it runs. The token comes from
# $TOKEN_FILE, else HF_TOKEN or `hf auth login`; it is never printed.
set -euo pipefail

NAME="${1:?usage: publish_stylegan2.sh NAME PATH/TO/NAME.pkl [REPO_ID]}"
SRC="${2:?usage: publish_stylegan2.sh NAME PATH/TO/NAME.pkl [REPO_ID]}"
REPO_ID="${3:-ganzoo/stylegan2-$NAME}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RECIPE="$ROOT/zoo_configs/stylegan2-$NAME.yaml"
[ -f "$RECIPE" ] || { echo "no recipe $RECIPE" >&2; exit 2; }
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT

echo "sha256 of $SRC (pin it in $RECIPE):"
sha256sum "$SRC"

# 1. Convert (checks the resolution against the recipe, records source and license).
python "$ROOT/tools/convert_stylegan2.py" "$SRC" "$STAGE/preset" --recipe "$RECIPE"

# 2. The preset must load and sample offline before it is published.
HF_HUB_OFFLINE=1 ganzoo sample "$STAGE/preset" -n 4 --seed 0 --quiet --out "$STAGE/check.png"

# 3. The model card names the repo.
python - "$STAGE/preset" "$REPO_ID" <<'PY'
import json, sys
from ganzoo.hub import write_model_card
folder, repo_id = sys.argv[1], sys.argv[2]
meta = json.load(open(f"{folder}/metadata.json"))
meta["repo_id"] = repo_id
meta["license_url"] = "https://nvlabs.github.io/stylegan2-ada-pytorch/license.html"
json.dump(meta, open(f"{folder}/metadata.json", "w"), indent=2)
write_model_card(folder, meta)
PY

# 4. Upload.
ganzoo push "$STAGE/preset" "$REPO_ID" ${TOKEN_FILE:+--token-file "$TOKEN_FILE"} \
  --message "stylegan2-$NAME: converted from NVIDIA's $NAME.pkl"
