# kvmlock: the arm64 memslot-locking kernel series, its BPF tooling and tests.
#
#   make demo     boot the patched kernel under QEMU and show it working
#   make check    build everything and run every test (host and guest VM)
#
# Both install their own dependencies (make deps, as root). Expensive outputs
# (kernel builds, guest root filesystem, ccache) are cached in $(KVMLOCK_CACHE),
# keyed by what they are built from.

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD ?= $(TOP)/build
KVMLOCK_CACHE ?= /var/cache/kvmlock
KERNEL_VARIANT ?= default
# The kernel the series applies to: 6.12 or 6.1 (kernel/<base>/); the
# default is scripts/lib.sh's.
KERNEL_BASE ?= 6.12
export TOP BUILD KVMLOCK_CACHE KERNEL_BASE

# What make check tests: neither the environment nor the command line
# changes these two.
override KERNEL_DIR := $(BUILD)/$(KERNEL_BASE)/kernel-$(KERNEL_VARIANT).out
override ROOTFS_DIR := $(BUILD)/rootfs

.PHONY: all deps check-env kernel kernel-tree kernel-export kernel-reset \
	kernel-bisect-check rootfs \
	check check-host check-vm vm-test bench bench-tracing bench-kvmlock-top stress check-pages mutants mutants-inspector demo clean distclean \
	inspector install

all: kernel rootfs

deps:
	@scripts/deps.sh

# make check refuses, before it builds anything, an environment that would
# change what it tests (tests/check.sh REFUSED_ENV: VM_TEST_LISTS,
# KVMLOCK_PATCHES, CHECK_VARIANTS, ...).
ifneq ($(filter check check-host check-vm,$(MAKECMDGOALS)),)
deps: check-env
endif
check-env:
	@tests/check.sh --refuse-env

# The cached kernel output directory is linked as $(KERNEL_DIR).
kernel: deps
	@dir=$$(kernel/scripts/kernel.sh build $(KERNEL_VARIANT)) && \
		mkdir -p $(dir $(KERNEL_DIR)) && ln -sfn "$$dir" $(KERNEL_DIR) && echo "kernel: $$dir"

kernel-tree: deps
	@kernel/scripts/kernel.sh tree

kernel-export:
	@kernel/scripts/kernel.sh export

kernel-reset:
	@kernel/scripts/kernel.sh reset

# Every patch of the series builds on its own, with the selftests it changes
# (slow: not part of check).
kernel-bisect-check: deps
	@kernel/scripts/kernel.sh bisect-check

rootfs: deps
	@dir=$$(tests/vm/rootfs.sh) && mkdir -p $(BUILD) && ln -sfn "$$dir" $(ROOTFS_DIR)

# kvmlock-top (inspector/Makefile): the tool for the host and arm64, and its
# host tests' binaries, in build/inspector/. Kernel types come from the BTF
# of the kernel built by make kernel; with VMLINUX_BTF=FILE given, nothing here
# needs the kernel built.
VMLINUX_BTF ?= $(KERNEL_DIR)/vmlinux.btf
inspector: deps
	@$(MAKE) --no-print-directory -C inspector VMLINUX_BTF=$(abspath $(VMLINUX_BTF))

# kvmlock-top for this host, its man page, its Prometheus alerting rules
# and their runbooks, docs/kvmlock-top.md (PREFIX=/usr/local, DESTDIR= for
# a staging directory). The rules' runbook_url point at that copy, or at
# RUNBOOK_BASE (the URL of yours: a wiki page, a copy on a web server).
PREFIX ?= /usr/local
DESTDIR ?=
RUNBOOK_BASE ?= file://$(PREFIX)/share/doc/kvmlock/kvmlock-top.md
install: inspector
	install -D -m 0755 $(BUILD)/inspector/host/kvmlock-top $(DESTDIR)$(PREFIX)/sbin/kvmlock-top
	install -D -m 0644 inspector/kvmlock-top.8 $(DESTDIR)$(PREFIX)/share/man/man8/kvmlock-top.8
	install -D -m 0644 docs/kvmlock-top.md $(DESTDIR)$(PREFIX)/share/doc/kvmlock/kvmlock-top.md
	mkdir -p $(DESTDIR)$(PREFIX)/share/kvmlock
	sed 's|file:///usr/local/share/doc/kvmlock/kvmlock-top.md#|$(RUNBOOK_BASE)#|' \
		inspector/kvmlock-top.rules.yml >$(DESTDIR)$(PREFIX)/share/kvmlock/kvmlock-top.rules.yml
	chmod 0644 $(DESTDIR)$(PREFIX)/share/kvmlock/kvmlock-top.rules.yml

# The kernel tests also run on these debug kernels (tests/vm/debug-tests.list).
override CHECK_KERNELS := $(if $(filter default,$(KERNEL_VARIANT)),debug kasan)
# With the default variant, the other base's kernel too: its kernel tests
# and kvmlock-top's.
override CHECK_BASES := $(if $(filter default,$(KERNEL_VARIANT)),$(filter-out $(KERNEL_BASE),6.1 6.12))

check: kernel rootfs inspector
	@tests/check.sh --variants '$(CHECK_KERNELS)' --bases '$(CHECK_BASES)' $(KERNEL_DIR) $(ROOTFS_DIR)

