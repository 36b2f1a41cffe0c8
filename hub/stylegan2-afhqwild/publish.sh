#!/usr/bin/env bash
# Convert NVIDIA's afhqwild.pkl and publish it as ganzoo/stylegan2-afhqwild (see ../publish_stylegan2.sh).
#
#   hub/stylegan2-afhqwild/publish.sh PATH/TO/afhqwild.pkl [REPO_ID]
exec "$(dirname "$0")/../publish_stylegan2.sh" afhqwild "$@"
