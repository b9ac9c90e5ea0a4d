#!/bin/sh
# Installs the Debian packages that building and testing vggtop need, and only those that are missing.
# Called by `make deps` (and so by `make run` and `make test`). Not root: prints the apt-get line and stops.
set -u

# build: compiler, make, pkg-config and the libraries the binary links (libdnnl-dev: oneDNN, the convolutions)
# tests: cmocka, tmux (front-end tests), clang's runtimes (fuzzing), valgrind (leak checks)
# download: libcurl (HTTP), libarchive (tar.gz), libcrypto (MD5) for vggtop data --download and the
#           Keras cache; python3 runs the tests' local HTTP server and fixture scripts
# data:  Fashion-MNIST, the data set a new user gets when no CIFAR-100 is on the machine
# plot:  PLplot with its cairo driver, for figure files (vggtop plot, the front end's save key)
# keras: libhdf5 for Keras weights files (export --keras, train --weights); h5py and numpy make and check the
#        tests' HDF5 fixtures, and PyTorch (python3-torch) builds their reference model; libpng and
#        libjpeg-turbo read vggtop predict's images (OpenCV writes the tests', PIL the fuzzing seeds)
# onnx:  protobuf-c and its compiler serialise export --onnx from python3-onnx's onnx.proto; onnx.checker and
#        OpenCV's dnn module (python3-opencv) check the files in the tests
# mpi:   Open MPI's library and mpirun, for data-parallel training (mpirun -np N vggtop train) and its test
PACKAGES="gcc make pkg-config libc6-dev libncursesw5-dev libopenblas-dev libdnnl-dev zlib1g-dev libcjson-dev
libcurl4-openssl-dev libarchive-dev libssl-dev python3
libopenmpi-dev openmpi-bin
libplplot-dev plplot-driver-cairo
libhdf5-dev python3-h5py python3-numpy python3-torch libpng-dev libjpeg62-turbo-dev python3-pil
libprotobuf-c-dev protobuf-c-compiler python3-onnx python3-opencv
libcmocka-dev tmux clang libclang-rt-14-dev valgrind locales dataset-fashion-mnist"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "vggtop: missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "vggtop: run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "vggtop: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || { echo "vggtop: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null || { echo "vggtop: apt-get install failed for:$missing" >&2; exit 1; }
echo "vggtop: installed:$missing"
