#!/usr/bin/env bash
# WebGPU userland for `make setup` / `make test` (Debian/Ubuntu), called by setup-system.sh:
# - NVIDIA host (nvidia-smi works) without its Vulkan userland — hosted notebooks ship the driver
#   without it: installs libvulkan1 and the driver-matching libnvidia-gl-<major>;
# - no working WebGPU adapter (CI, CPU-only machines): Mesa's software Vulkan driver (lavapipe) so
#   the WebGPU tests run: Debian 12 needs Mesa 25 from bookworm-backports (bookworm's 22.3 is too
#   old for Dawn), newer Debian/Ubuntu their own mesa-vulkan-drivers.
# Installs only what is missing; without root or apt-get it prints the exact command instead.
# DRIVETRAIN_SETUP_DRY_RUN=1 prints the commands instead of running them (tests).
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=${DRIVETRAIN_SETUP_DRY_RUN:-}
ICD_DIRS=${DRIVETRAIN_VULKAN_ICD_DIRS:-/etc/vulkan/icd.d:/usr/share/vulkan/icd.d:/usr/local/share/vulkan/icd.d}
say() { echo "setup-gpu: $*"; }
can_install() { command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; }
run() { if [ -n "$DRY" ]; then echo "+ $*"; else "$@"; fi; }
have_icd() { # $1: glob of a manifest name
  local d; IFS=: read -ra dirs <<<"$ICD_DIRS"
  for d in "${dirs[@]}"; do compgen -G "$d/$1" >/dev/null && return 0; done
  return 1
}
have_loader() { [ -n "${DRIVETRAIN_FAKE_NO_LOADER:-}" ] && return 1; ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || compgen -G '/usr/lib/*/libvulkan.so.1' >/dev/null; }
PRE=''
install_or_print() { # $1: apt-get options before the packages, rest: packages
  local opts=$1; shift
  local cmd="${PRE}apt-get update && apt-get install -y --no-install-recommends ${opts:+$opts }$*"
  if can_install || [ -n "$DRY" ]; then
    say "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    run apt-get update -qq
    # shellcheck disable=SC2086
    run apt-get install -y --no-install-recommends $opts "$@"
  else
    say "missing $*; run as root: $cmd"
  fi
}

if nvidia-smi >/dev/null 2>&1; then
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n1 | tr -d ' ')
  major=${driver%%.*}
  pkgs=()
  have_loader || pkgs+=(libvulkan1)
  have_icd 'nvidia_icd*.json' || pkgs+=("libnvidia-gl-$major")
  if [ ${#pkgs[@]} -eq 0 ]; then
    say "NVIDIA driver $driver with its Vulkan ICD and the Vulkan loader: nothing to install"
  elif [ -z "$DRY" ] && can_install && ! apt-cache show "libnvidia-gl-$major" >/dev/null 2>&1; then
    say "NVIDIA driver $driver lacks its Vulkan userland and apt has no libnvidia-gl-$major; add NVIDIA's CUDA apt repository (developer.download.nvidia.com/compute/cuda/repos/), then run: apt-get update && apt-get install -y --no-install-recommends ${pkgs[*]}"
  else
    install_or_print '' "${pkgs[@]}"
  fi
  exit 0
fi

if [ -z "${DRIVETRAIN_FAKE_NO_ADAPTER:-}" ] && node bin/drivetrain.js doctor --check webgpu >/dev/null 2>&1; then
  say "a WebGPU adapter works here: nothing to install (drivetrain doctor shows which)"
  exit 0
fi

. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ]; then
  src=/etc/apt/sources.list.d/bookworm-backports.sources
  body='Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if [ -n "$DRY" ]; then say "adding the bookworm-backports apt source ($src) for Mesa 25"; echo "+ write $src"
    elif can_install; then say "adding the bookworm-backports apt source ($src) for Mesa 25"; printf "$body" >"$src"
    else PRE="printf '$body' > $src && "
    fi
  fi
  install_or_print '-t bookworm-backports' mesa-vulkan-drivers libvulkan1
elif [ "${ID:-}" = debian ] || [ "${ID:-}" = ubuntu ] || [[ "${ID_LIKE:-}" == *debian* ]]; then
  install_or_print '' mesa-vulkan-drivers libvulkan1
else
  say "no WebGPU adapter; install your distribution's Mesa Vulkan drivers (lavapipe, Mesa >= 25) and the Vulkan loader for the WebGPU tests"
  exit 0
fi
if [ -z "$DRY" ] && can_install; then
  if node bin/drivetrain.js doctor --check webgpu >/dev/null 2>&1; then say "WebGPU now works on the software adapter (tests only)"
  else say "WebGPU still has no adapter; see: node bin/drivetrain.js doctor"
  fi
fi