# The host tests alone (test_uapi_mirror.sh needs the kernel's headers).
check-host: kernel
	@tests/check.sh --host $(KERNEL_DIR)

# The two test VM boots alone.
check-vm: kernel rootfs inspector
	@tests/check.sh --vm --variants '$(CHECK_KERNELS)' --bases '$(CHECK_BASES)' $(KERNEL_DIR) $(ROOTFS_DIR)

# One guest test (or globs of them) alone: make vm-test T=kvm_smoke_test,
# T='aarch64/*'. set -f: the globs go to run.sh, not to the shell.
vm-test: kernel rootfs inspector
	@set -f; tests/vm/run.sh $(KERNEL_DIR) $(ROOTFS_DIR) $(T)

# Benchmarks print figures; they are never part of check.
# Lock/unlock of the per-page baseline vs the whole series: build/bench/lock-perf.md
bench: deps
	@tests/bench/lock_perf.sh

bench-tracing: kernel rootfs
	@VM_TEST_LISTS=$(TOP)/tests/bench/tracing.list VM_RUN_DIR=$(BUILD)/vm-bench-tracing \
		tests/vm/run.sh $(KERNEL_DIR) $(ROOTFS_DIR) && \
		cat $(BUILD)/vm-bench-tracing/payload/results/tracing_cost.log

# kvmlock-top detached vs attached vs trace, and its CPU with 1 and 16 VMs
bench-kvmlock-top: kernel rootfs inspector
	@VM_TEST_LISTS=$(TOP)/tests/bench/kvmlock-top.list VM_RUN_DIR=$(BUILD)/vm-bench-kvmlock-top \
		tests/vm/run.sh $(KERNEL_DIR) $(ROOTFS_DIR) && \
		cat $(BUILD)/vm-bench-kvmlock-top/payload/results/kvmlock_top_cost.log

# The page-size dependent kernel tests on 16 KiB and 64 KiB page kernels
# (tests/vm/pages-tests.list); not part of check.
check-pages: rootfs
	@status=0; for v in 16k 64k; do \
		$(MAKE) --no-print-directory kernel KERNEL_VARIANT=$$v || { status=1; continue; }; \
		echo "== guest: $(TOP)/tests/vm/pages-tests.list on the $$v kernel"; \
		VM_TEST_LISTS=$(TOP)/tests/vm/pages-tests.list VM_RUN_DIR=$(BUILD)/vm-$$v \
			tests/vm/run.sh $(BUILD)/$(KERNEL_BASE)/kernel-$$v.out $(ROOTFS_DIR) || status=1; \
	done; exit $$status

# memslot_lock_stress for long (STRESS_DURATION=1800), seed printed
# (STRESS_SEED=N repeats it); KERNEL_VARIANT=kasan or debug for those kernels.
stress: kernel rootfs
	@tests/vm/stress.sh $(KERNEL_DIR) $(ROOTFS_DIR)

# Each tests/mutants/NAME.diff (a bug put back into the series) booted with
# its NAME.list: caught when a test its "#: caught-by" names fails, and
# only that, where the list passes without the diff. Then (first, being
# cheap) make mutants-inspector's. MUTANTS="a b" for some, of either kind.
KERNEL_MUTANTS := $(basename $(notdir $(wildcard tests/mutants/*.diff)))
INSPECTOR_MUTANTS := $(basename $(notdir $(wildcard tests/mutants/inspector/*.diff)))
pick_mutants = $(if $(MUTANTS),$(filter $(MUTANTS),$(1)),$(1))
mutants: kernel rootfs
	@$(if $(filter-out $(KERNEL_MUTANTS) $(INSPECTOR_MUTANTS),$(MUTANTS)), \
		echo "mutants: no mutant $(filter-out $(KERNEL_MUTANTS) $(INSPECTOR_MUTANTS),$(MUTANTS)) (tests/mutants/NAME.diff, tests/mutants/inspector/NAME.diff)" >&2; exit 1;) \
	status=0; \
	$(if $(call pick_mutants,$(INSPECTOR_MUTANTS)), \
		MUTANTS='$(call pick_mutants,$(INSPECTOR_MUTANTS))' \
		tests/inspector/mutants.sh $(abspath $(VMLINUX_BTF)) || status=1;) \
	$(if $(call pick_mutants,$(KERNEL_MUTANTS)), \
		MUTANTS='$(call pick_mutants,$(KERNEL_MUTANTS))' \
		tests/vm/mutants.sh $(ROOTFS_DIR) || status=1;) \
	exit $$status

# kvmlock-top's mutants alone, host only (no VM, seconds; root for
# test_bpf): each tests/mutants/inspector/NAME.diff (a bug in bpf/ or
# inspector/) built into the host tests, caught when exactly the tests its
# "Caught by:" line names fail, and those pass without it.
mutants-inspector: deps
	@tests/inspector/mutants.sh $(abspath $(VMLINUX_BTF))

demo: kernel rootfs inspector
	@tests/demo.sh $(KERNEL_DIR) $(ROOTFS_DIR)

# Every test VM run directory (vm, vm-nofwb, vm-demo, ...) and its lock.
clean:
	rm -rf $(BUILD)/vm $(BUILD)/vm-* $(BUILD)/vm.lock

# Also drops the kernel tree (with any unexported commits) and the cache links.
distclean:
	rm -rf $(BUILD)
