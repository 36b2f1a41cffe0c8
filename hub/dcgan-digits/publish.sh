#!/usr/bin/env bash
# Publish the embedded dcgan-digits preset to the Hugging Face Hub.
#
#   hub/dcgan-digits/publish.sh                      # -> ganzoo/dcgan-digits
#   TOKEN_FILE=~/.secrets/hf_write hub/dcgan-digits/publish.sh me/dcgan-digits
#
# The token comes from $TOKEN_FILE (a file holding only the token), else from
# HF_TOKEN or `hf auth login`; it is never printed. The preset folder in the
# package is not modified: a staging copy gets metadata.json's repo_id and a
# freshly written model card (ganzoo.hub.write_model_card), so the card's
# usage lines load hf://<repo_id>.
set -euo pipefail

REPO_ID="${1:-ganzoo/dcgan-digits}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PRESET="$ROOT/ganzoo/embedded/dcgan-digits"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT

# 1. The preset must load and sample offline, here, before it is published.
HF_HUB_OFFLINE=1 ganzoo sample "$PRESET" -n 16 --quiet --out "$STAGE/check.png"

# 2. Stage a copy whose model card names the repo.
cp -r "$PRESET" "$STAGE/preset"
rm -f "$STAGE/preset/README.md"
python - "$STAGE/preset" "$REPO_ID" <<'PY'
import json, sys
from ganzoo.hub import write_model_card
folder, repo_id = sys.argv[1], sys.argv[2]
path = f"{folder}/metadata.json"
meta = json.load(open(path))
meta["repo_id"] = repo_id
json.dump(meta, open(path, "w"), indent=2)
write_model_card(folder, meta)
PY

# 3. Upload.
ganzoo push "$STAGE/preset" "$REPO_ID" ${TOKEN_FILE:+--token-file "$TOKEN_FILE"} \
  --message "dcgan-digits preset ($(python -c 'import ganzoo; print(ganzoo.__version__)'))"
