# triage: one entry point. `make run` starts the agent on its embedded
# default config; `make check` runs every test. Both install the build and
# test dependencies first (scripts/install-deps, apt-get, idempotent).

BUILD     ?= build
PREFIX    ?= /usr/local
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
LLVM_STRIP ?= llvm-strip
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PKGS      := libbpf json-c libnl-genl-3.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbpf -ljson-c -lnl-genl-3 -lnl-3)

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wimplicit-fallthrough \
	     -Iinclude -Iagent -I. -I$(BUILD) $(PKG_CFLAGS) \
	     -DTRIAGE_DATADIR='"$(PREFIX)/share/triage"'
LDLIBS    += $(PKG_LIBS) -lXNNPACK -lpthreadpool -lelf -lz -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -I$(BUILD)

# Programs are agent/<name>.c with a main(); everything else in agent/ is
# library code shared by them and by the tests.
# The planner (agent/planner/, pure) and the zoo and platform readers
# (dnn/*.c) are library code too.
AGENT_MAINS := agent/triaged.c agent/triagectl.c
AGENT_LIB_SRC := $(filter-out $(AGENT_MAINS),$(wildcard agent/*.c))
PLANNER_SRC := $(wildcard agent/planner/*.c)
DNN_MAINS := dnn/triage_run.c
DNN_LIB_SRC := $(filter-out $(DNN_MAINS),$(wildcard dnn/*.c))
# libtriage.so: the client library alone, for DNN programs of any build.
CLIENT_SRC := dnn/client.c dnn/client_shm.c
AGENT_LIB_OBJ := $(patsubst agent/%.c,$(BUILD)/agent/%.o,$(AGENT_LIB_SRC)) \
		 $(patsubst agent/planner/%.c,$(BUILD)/planner/%.o,$(PLANNER_SRC)) \
		 $(patsubst dnn/%.c,$(BUILD)/dnn/%.o,$(DNN_LIB_SRC)) \
		 $(BUILD)/agent/default_config.o
SIM_SRC   := $(wildcard bench/sim/*.c)
SIM_CORE_SRC := $(wildcard bench/sim/sim*.c)
UNIT_SRC  := $(wildcard tests/unit/*.c)
BPF_TEST_SRC := $(wildcard tests/bpf/*.c)
BENCH_SRC := $(wildcard bench/*.c)
VM_TEST_SRC := $(wildcard tests/vm/*.c)

# cuda/: each cuda/*.mk adds its pure C sources to CUDA_LIB_SRC (built into
# libtriage.a, so the unit tests reach them) and its fatbin and programs to
# CUDA_TARGETS. Without nvcc they build what needs no nvcc and say so once.
CUDA_LIB_SRC :=
CUDA_TARGETS :=
# They are read before `all`: a bare `make` must still build all.
.DEFAULT_GOAL := all
include $(wildcard cuda/*.mk)
AGENT_LIB_OBJ += $(patsubst cuda/%.c,$(BUILD)/cuda/%.o,$(CUDA_LIB_SRC))

.PHONY: all check check-vm run demo install uninstall clean deps need-root unit kmod kmod-install kmod-clean \
	bench bench-planner

all: $(BUILD)/triaged $(BUILD)/triagectl $(BUILD)/triage-run $(BUILD)/libtriage.so $(BUILD)/unit-tests $(BUILD)/bpf-tests \
     $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC)) $(BUILD)/bench/planner-sim \
     $(patsubst tests/vm/%.c,$(BUILD)/vm/%,$(VM_TEST_SRC)) $(CUDA_TARGETS)

need-root:
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "make $(MAKECMDGOALS): needs root (cgroups, BPF); run it as root" >&2; exit 1; fi

deps: need-root
	@scripts/install-deps

# ---- BPF sensors -------------------------------------------------------
# vmlinux.h from the running kernel's BTF when it has one, else the copy
# checked in for this architecture.
$(BUILD)/vmlinux.h: | $(BUILD)
	@if [ -r /sys/kernel/btf/vmlinux ] && \
	    $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp 2>/dev/null; then \
		mv $@.tmp $@; echo "  GEN   $@ (from /sys/kernel/btf/vmlinux)"; \
	else \
		rm -f $@.tmp; cp bpf/vmlinux/$(ARCH)/vmlinux.h $@; \
		echo "  GEN   $@ (checked-in copy for $(ARCH))"; \
	fi

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/triage/*.h) $(BUILD)/vmlinux.h
	@echo "  BPF   $@"
	@$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	@$(LLVM_STRIP) -g $@.tmp -o $@ 2>/dev/null || cp $@.tmp $@
	@rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	@echo "  SKEL  $@"
	@$(BPFTOOL) gen skeleton $< > $@

# ---- kernel module -------------------------------------------------------
# Out of tree, against the headers of the kernel it will load into:
# `make kmod KDIR=/lib/modules/<version>/build` for another one.
KDIR ?= /lib/modules/$(shell uname -r)/build

kmod:
	@if [ ! -e "$(KDIR)/Makefile" ]; then \
		echo "make kmod: no kernel build tree at $(KDIR); install the headers of that kernel (Debian: linux-headers-$$(uname -r)) or pass KDIR=/path/to/kernel/build" >&2; \
		exit 1; fi
	@$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) modules

# Into /lib/modules/<release>/updates, so `modprobe triage` finds it. The
# release is the one the headers were built for (utsrelease.h): some
# distributions' header trees report another in `make kernelrelease`.
KREL = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)

kmod-install: kmod need-root
	@$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) KERNELRELEASE=$(KREL) INSTALL_MOD_DIR=updates modules_install

kmod-clean:
	@if [ -e "$(KDIR)/Makefile" ]; then $(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) clean; fi

# ---- agent --------------------------------------------------------------
$(BUILD) $(BUILD)/agent $(BUILD)/planner $(BUILD)/dnn $(BUILD)/tests $(BUILD)/bench $(BUILD)/vm:
	@mkdir -p $@

$(BUILD)/agent/%.o: agent/%.c $(wildcard agent/*.h) $(wildcard include/triage/*.h) | $(BUILD)/agent
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/planner/%.o: agent/planner/%.c $(wildcard agent/planner/*.h) | $(BUILD)/planner
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/dnn/%.o: dnn/%.c $(wildcard dnn/*.h) $(wildcard agent/planner/*.h) | $(BUILD)/dnn
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/cuda/%.o: cuda/%.c $(wildcard cuda/*.h cuda/kernels/*.h) $(wildcard include/triage/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/agent/sensors_bpf.o: $(BUILD)/sensors.skel.h

# The embedded default is docs/triage.example.json itself.
$(BUILD)/agent/default_config.o: agent/default_config.S docs/triage.example.json | $(BUILD)/agent
	@echo "  AS    $@"
	@$(CC) -c -Wa,-I. $< -o $@

$(BUILD)/libtriage.a: $(AGENT_LIB_OBJ)
	@ar rcs $@ $^

$(BUILD)/triaged: $(BUILD)/agent/triaged.o $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/triagectl: $(BUILD)/agent/triagectl.o $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/triage-run: $(BUILD)/dnn/triage_run.o $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/libtriage.so: $(CLIENT_SRC) $(wildcard include/triage/*.h) dnn/client_shm.h | $(BUILD)
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) -fPIC -shared -Wl,-soname,libtriage.so.1 $(CLIENT_SRC) -o $@

# ---- tests and benchmarks -------------------------------------------------
# The simulator's core is tested with the units.
$(BUILD)/unit-tests: $(UNIT_SRC) $(SIM_CORE_SRC) $(wildcard bench/sim/*.h) $(BUILD)/libtriage.a | $(BUILD)/tests
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) -Ibench/sim $(UNIT_SRC) $(SIM_CORE_SRC) $(BUILD)/libtriage.a -o $@ -lcriterion $(LDLIBS)

# Root tests that load the real BPF programs through the agent's interface.
$(BUILD)/bpf-tests: $(BPF_TEST_SRC) $(BUILD)/libtriage.a | $(BUILD)/tests
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $(BPF_TEST_SRC) $(BUILD)/libtriage.a -o $@ -lcriterion $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libtriage.a | $(BUILD)/bench
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $< $(BUILD)/libtriage.a -o $@ $(LDLIBS) -lpthread

# The planner's simulator: ground truth for bench-planner.
$(BUILD)/bench/planner-sim: $(SIM_SRC) $(wildcard bench/sim/*.h) $(BUILD)/libtriage.a | $(BUILD)/bench
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) -Ibench/sim $(SIM_SRC) $(BUILD)/libtriage.a -o $@ $(LDLIBS)

# Programs the QEMU rig runs inside the VM (tests/vm/run copies them in).
$(BUILD)/vm/%: tests/vm/%.c $(BUILD)/libtriage.a | $(BUILD)/vm
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $< $(BUILD)/libtriage.a -o $@ $(LDLIBS) -lpthread

unit: $(BUILD)/unit-tests
	@$(BUILD)/unit-tests

# Three real DNNs under plain Linux, then under triage; a report at the end.
demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/triaged $(BUILD)/triagectl $(BUILD)/triage-run
	@scripts/demo $(BUILD)

check: deps
	@$(MAKE) --no-print-directory all
	@tests/run-all $(BUILD)

# The QEMU rig alone: Debian's packaged kernel, the module, cgroup v2, BPF.
check-vm: deps
	@$(MAKE) --no-print-directory all
	@tests/vm/run $(BUILD)

run: deps
	@$(MAKE) --no-print-directory all
	@echo "make run: starting $(BUILD)/triaged on its embedded default (Ctrl-C restores everything)"
	@exec $(BUILD)/triaged $(TRIAGED_ARGS)

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run-all $(BUILD)

# Planner policies judged by the simulator; writes docs/results/planner.md.
# Needs no root, no module and no GPU.
bench-planner: $(BUILD)/bench/planner-sim
	@bench/planner $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)/etc/triage $(DESTDIR)$(PREFIX)/share/doc/triage \
		$(DESTDIR)/etc/systemd/system
	install -m 0755 $(BUILD)/triaged $(DESTDIR)$(PREFIX)/sbin/triaged
	install -m 0755 $(BUILD)/triagectl $(DESTDIR)$(PREFIX)/bin/triagectl
	install -m 0755 $(BUILD)/triage-run $(DESTDIR)$(PREFIX)/bin/triage-run
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/triage
	install -m 0644 $(BUILD)/libtriage.so $(DESTDIR)$(PREFIX)/lib/libtriage.so
	install -m 0644 include/triage/client.h include/triage/abi.h $(DESTDIR)$(PREFIX)/include/triage/
	[ -e $(DESTDIR)/etc/triage/triage.json ] || \
		install -m 0644 docs/triage.example.json $(DESTDIR)/etc/triage/triage.json
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/triage/
	install -d $(DESTDIR)$(PREFIX)/share/triage/models $(DESTDIR)$(PREFIX)/share/triage/platforms
	install -m 0644 dnn/models/*.json $(DESTDIR)$(PREFIX)/share/triage/models/
	install -m 0644 dnn/platforms/*.json $(DESTDIR)$(PREFIX)/share/triage/platforms/
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/triaged.service > $(DESTDIR)/etc/systemd/system/triaged.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/triaged $(DESTDIR)$(PREFIX)/bin/triagectl \
	      $(DESTDIR)$(PREFIX)/bin/triage-run $(DESTDIR)$(PREFIX)/lib/libtriage.so \
	      $(DESTDIR)$(PREFIX)/include/triage/client.h $(DESTDIR)$(PREFIX)/include/triage/abi.h \
	      $(DESTDIR)/etc/systemd/system/triaged.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/triage $(DESTDIR)$(PREFIX)/share/triage

clean: kmod-clean
	rm -rf $(BUILD)

.DELETE_ON_ERROR:
