#!/usr/bin/env bash
# Convert NVIDIA's metfaces.pkl and publish it as ganzoo/stylegan2-metfaces (see ../publish_stylegan2.sh).
#
#   hub/stylegan2-metfaces/publish.sh PATH/TO/metfaces.pkl [REPO_ID]
exec "$(dirname "$0")/../publish_stylegan2.sh" metfaces "$@"
