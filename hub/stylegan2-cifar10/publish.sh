#!/usr/bin/env bash
# Convert NVIDIA's cifar10.pkl and publish it as ganzoo/stylegan2-cifar10 (see ../publish_stylegan2.sh).
#
#   hub/stylegan2-cifar10/publish.sh PATH/TO/cifar10.pkl [REPO_ID]
exec "$(dirname "$0")/../publish_stylegan2.sh" cifar10 "$@"
