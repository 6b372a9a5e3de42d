# hairtrigger — the two commands are `make run` and `make test`; each installs what it needs.
SHELL := /bin/bash
NODE_BIN := node_modules/.bin
APT_STAMP := node_modules/.apt-stamp
PY := /usr/bin/python3
MODELS ?= cells-bccd cells-lymphocyte alerts-transient alerts-realbogus keywords
# More student sizes of a task, each its own zoo folder models/zoo/<task>-<size> (card `size`):
# what the daemon's model selection chooses among (config modelSelection). task:size:widths.
SIZES ?= cells-bccd:w2x4:2,4 cells-bccd:w4x8:4,8 cells-bccd:w10x24:10,24 alerts-realbogus:w4x8:4,8 alerts-transient:w6x8:6,8 keywords:w24:24
SIZED := $(foreach s,$(SIZES),$(word 1,$(subst :, ,$(s)))-$(word 2,$(subst :, ,$(s))))
# make run's pipelines, one daemon and one dashboard (host/configs/run-all.yaml lists them): the
# BCCD cell sorter (its server settings serve all three), the ZTF and Rubin alert replay, the
# keyword stream. CONFIG=FILE runs one; CONFIG="a.yaml b.yaml" several.
CONFIG ?= host/configs/run-all.yaml
# onnxruntime-node's install script would fetch CUDA providers; .npmrc already turns
# dependency install scripts off, this keeps the skip if someone turns them back on.
export ONNXRUNTIME_NODE_INSTALL := skip

.PHONY: run test bench models sizes ui build typecheck deps apt-test apt-models apt-alerts clean recordings help addon firmware cards keywords-card

help:
	@echo "make run    - install, build, replay the bundled cell capture, dashboard on http://127.0.0.1:8080"
	@echo "make test   - install, build and run every test suite"
	@echo "make bench  - latency/throughput benchmarks -> bench/results/latest.{json,md}"
	@echo "make models - rebuild datasets and retrain the distilled students (needs python3-torch; ~30 min)"

# Node dependencies, from the committed lock file.
node_modules/.package-lock.json: package.json package-lock.json
	@npm ci --no-audit --no-fund
	@touch $@

# apt-get update and install, quiet: its output goes to a log printed only when it fails.
APT_INSTALL = sh -c 'log=$$(mktemp); if DEBIAN_FRONTEND=noninteractive apt-get -q update >"$$log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "$$@" >>"$$log" 2>&1; then rm -f "$$log"; else cat "$$log" >&2; rm -f "$$log"; exit 1; fi' apt-install

deps: node_modules/.package-lock.json

# Debian packages the browser, NATS and serial tests need; installed only when missing.
apt-test:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "installing chromium (browser tests)"; \
	  $(APT_INSTALL) chromium; \
	fi
	@if ! command -v nats-server >/dev/null 2>&1; then \
	  echo "installing nats-server (NATS JetStream source, sink and scale-out tests)"; \
	  $(APT_INSTALL) nats-server; \
	fi
	@if ! command -v socat >/dev/null 2>&1; then \
	  echo "installing socat (the serial tests' pty pairs)"; \
	  $(APT_INSTALL) socat; \
	fi
	@if ! command -v tclsh >/dev/null 2>&1; then \
	  echo "installing tcl (tclsh parses and dry-runs the card's Vivado block design script)"; \
	  $(APT_INSTALL) tcl; \
	fi

# Python packages of models/train: training, and its tests in `make test` (PIL only for the
# tests' independent decoders and resamplers; astropy only as the FITS reference of the
# cutout tests).
apt-models:
	@if ! $(PY) -c 'import torch, numpy, PIL, astropy' >/dev/null 2>&1; then \
	  echo "installing python3-torch, python3-numpy, python3-pil and python3-astropy (models/train and its tests)"; \
	  $(APT_INSTALL) python3-torch python3-numpy python3-pil python3-astropy; \
	fi
	@if ! command -v espeak-ng >/dev/null 2>&1 || ! command -v sox >/dev/null 2>&1; then \
	  echo "installing espeak-ng and sox (synthesised keyword speech: models/train/keywords_data.py and its tests)"; \
	  $(APT_INSTALL) espeak-ng sox; \
	fi

# Debian package the addon links: libdeflate (gzip inflate of ZTF cutouts); installed only when missing.
.PHONY: apt-native
apt-native:
	@if [ ! -f /usr/include/libdeflate.h ]; then \
	  echo "installing libdeflate-dev (the addon's gzip inflate)"; \
	  $(APT_INSTALL) libdeflate-dev; \
	fi

# Apache Avro's Python reader: the alert decoder's and sources' tests check every field and
# the observation order against it.
apt-alerts:
	@if ! $(PY) -c 'import avro.datafile' >/dev/null 2>&1; then \
	  echo "installing python3-avro (the alert decoder's reference in tests)"; \
	  $(APT_INSTALL) python3-avro; \
	fi

