# The two set-up commands (see README.md):
#   make run    build ablate and open the terminal UI on the embedded default study
#   make test   run the whole test suite
# Both find or install libtorch first (scripts/libtorch.sh).
.PHONY: run test libtorch
libtorch:
	@scripts/libtorch.sh

# The dev profile is optimised (Cargo.toml) and shared with `make test`: one build serves both.
run: libtorch
	cargo run --bin ablate

test: libtorch
	cargo test --all-targets -- --test-threads=2

