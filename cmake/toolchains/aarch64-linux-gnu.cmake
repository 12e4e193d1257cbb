# SPDX-License-Identifier: MIT
# Cross-compiling heapscope's agent and test targets for aarch64-linux-gnu with Debian's cross
# compiler (apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu). The CLI is not built (it needs
# libdw for the target): recordings made on the board are read with the host's CLI
# (docs/CROSS.md). Programs built here run on the host under qemu-aarch64 (qemu-user),
# which CMAKE_CROSSCOMPILING_EMULATOR names for CTest.
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# HEAPSCOPE_CROSS_ROOT overrides the target's root (default /usr/aarch64-linux-gnu, where Debian's
# cross libc lives); HEAPSCOPE_CROSS_PREFIX the compiler prefix (default aarch64-linux-gnu-).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(HS_TRIPLE aarch64-linux-gnu)
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

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${HEAPSCOPE_CROSS_ROOT})
set(HEAPSCOPE_BUILD_CLI OFF CACHE BOOL "Build the CLI (needs libdw for the target)")
