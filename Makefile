# The two Quick-start commands (see README.md).
.PHONY: install demo test bench

install:
	bash .ci/install

demo: install
	.venv/bin/forensics demo

test: install
	.venv/bin/python -m pytest -q -p no:cacheprovider

bench: install
	.venv/bin/python bench/walk_hash_bench.py
