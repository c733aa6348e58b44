# SPDX-License-Identifier: BSD-3-Clause
# Bare-metal 32-bit ARM: no operating system, no libc (Debian package
# gcc-arm-none-eabi, without newlib). Only the library can be built:
#   cmake -S . -B build/arm -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
#         -DVDM_LIB_ONLY=ON -DCMAKE_BUILD_TYPE=MinSizeRel
#   cmake --build build/arm            # -> build/arm/libvdm.a
# VDM_ARM_FLAGS picks the core; the default is a Cortex-M4 in Thumb-2 state.
# Other tested values: "-mcpu=cortex-r52 -mthumb" (ARMv8-R AArch32),
# "-mcpu=cortex-m0plus -mthumb" (ARMv6-M). The image that links the library
# needs memcpy, memset, memmove and memcmp (and, from GCC, possibly the
# __aeabi_mem* helpers and libgcc): see tests/cross/baremetal/.
# -DVDM_ARM_LTO=ON builds the archive for link-time optimisation: the
# objects carry GCC's intermediate code beside the machine code
# (-flto -ffat-lto-objects), so an image linked with
#   arm-none-eabi-gcc <VDM_ARM_FLAGS> -Os -flto ... -Wl,--gc-sections libvdm.a
# is optimised across the library's files and the integrator's (scripts/size:
# about 1.6 KiB less for core + mmio + blk on a Cortex-R52), and a link
# without -flto still takes the machine code. Archived with gcc-ar, whose
# symbol index sees the intermediate code.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
if(VDM_ARM_LTO)
  set(CMAKE_AR arm-none-eabi-gcc-ar CACHE FILEPATH "")
  set(CMAKE_RANLIB arm-none-eabi-gcc-ranlib CACHE FILEPATH "")
else()
  set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
  set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")
endif()
# No libc to link a test executable against during compiler checks.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
if(NOT DEFINED VDM_ARM_FLAGS)
  set(VDM_ARM_FLAGS "-mcpu=cortex-m4 -mthumb")
endif()
set(CMAKE_C_FLAGS_INIT "${VDM_ARM_FLAGS} -ffunction-sections -fdata-sections")
if(VDM_ARM_LTO)
  string(APPEND CMAKE_C_FLAGS_INIT " -flto -ffat-lto-objects")
endif()
# Position-independent code is for the shared library only; bare metal has
# none, and -fPIC would route every constant table through a GOT.
set(CMAKE_POSITION_INDEPENDENT_CODE OFF)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
