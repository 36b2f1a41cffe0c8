#!/usr/bin/env bash
# Convert NVIDIA's afhqcat.pkl and publish it as ganzoo/stylegan2-afhqcat (see ../publish_stylegan2.sh).
#
#   hub/stylegan2-afhqcat/publish.sh PATH/TO/afhqcat.pkl [REPO_ID]
exec "$(dirname "$0")/../publish_stylegan2.sh" afhqcat "$@"
