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
	     $(PKG_CFLAGS) -DTRIAGE_DATADIR='"$(PREFIX)/share/triage"' \
	     -DTRIAGE_GATE_LIBDIR='"$(PREFIX)/lib/triage"'
# Every object writes its header dependencies (-MMD -MP): touching a header
# rebuilds exactly what includes it.
DEPFLAGS  := -MMD -MP
LDLIBS    += $(PKG_LIBS) -lXNNPACK -lpthreadpool -lelf -lz -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -I$(BUILD)

# ---- parts, lowest first -----------------------------------------------
# A part sees its own headers and those of the parts below it, never those
# above (docs/architecture.md; tests/layering checks the sources too):
#   include/triage < lib < planner < models < exec < client < cuda < gate < agent < tools
# bench/ and tests/ see every part. Headers are named by their path inside
# the part ("planner.h", "kernels/ops.h", "cgroup/cgroup.h").
INC_lib     := -Iinclude -iquote lib
INC_planner := $(INC_lib) -iquote planner
INC_models  := $(INC_planner) -iquote models
INC_exec    := $(INC_models) -iquote exec
INC_client  := $(INC_exec) -iquote client
INC_cuda    := $(INC_client) -iquote cuda
INC_gate    := $(INC_cuda) -iquote gate
INC_agent   := $(INC_gate) -iquote agent -iquote $(BUILD)
INC_tools   := $(INC_agent) -iquote tools
INC_all     := $(INC_tools) -iquote bench/sim

OBJ := $(BUILD)/obj
obj = $(patsubst %.c,$(OBJ)/%.o,$(filter %.c,$(1))) $(patsubst %.S,$(OBJ)/%.o,$(filter %.S,$(1)))

$(OBJ)/lib/%.o:     PART_INC = $(INC_lib)
$(OBJ)/planner/%.o: PART_INC = $(INC_planner)
$(OBJ)/models/%.o:  PART_INC = $(INC_models)
$(OBJ)/exec/%.o:    PART_INC = $(INC_exec)
$(OBJ)/client/%.o:  PART_INC = $(INC_client)
$(OBJ)/cuda/%.o:    PART_INC = $(INC_cuda)
$(OBJ)/agent/%.o:   PART_INC = $(INC_agent)
$(OBJ)/tools/%.o:   PART_INC = $(INC_tools)
$(OBJ)/bench/%.o:   PART_INC = $(INC_all)
$(OBJ)/tests/%.o:   PART_INC = $(INC_all)
$(OBJ)/tests/unit/%.o: PART_INC = $(INC_all) -iquote tests/unit
$(OBJ)/tests/vm/%.o:   PART_INC = $(INC_all) -iquote tests/vm

LIB_SRC     := $(wildcard lib/*.c)
PLANNER_SRC := $(wildcard planner/*.c)
MODELS_SRC  := $(wildcard models/*.c)
EXEC_SRC    := $(wildcard exec/*.c)
# libtriage.so: the client library, for DNN programs of any build.
CLIENT_SRC  := $(wildcard client/*.c)
# Programs are agent/<name>.c with a main(); the rest of agent/ (its
# subfolders and the files on the daemon's whole state beside agent.h)
# is library code shared by them and by the tests.
AGENT_MAINS := agent/triaged.c agent/triagectl.c
AGENT_SRC   := $(filter-out $(AGENT_MAINS),$(wildcard agent/*.c agent/*/*.c)) \
	       agent/config/default_config.S
