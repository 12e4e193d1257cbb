# SPDX-License-Identifier: MIT
# Cross-compiling heapscope's agent and test targets for arm-linux-gnueabihf with Debian's cross
# compiler (apt-get install gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf). The CLI is not built (it needs
# libdw for the target): recordings made on the board are read with the host's CLI
# (docs/CROSS.md). Programs built here run on the host under qemu-arm (qemu-user),
# which CMAKE_CROSSCOMPILING_EMULATOR names for CTest.
#
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake
#
# HEAPSCOPE_CROSS_ROOT overrides the target's root (default /usr/arm-linux-gnueabihf, where Debian's
# cross libc lives); HEAPSCOPE_CROSS_PREFIX the compiler prefix (default arm-linux-gnueabihf-).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(HS_TRIPLE arm-linux-gnueabihf)
if(NOT DEFINED HEAPSCOPE_CROSS_PREFIX)
  set(HEAPSCOPE_CROSS_PREFIX ${HS_TRIPLE}-)
endif()
if(NOT DEFINED HEAPSCOPE_CROSS_ROOT)
  set(HEAPSCOPE_CROSS_ROOT /usr/${HS_TRIPLE})
endif()
set(CMAKE_C_COMPILER ${HEAPSCOPE_CROSS_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${HEAPSCOPE_CROSS_PREFIX}g++)

set(CMAKE_FIND_ROOT_PATH ${HEAPSCOPE_CROSS_ROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm -L ${HEAPSCOPE_CROSS_ROOT})
set(HEAPSCOPE_BUILD_CLI OFF CACHE BOOL "Build the CLI (needs libdw for the target)")
