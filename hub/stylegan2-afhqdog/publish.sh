#!/usr/bin/env bash
# Convert NVIDIA's afhqdog.pkl and publish it as ganzoo/stylegan2-afhqdog (see ../publish_stylegan2.sh).
#
#   hub/stylegan2-afhqdog/publish.sh PATH/TO/afhqdog.pkl [REPO_ID]
exec "$(dirname "$0")/../publish_stylegan2.sh" afhqdog "$@"
