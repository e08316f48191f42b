# The two set-up commands (see README.md):
#   make run    build ablate and open the terminal UI on the embedded default study
#   make test   run the whole test suite
# Both find or install libtorch first (scripts/libtorch.sh).
.PHONY: run test libtorch bench
libtorch:
	@scripts/libtorch.sh

run: libtorch
	cargo run --release --bin ablate

test: libtorch
	cargo test --all-targets -- --test-threads=2

bench: libtorch
	cargo run --release --bin ablate -- bench
