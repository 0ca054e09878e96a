#!/usr/bin/env bash
# System packages for headless notebooks and validators (Debian/Ubuntu): Jupyter server/client,
# nbclient/nbformat (notebook validation). With --test also what only the test suite uses:
# python3-onnx (ONNX checker), python3-torch + python3-torchvision (the numerical reference of the
# optimizer parity, ResNet and weights tests), classic Notebook 6 and Chromium (the real-browser
# test) and ipykernel (runs notebooks/colab-setup.ipynb as Colab would); Colab's `make setup` then
# needs none of them.
# Idempotent: installs only what is missing; needs root and apt-get. Otherwise prints the command.
# --bench: also Debian's python3-torch, the same-run PyTorch CPU reference of `make bench`.
set -euo pipefail
bash "$(dirname "$0")/setup-gpu.sh" || echo "setup-system: the WebGPU setup failed (see above); WebGPU tests will skip" >&2

PKGS=()
have_py() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $1" 2>/dev/null; }
if [ ! -x /usr/bin/jupyter-server ] && ! command -v jupyter >/dev/null 2>&1; then
  PKGS+=(jupyter-server jupyter-nbconvert jupyter-client python3-nbclient)
fi
have_py jupyter_client || PKGS+=(jupyter-client)
have_py nbformat || PKGS+=(python3-nbformat)
if [ "${1:-}" = "--test" ]; then
  have_py onnx || PKGS+=(python3-onnx)
  [ -x /usr/bin/jupyter-notebook ] || PKGS+=(jupyter-notebook)
  command -v chromium >/dev/null 2>&1 || PKGS+=(chromium)
  have_py ipykernel || PKGS+=(python3-ipykernel)
  have_py torch || PKGS+=(python3-torch)
  have_py torchvision || PKGS+=(python3-torchvision)
fi
if [ "${1:-}" = "--bench" ]; then have_py torch || PKGS+=(python3-torch); fi

if [ ${#PKGS[@]} -eq 0 ]; then
  echo "setup-system: the Debian packages are already installed."
  exit 0
fi
# De-duplicate.
mapfile -t PKGS < <(printf '%s\n' "${PKGS[@]}" | sort -u)
CMD="apt-get install -y --no-install-recommends ${PKGS[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: missing ${PKGS[*]} and no apt-get here; install Jupyter Server (pip install jupyter-server) yourself." >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: missing ${PKGS[*]}; run as root: apt-get update && $CMD" >&2
  exit 0
fi
echo "setup-system: installing ${PKGS[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$CMD
