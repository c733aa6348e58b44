# SPDX-License-Identifier: BSD-3-Clause
# 64-bit ARM Linux (little-endian), tests run under qemu-aarch64:
#   cmake -S . -B build/cross-aarch64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   cmake --build build/cross-aarch64 && ctest --test-dir build/cross-aarch64 -R unit/
# Needs: gcc-aarch64-linux-gnu, qemu-user, and for the tests check:arm64
# libsubunit-dev:arm64 (dpkg --add-architecture arm64). scripts/test.d/cross
# installs them.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(VDM_CROSS_TRIPLE aarch64-linux-gnu)
set(VDM_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/cross-linux.cmake)
