# Top-level convenience wrapper around meson/ninja.
#   make          build everything into build/
#   make check    install missing packages, build, run every test
#   make check-qemu-iotests  only QEMU's own iotests (skipped offline)
#   make check-deb  build, install, exercise and purge the Debian package
#   make check-asan  the same suite built with ASan+UBSan (build-asan/)
#   make check-tsan  the threaded tests built with ThreadSanitizer (build-tsan/)
#   make fuzz     libFuzzer harnesses (clang, build-fuzz/), FUZZ_TIME s each
#   make soak     the model-checked soak test for DURATION (default 1h)
#   make demo     install, build, run the main job on a temp volume
#   make install  install programs, man pages, completion, systemd units
#                 (PREFIX, default /usr/local; DESTDIR for staging)
#   make deb      build the Debian package into build/ (scripts/build-deb.sh)
BUILD ?= build
PREFIX ?= /usr/local

.PHONY: all deps check check-deb check-qemu-iotests check-asan check-tsan fuzz soak demo install deb clean bench

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

deps:
	@scripts/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-tests.sh $(BUILD) --no-suite deb

check-deb: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-tests.sh $(BUILD) --suite deb

check-qemu-iotests: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-tests.sh $(BUILD) --suite qemu-iotests

check-asan: deps
	@scripts/check-asan.sh build-asan

check-tsan: deps
	@scripts/check-tsan.sh build-tsan

fuzz:
	@scripts/fuzz.sh

DURATION ?= 1h
soak: all
	@tests/soak/soak.py --build $(BUILD) --duration $(DURATION)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

bench: all
	@bench/run.sh $(BUILD)

install: all
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir "$(DESTDIR)")

deb: deps
	@scripts/build-deb.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
