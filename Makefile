# Every target sets up .venv on first use (torch first: pip takes the CPU wheel on this machine's disk).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup quickstart test lint wheel-check bench bench-finetune clean

$(BIN)/ding: setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m compileall -q ding_lite entry
	touch $@

setup: $(BIN)/ding

quickstart: setup  ## train cartpole PPO to 195 in ./cartpole_ppo_seed0
	$(BIN)/ding -m serial_onpolicy -c dizoo_configs/cartpole_ppo_config.py -s 0

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint  ## lint, type-check and run the whole test suite
	$(BIN)/python -m pytest -q

wheel-check:  ## build the wheel, install it in a fresh venv outside the repo, train, eval and inspect there
	bash .ci/wheel_check $(PYTHON)

bench: setup  ## print the speed figures (bench/README.md)
	$(BIN)/python -m compileall -q ding_lite entry  # as an installed package has it (PYTHONDONTWRITEBYTECODE)
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_ckpt.py
	$(BIN)/python bench/bench_sac.py
	$(BIN)/python bench/bench_learn.py
	$(BIN)/python bench/bench_datasets.py

bench-finetune: setup  ## fine-tuning after an action-space change vs scratch (about 10 minutes)
	$(BIN)/python bench/bench_finetune.py

clean:
	rm -rf $(VENV) *.egg-info build
