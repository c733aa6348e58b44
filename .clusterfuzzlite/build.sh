#!/bin/bash -eu
# SPDX-License-Identifier: BSD-3-Clause
# ClusterFuzzLite entry point: the project's OSS-Fuzz build script.
exec "$SRC/vdm/fuzz/build.sh"
