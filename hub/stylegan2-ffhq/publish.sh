#!/usr/bin/env bash
# Convert NVIDIA's ffhq.pkl and publish it as ganzoo/stylegan2-ffhq (see ../publish_stylegan2.sh).
#
#   hub/stylegan2-ffhq/publish.sh PATH/TO/ffhq.pkl [REPO_ID]
exec "$(dirname "$0")/../publish_stylegan2.sh" ffhq "$@"
