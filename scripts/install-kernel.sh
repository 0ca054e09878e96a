#!/usr/bin/env bash
# Installs the "TypeScript (drivetrain)" Jupyter kernel for this user and says how to pick it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node bin/drivetrain.js kernel install "$@"
