# SPDX-License-Identifier: BSD-3-Clause
# IBM Z Linux: a 64-bit BIG-endian host, to prove the le16/le32/le64 wire
# helpers; tests run under qemu-s390x:
#   cmake -S . -B build/cross-s390x \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/s390x-linux-gnu.cmake
#   cmake --build build/cross-s390x && ctest --test-dir build/cross-s390x -R unit/
# Needs: gcc-s390x-linux-gnu, qemu-user, and for the tests check:s390x
# libsubunit-dev:s390x (dpkg --add-architecture s390x). scripts/test.d/cross
# installs them.
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(VDM_CROSS_TRIPLE s390x-linux-gnu)
set(VDM_CROSS_QEMU qemu-s390x)
include(${CMAKE_CURRENT_LIST_DIR}/cross-linux.cmake)
