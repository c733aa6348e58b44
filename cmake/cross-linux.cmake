# SPDX-License-Identifier: BSD-3-Clause
# Common part of the Linux cross toolchain files (aarch64-linux-gnu.cmake,
# s390x-linux-gnu.cmake). Set VDM_CROSS_TRIPLE and VDM_CROSS_QEMU, then
# include this file.
#
# Compilers: Debian's gcc-TRIPLE packages. Libraries the tests need (Check,
# subunit) come from Debian multiarch (check:ARCH, libsubunit-dev:ARCH), in
# /usr/lib/TRIPLE; the cross gcc searches there and /usr/include by default.
# ctest runs the test programs through CMAKE_CROSSCOMPILING_EMULATOR
# (qemu-user). The target's loader and C library are the multiarch
# libc6:ARCH that check:ARCH pulls in (/lib/ld-linux-*.so.1, /usr/lib/TRIPLE),
# so qemu needs no -L root. (With -L /usr/TRIPLE, fork() in the emulated
# program hangs under qemu-user 7.2 and 10.0, and Check forks every test.)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${VDM_CROSS_TRIPLE}-gcc)
set(CMAKE_AR ${VDM_CROSS_TRIPLE}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${VDM_CROSS_TRIPLE}-ranlib CACHE FILEPATH "")

find_program(VDM_CROSS_QEMU_PATH NAMES ${VDM_CROSS_QEMU} ${VDM_CROSS_QEMU}-static)
if(VDM_CROSS_QEMU_PATH)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${VDM_CROSS_QEMU_PATH})
endif()

# pkg-config must see the target's .pc files (multiarch), not the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${VDM_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

set(CMAKE_FIND_ROOT_PATH /usr/${VDM_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