ADDON := host/native/build/Release/hairtrigger_native.node

# The native addon (node-gyp; Node's headers are in /usr/include/node, nothing is downloaded).
# Quiet when it works; on failure the whole node-gyp/g++ log is shown. The same rebuild writes
# the device emulator's own addon, hairtrigger_emulator.node.
$(ADDON): host/native/binding.gyp $(wildcard host/native/src/*) $(wildcard sim/emulator/*) node_modules/.package-lock.json | apt-native
	@echo "addon  $(ADDON)"
	@log=$$(mktemp); cd host/native && ../../$(NODE_BIN)/node-gyp rebuild --nodedir=$${NODE_DIR:-/usr} >$$log 2>&1 \
	  || { cat $$log; rm -f $$log; exit 1; }; rm -f $$log

addon: $(ADDON)

build: deps $(ADDON)
	@echo "tsc    build/"
	@$(NODE_BIN)/tsc -p tsconfig.build.json
	@echo "vite   ui/dist/"
	@$(NODE_BIN)/vite build --config ui/vite.config.ts --logLevel warn

# Firmware projects and simulator libraries (g++) of the models the daemon, tests and bench
# run: the zoo's students and hls4ml's LHC jet tagger. Rebuilt when the model, its card (which
# may carry per-layer precision), the layer templates or the compiler change.
FW := hls/build
sized_lib = $(FW)/$(subst -,_,$(1))_student/lib$(subst -,_,$(1))_student.so
HLS_EXAMPLES := ../shared/data/models/hls4ml-examples
FW_SOURCES := $(wildcard hls/nnet/*.h hls/abi/*.h hls/compiler/*.ts)
FIRMWARE := $(FW)/cells_bccd_student/libcells_bccd_student.so \
  $(FW)/cells_lymphocyte_student/libcells_lymphocyte_student.so \
  $(FW)/jets_hls4ml_student/libjets_hls4ml_student.so \
  $(FW)/alerts_realbogus_student/libalerts_realbogus_student.so \
  $(FW)/alerts_transient_student/libalerts_transient_student.so \
  $(FW)/keywords_student/libkeywords_student.so \
  $(foreach m,$(SIZED),$(call sized_lib,$(m)))

$(FW)/cells_bccd_student/libcells_bccd_student.so: models/zoo/cells-bccd/student.onnx models/zoo/cells-bccd/card.json $(FW_SOURCES)
	@node bin/hairtrigger.js compile models/zoo/cells-bccd
$(FW)/cells_lymphocyte_student/libcells_lymphocyte_student.so: models/zoo/cells-lymphocyte/student.onnx models/zoo/cells-lymphocyte/card.json $(FW_SOURCES)
	@node bin/hairtrigger.js compile models/zoo/cells-lymphocyte
$(FW)/jets_hls4ml_student/libjets_hls4ml_student.so: $(HLS_EXAMPLES)/three_layer_keras.onnx models/zoo/jets-hls4ml/card.json $(FW_SOURCES)
	@node bin/hairtrigger.js compile models/zoo/jets-hls4ml
$(FW)/alerts_realbogus_student/libalerts_realbogus_student.so: models/zoo/alerts-realbogus/student.onnx models/zoo/alerts-realbogus/card.json $(FW_SOURCES)
	@node bin/hairtrigger.js compile models/zoo/alerts-realbogus
$(FW)/alerts_transient_student/libalerts_transient_student.so: models/zoo/alerts-transient/student.onnx models/zoo/alerts-transient/card.json $(FW_SOURCES)
	@node bin/hairtrigger.js compile models/zoo/alerts-transient
$(FW)/keywords_student/libkeywords_student.so: models/zoo/keywords/student.onnx models/zoo/keywords/card.json $(FW_SOURCES)
	@node bin/hairtrigger.js compile models/zoo/keywords
# The other student sizes (SIZES): hls/build/<task>_<size>_student.
define SIZED_RULE
$(call sized_lib,$(1)): models/zoo/$(1)/student.onnx models/zoo/$(1)/card.json $$(FW_SOURCES)
	@node bin/hairtrigger.js compile models/zoo/$(1)
endef
$(foreach m,$(SIZED),$(eval $(call SIZED_RULE,$(m))))

firmware: build $(FIRMWARE)

# The "fixed" and "fpga" facts of the zoo's cards: C simulation vs float ONNX on 1,000
# held-out inputs (seeded standard normals for the jet tagger, whose data is not here;
# the exported test splits of alerts-transient and keywords, so after `make models`). Commit the result.
CARDS := cells-bccd cells-lymphocyte jets-hls4ml alerts-realbogus alerts-transient keywords $(SIZED)
cards: build
	@for m in $(CARDS); do set -e; node bin/hairtrigger.js compile models/zoo/$$m --check 1000 --card; done

# The keyword card's streaming section: MLPerf Tiny's wake-word stream scored by its rules and
# false alarms per hour on sox-made noise, music and the real background recordings, with the
# student on sim and the card's detector (seeded; hairtrigger keywords-streaming). Commit it.
keywords-card: build firmware apt-models
	node bin/hairtrigger.js keywords-streaming --model models/zoo/keywords --backend sim --minutes 10 --seed 1 --card >/dev/null

ui: deps
	$(NODE_BIN)/vite build --config ui/vite.config.ts

typecheck: deps
	$(NODE_BIN)/tsc -p tsconfig.json --noEmit
	$(NODE_BIN)/tsc -p ui/tsconfig.json --noEmit

run: build firmware
	node bin/hairtrigger.js run $(addprefix --config ,$(CONFIG))

test: build firmware apt-test apt-models apt-alerts typecheck
	$(NODE_BIN)/vitest run --reporter=default --reporter=json --outputFile=.vitest-report.json

bench: build firmware
	node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 build/bench/run.js
	node build/bench/history.js
	node build/bench/vendor-csim.js
	node build/bench/cascade.js
	node build/bench/switching.js

# Datasets (TypeScript preprocessing) -> distillation (PyTorch) -> models/zoo, plus the
# bundled recordings under sim/recordings. Reproduces the committed files. The keyword student is
# distilled from the committed teacher (models/zoo/keywords/teacher.onnx; remove it to train one).
models: build apt-models
	cd models/train && $(PY) -m unittest discover -p 'test_*.py'
	@for m in $(MODELS); do \
	  set -e; \
	  if [ $$m = alerts-transient ]; then node bin/hairtrigger.js lightcurves --seed 1 --alerts ../shared/data/alerts --out models/data/$$m; \
	  elif [ $$m = keywords ]; then $(PY) models/train/keywords_data.py --shared ../shared/data/audio --out models/data/keywords-audio --per-word 150 >/dev/null; \
	    $(PY) models/train/keywords_features.py --audio models/data/keywords-audio --out models/data/$$m --matchboxnet ../shared/data/models/matchboxnet-kws/classification_model.onnx >/dev/null; \
	  else node bin/hairtrigger.js dataset --task $$m --out models/data/$$m >/dev/null; fi; \
	  from=""; [ $$m = keywords ] && [ -f models/zoo/keywords/teacher.onnx ] && from="--teacher-from models/zoo/keywords"; \
	  $(PY) models/train/distill.py --task $$m --data models/data/$$m --out models/zoo/$$m $$from; \
	done
	$(MAKE) sizes
	$(MAKE) recordings

# The other student sizes (SIZES, task:size:widths): distilled with the task's recipe at those
# widths (the dataset of `make models`), then put in models/zoo/<task>-<size> (zoo_size.py). The
# keyword sizes are distilled from the shipped keyword teacher (--teacher-from: the 1.97 M teacher
# takes longer to train than the student, and every keyword model then shares one teacher), with the
# recipe the committed w24 was made with (40 student epochs, seed 0, 2 torch threads; the width-64
# student's are 60, 1 and 1 since 2026-12-07: tasks.py).
sizes: build apt-models
	@for s in $(SIZES); do \
	  set -e; task=$${s%%:*}; rest=$${s#*:}; size=$${rest%%:*}; widths=$${rest#*:}; \
	  if [ ! -f models/data/$$task/meta.json ] && [ $$task = keywords ]; then \
	    $(PY) models/train/keywords_data.py --shared ../shared/data/audio --out models/data/keywords-audio --per-word 150 >/dev/null; \
	    $(PY) models/train/keywords_features.py --audio models/data/keywords-audio --out models/data/keywords --matchboxnet ../shared/data/models/matchboxnet-kws/classification_model.onnx >/dev/null; \
	  fi; \
	  [ -f models/data/$$task/meta.json ] || node bin/hairtrigger.js dataset --task $$task --out models/data/$$task >/dev/null; \
	  from=""; threads=""; [ $$task = keywords ] && from="--teacher-from models/zoo/keywords --student-epochs 40 --seed 0" && threads=2; \
	  HT_TORCH_THREADS=$$threads $(PY) models/train/distill.py --task $$task --data models/data/$$task --out build/train/$$task-$$size --student-widths $$widths $$from; \
	  $(PY) models/train/zoo_size.py --run build/train/$$task-$$size --task $$task --size $$size --widths $$widths; \
	done

recordings: build
	node bin/hairtrigger.js dataset --task cells-bccd --out models/data/cells-bccd >/dev/null
	cp models/data/cells-bccd/test.arrows sim/recordings/cells-bccd-test.arrows
	node bin/hairtrigger.js gen --frames 1000 --seed 42 --out sim/recordings/cells-lymphocyte-1k.arrows

clean:
	rm -rf build ui/dist hls/build host/native/build .vitest-report.json
