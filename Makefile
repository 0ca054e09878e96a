# drivetrain — `make demo` runs the whole job, `make test` the whole suite; both set up first.
SHELL := /bin/bash
NODE ?= node
DT := $(NODE) bin/drivetrain.js
TSX := $(NODE) --import tsx
# The project's TypeScript (tslab's bundled TS 5.0 also installs a `tsc` bin that may win the link).
TSC := $(NODE) node_modules/typescript/bin/tsc
export ONNXRUNTIME_NODE_INSTALL := skip

# Variables: DEVICE=cpu|webgpu|auto  DRIVE=<folder or drive:folder>  RUN=<name>  EPOCHS=<n>  DATA_N=<n>
# Your own data: DATA=<image folder>  ANN=<annotations.csv>  IMG_SIZE=<n>  MODEL=<resnet18, … or ./file.ts#export>
DEVICE ?= auto
DRIVE ?=
RUN ?=
EPOCHS ?=
DATA_N ?=
DATA ?=
ANN ?=
IMG_SIZE ?=
MODEL ?=
# `make runs` / `make clean-checkpoints`: the runbook's stage runs, in runs/<RUN> (runs/glyphs by default).
BASE ?= runs/$(or $(RUN),glyphs)
RUNBOOK ?= runbooks/glyphs.json
NBP = -p DEVICE=$(DEVICE) $(if $(DRIVE),-p DRIVE=$(DRIVE)) $(if $(RUN),-p RUN=$(RUN)) $(if $(EPOCHS),-p EPOCHS=$(EPOCHS)) $(if $(DATA_N),-p DATA_N=$(DATA_N)) \
	$(if $(DATA),-p DATA=$(DATA)) $(if $(ANN),-p ANN=$(ANN)) $(if $(IMG_SIZE),-p IMG_SIZE=$(IMG_SIZE)) $(if $(MODEL),-p MODEL=$(MODEL))
# 00-setup-and-restore trains nothing: only the parameters it declares.
NBP_RESTORE = $(if $(DRIVE),-p DRIVE=$(DRIVE)) $(if $(RUN),-p RUN=$(RUN))

.PHONY: setup build typecheck test demo bench bench-setup runs clean-checkpoints kernel stage1 stage2 stage3 resume restore runbook gpu-pack

node_modules/.install-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Idempotent: npm packages when the lock changed, Debian packages (Jupyter, nbformat, onnx) when
# missing, dist/ (what notebooks import) when src/ changed.
setup: node_modules/.install-stamp
	@bash scripts/setup-system.sh
	@$(NODE) scripts/build-dist.cjs

build: setup
	$(TSC) -p tsconfig.build.json

typecheck: setup
	$(TSC) -p tsconfig.json --noEmit

test: setup
	@bash scripts/setup-system.sh --test
	$(TSC) -p tsconfig.json --noEmit
	$(DT) kernel check
	npx vitest run

# The main job: the three runbook stages as headless notebooks, then the per-stage summary.
demo: setup
	@start=$$(date +%s); \
	$(DT) notebook run notebooks/01-stage1.ipynb $(NBP) && \
	$(DT) notebook run notebooks/02-stage2.ipynb $(NBP) && \
	$(DT) notebook run notebooks/03-stage3.ipynb $(NBP) && \
	$(DT) runbook $(RUNBOOK) --summary $(if $(RUN),--run $(RUN)) && \
	echo "demo finished in $$(( $$(date +%s) - start )) s; executed notebooks in notebooks/executed/"

kernel: setup
	$(DT) kernel install

stage1: setup
	$(DT) notebook run notebooks/01-stage1.ipynb $(NBP)
stage2: setup
	$(DT) notebook run notebooks/02-stage2.ipynb $(NBP)
stage3: setup
	$(DT) notebook run notebooks/03-stage3.ipynb $(NBP)

# After a disconnect: restore from Drive, then re-run the stage in progress (it resumes).
restore: setup
	$(DT) notebook run notebooks/00-setup-and-restore.ipynb $(NBP_RESTORE)
resume: setup
	$(DT) notebook run $$($(DT) notebook current $(if $(RUN),--run $(RUN))) $(NBP)

# The same runbook without Jupyter, straight from the terminal.
runbook: setup
	$(DT) runbook $(RUNBOOK) --device $(DEVICE) $(if $(RUN),--run $(RUN)) $(if $(DATA),--data $(DATA)) $(if $(ANN),--ann $(ANN)) $(if $(IMG_SIZE),--img-size $(IMG_SIZE)) $(if $(MODEL),--model $(MODEL))

runs: setup
	$(DT) runs --base $(BASE)

clean-checkpoints: setup
	$(DT) clean-checkpoints --base $(BASE) --keep-last 1

# Debian's python3-torch (/usr/bin/python3): the PyTorch CPU reference measured in the same run.
bench-setup: setup
	@bash scripts/setup-system.sh --bench

bench: bench-setup
	$(TSX) bench/cnn-cpu.ts
	$(TSX) bench/engine-mlp.ts
	$(TSX) bench/checkpoint.ts
	$(TSX) bench/checkpoint-train.ts
	$(TSX) bench/backup.ts
	$(TSX) bench/backup-growth.ts
	$(TSX) bench/backup-start.ts
	$(TSX) bench/data.ts
	$(TSX) bench/gpu.ts

# Bundle bench/gpu.ts for a bare GPU host (see ../shared/gpu/README.md); the bundle is CommonJS,
# so .gpu/ gets its own package.json. On the host: bash .gpu/run.sh gpu.js
gpu-pack: setup
	bash ../shared/gpu/pack.sh bench/gpu.ts
	echo '{"type":"commonjs"}' > .gpu/package.json