TRIAGE_RUN_SRC := tools/triage_run.c tools/run_profile.c tools/run_gpud.c
SIM_SRC     := $(filter-out bench/sim/test_sim.c,$(wildcard bench/sim/*.c))
SIM_CORE_SRC := $(wildcard bench/sim/sim*.c)
UNIT_SRC    := $(wildcard tests/unit/*.c)
BPF_TEST_SRC := $(wildcard tests/bpf/*.c)
BENCH_SRC   := $(wildcard bench/*.c)
VM_TEST_SRC := $(wildcard tests/vm/*.c)

# cuda/: each cuda/*.mk adds its pure C sources to CUDA_LIB_SRC (built into
# libtriage.a, so the unit tests reach them) and its fatbin and programs to
# CUDA_TARGETS. Without nvcc they build what needs no nvcc and say so once.
CUDA_LIB_SRC :=
CUDA_TARGETS :=
PARTS_OBJ   :=
# They are read before `all`: a bare `make` must still build all.
.DEFAULT_GOAL := all
include $(wildcard cuda/*.mk)
# gate/gate.mk: libtriage-gate.so (it adds to CUDA_TARGETS as well).
include $(wildcard gate/*.mk)
# bench/gate/gate-bench.mk: the launch gate's GPU benchmark program (nvcc, cuBLAS).
include bench/gate/gate-bench.mk

# libtriage.a: every part below the programs, for the programs, the tests
# and the benchmarks (the client library alone is libtriage.so).
PARTS_OBJ += $(call obj,$(LIB_SRC) $(PLANNER_SRC) $(MODELS_SRC) $(EXEC_SRC) $(CLIENT_SRC) \
			$(CUDA_LIB_SRC) $(AGENT_SRC))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
VM_BINS    := $(patsubst tests/vm/%.c,$(BUILD)/vm/%,$(VM_TEST_SRC))

.PHONY: all check check-vm run demo install uninstall clean deps need-root unit kmod kmod-install kmod-clean \
	bench bench-planner bench-smoke

all: $(BUILD)/triaged $(BUILD)/triagectl $(BUILD)/triage-run $(BUILD)/libtriage.so $(BUILD)/unit-tests \
     $(BUILD)/bpf-tests $(BUILD)/sim-tests $(BENCH_BINS) $(BUILD)/bench/planner-sim $(VM_BINS) $(CUDA_TARGETS)

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

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	@echo "  BPF   $@"
	@$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ -c $< -o $@.tmp
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

# ---- objects and programs ------------------------------------------------
# One rule for every C object: $(BUILD)/obj/<source path>.o, with the
# include paths of its part (PART_INC above).
$(BUILD) $(BUILD)/bench $(BUILD)/vm:
	@mkdir -p $@

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) $(PART_INC) $(DEPFLAGS) -c $< -o $@

# Position-independent copies of lib/ and client/ for libtriage.so; lib's
# helpers stay hidden there, so the library exports only the client's API.
$(OBJ)/pic/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) $(INC_lib) $(DEPFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(OBJ)/pic/client/%.o: client/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(CC) $(CFLAGS) $(INC_client) $(DEPFLAGS) -fPIC -c $< -o $@

$(OBJ)/agent/sensors/sensors_bpf.o: $(BUILD)/sensors.skel.h

# The embedded default is docs/triage.example.json itself.
$(OBJ)/agent/config/default_config.o: agent/config/default_config.S docs/triage.example.json
	@mkdir -p $(@D)
	@echo "  AS    $@"
	@$(CC) -c -Wa,-I. $< -o $@

$(BUILD)/libtriage.a: $(PARTS_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/triaged $(BUILD)/triagectl: $(BUILD)/%: $(OBJ)/agent/%.o $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/triage-run: $(call obj,$(TRIAGE_RUN_SRC)) $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/libtriage-pic.a: $(patsubst %.c,$(OBJ)/pic/%.o,$(LIB_SRC))
	@rm -f $@
	@ar rcs $@ $^

# The archive last: only the helpers the client calls are linked in.
$(BUILD)/libtriage.so: $(patsubst %.c,$(OBJ)/pic/%.o,$(CLIENT_SRC)) $(BUILD)/libtriage-pic.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) -shared -Wl,-soname,libtriage.so.1 $^ -o $@

# ---- tests and benchmarks -------------------------------------------------
$(BUILD)/unit-tests: $(call obj,$(UNIT_SRC)) $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ -lcriterion $(LDLIBS)

# The simulator's own tests (its core is the planner benchmark's ground truth).
$(BUILD)/sim-tests: $(call obj,bench/sim/test_sim.c $(SIM_CORE_SRC)) $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ -lcriterion $(LDLIBS)

# Root tests that load the real BPF programs through the agent's interface.
$(BUILD)/bpf-tests: $(call obj,$(BPF_TEST_SRC)) $(BUILD)/libtriage.a
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ -lcriterion $(LDLIBS)

$(BENCH_BINS): $(BUILD)/bench/%: $(OBJ)/bench/%.o $(BUILD)/libtriage.a | $(BUILD)/bench
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# The planner's simulator: ground truth for bench-planner.
$(BUILD)/bench/planner-sim: $(call obj,$(SIM_SRC)) $(BUILD)/libtriage.a | $(BUILD)/bench
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# Programs the QEMU rig runs inside the VM (tests/vm/run copies them in).
$(VM_BINS): $(BUILD)/vm/%: $(OBJ)/tests/vm/%.o $(BUILD)/libtriage.a | $(BUILD)/vm
	@echo "  LD    $@"
	@$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

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

# Every benchmark with its smallest parameters, reports to a scratch
# folder: a benchmark that no longer runs to its report fails. make check
# runs it too (tests/run-all).
bench-smoke: deps
	@$(MAKE) --no-print-directory all
	@bench/smoke $(BUILD)

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
	install -m 0644 include/triage/client.h include/triage/abi.h include/triage/gpud.h \
		$(DESTDIR)$(PREFIX)/include/triage/
	[ -e $(DESTDIR)/etc/triage/triage.json ] || \
		install -m 0644 docs/triage.example.json $(DESTDIR)/etc/triage/triage.json
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/triage/
	install -d $(DESTDIR)$(PREFIX)/share/triage/models $(DESTDIR)$(PREFIX)/share/triage/platforms
	install -m 0644 models/zoo/*.json $(DESTDIR)$(PREFIX)/share/triage/models/
	install -m 0644 models/platforms/*.json $(DESTDIR)$(PREFIX)/share/triage/platforms/
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/triaged.service > $(DESTDIR)/etc/systemd/system/triaged.service
	if [ -x $(BUILD)/triage-gpud ]; then \
		install -m 0755 $(BUILD)/triage-gpud $(DESTDIR)$(PREFIX)/bin/triage-gpud; \
		sed 's|@PREFIX@|$(PREFIX)|g' scripts/triage-gpud.service > \
			$(DESTDIR)/etc/systemd/system/triage-gpud.service; \
	else echo "install: no $(BUILD)/triage-gpud (built only with the CUDA toolkit)"; fi
	if [ -e $(BUILD)/libtriage-gate.so ]; then \
		install -d $(DESTDIR)$(PREFIX)/lib/triage; \
		install -m 0644 $(BUILD)/libtriage-gate.so $(DESTDIR)$(PREFIX)/lib/triage/libtriage-gate.so; \
	else echo "install: no $(BUILD)/libtriage-gate.so (built only with the CUDA toolkit)"; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/triaged $(DESTDIR)$(PREFIX)/bin/triagectl \
	      $(DESTDIR)$(PREFIX)/bin/triage-run $(DESTDIR)$(PREFIX)/lib/libtriage.so \
	      $(DESTDIR)$(PREFIX)/include/triage/client.h $(DESTDIR)$(PREFIX)/include/triage/abi.h \
	      $(DESTDIR)$(PREFIX)/include/triage/gpud.h \
	      $(DESTDIR)/etc/systemd/system/triaged.service \
	      $(DESTDIR)$(PREFIX)/bin/triage-gpud $(DESTDIR)/etc/systemd/system/triage-gpud.service \
	      $(DESTDIR)$(PREFIX)/lib/triage/libtriage-gate.so
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/triage $(DESTDIR)$(PREFIX)/share/triage

clean: kmod-clean
	rm -rf $(BUILD)

.DELETE_ON_ERROR:
