# guest-tools/: the freestanding runtime and the payloads that run inside
# arom-vmm. They are built with the host $(CC) but never with AM_CFLAGS or
# CFLAGS: those may carry sanitizer flags that need a libc. Plain GNU make
# rules below; objects use the .g.o suffix to stay clear of automake's
# .c.o rules.
#
# Adding a payload: write guest-tools/payloads/NAME.c (it includes
# "arom.h" and defines main) and add NAME to GUEST_PAYLOADS; if it also
# includes "workload.h", add it to GUEST_LIB_PAYLOADS.

GUEST_PAYLOADS = hello smp crash hcbench memcheck tierbench samepage phases kvcache writestorm weights graph
# Payloads linked with the workload library, guest-tools/lib/ (workload.h:
# the benchmark conventions, TSC calibration, sorting, percentiles).
GUEST_LIB_PAYLOADS = tierbench kvcache writestorm weights graph

GUEST_CCOPTS = -O2 -g -std=gnu11 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fcf-protection=none -mno-red-zone -mcmodel=small \
	-ffunction-sections -fdata-sections \
	-Wall -Wextra -Wshadow \
	-I$(top_srcdir)/include -I$(top_srcdir)/guest-tools/runtime \
	-I$(top_srcdir)/guest-tools/lib
GUEST_LDSCRIPT = $(top_srcdir)/guest-tools/runtime/link.ld
GUEST_LDOPTS = -nostdlib -static -no-pie -Wl,-T,$(GUEST_LDSCRIPT) \
	-Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,norelro -Wl,--gc-sections \
	-Wl,--orphan-handling=error -Wl,--no-dynamic-linker
GUEST_LINKLIBS = -lgcc

GUEST_RUNTIME_ASM = guest-tools/runtime/start.S
GUEST_RUNTIME_C = \
	guest-tools/runtime/runtime.c \
	guest-tools/runtime/hypercall.c \
	guest-tools/runtime/printf.c \
	guest-tools/runtime/string.c \
	guest-tools/runtime/alloc.c \
	guest-tools/runtime/workers.c
GUEST_LIB_C = guest-tools/lib/workload.c
GUEST_DEPS = \
	$(top_srcdir)/include/arom/abi.h \
	$(top_srcdir)/guest-tools/runtime/arom.h \
	$(top_srcdir)/guest-tools/lib/workload.h

GUEST_PAYLOAD_SRCS = $(patsubst %,guest-tools/payloads/%.c,$(GUEST_PAYLOADS))
GUEST_PAYLOAD_OBJS = $(patsubst %,guest-tools/payloads/%.g.o,$(GUEST_PAYLOADS))
GUEST_PAYLOAD_ELFS = $(patsubst %,guest-tools/payloads/%.elf,$(GUEST_PAYLOADS))
GUEST_RUNTIME_OBJS = $(GUEST_RUNTIME_ASM:.S=.g.o) $(GUEST_RUNTIME_C:.c=.g.o)
GUEST_LIB_OBJS = $(GUEST_LIB_C:.c=.g.o)
GUEST_LIB_ELFS = $(patsubst %,guest-tools/payloads/%.elf,$(GUEST_LIB_PAYLOADS))
GUEST_C_OBJS = $(GUEST_RUNTIME_C:.c=.g.o) $(GUEST_LIB_OBJS) $(GUEST_PAYLOAD_OBJS)

# Installed next to the VMM for research runs; tests use the build tree.
guestpayloadsdir = $(pkglibdir)/payloads
guestpayloads_DATA = $(GUEST_PAYLOAD_ELFS)

EXTRA_DIST += $(GUEST_RUNTIME_ASM) $(GUEST_RUNTIME_C) $(GUEST_PAYLOAD_SRCS) \
	guest-tools/runtime/arom.h guest-tools/runtime/link.ld \
	$(GUEST_LIB_C) guest-tools/lib/workload.h
CLEANFILES += $(GUEST_PAYLOAD_ELFS) $(GUEST_RUNTIME_OBJS) $(GUEST_PAYLOAD_OBJS) \
	$(GUEST_LIB_OBJS)

# Silent-rule labels of our own: AM_V_CC and friends exist only when
# automake itself compiles something of that kind.
GUEST_V_CC = $(guest__v_CC_@AM_V@)
guest__v_CC_ = $(guest__v_CC_@AM_DEFAULT_V@)
guest__v_CC_0 = @echo "  GUESTCC " $@;
guest__v_CC_1 =
GUEST_V_LD = $(guest__v_LD_@AM_V@)
guest__v_LD_ = $(guest__v_LD_@AM_DEFAULT_V@)
guest__v_LD_0 = @echo "  GUESTLD " $@;
guest__v_LD_1 =

# Static pattern rules: sources are found through VPATH in out-of-tree
# builds, and the objects are explicit targets, so make keeps them.
$(GUEST_C_OBJS): %.g.o: %.c $(GUEST_DEPS)
	@$(MKDIR_P) $(@D)
	$(GUEST_V_CC)$(CC) $(GUEST_CCOPTS) -c -o $@ $<

$(GUEST_RUNTIME_ASM:.S=.g.o): %.g.o: %.S
	@$(MKDIR_P) $(@D)
	$(GUEST_V_CC)$(CC) $(GUEST_CCOPTS) -c -o $@ $<

# The library objects go only into the payloads that use them; the link
# takes every object prerequisite ($^ also holds the linker script).
$(GUEST_LIB_ELFS): $(GUEST_LIB_OBJS)

$(GUEST_PAYLOAD_ELFS): %.elf: %.g.o $(GUEST_RUNTIME_OBJS) $(GUEST_LDSCRIPT)
	@$(MKDIR_P) $(@D)
	$(GUEST_V_LD)$(CC) $(GUEST_CCOPTS) $(GUEST_LDOPTS) -o $@ $(filter %.g.o,$^) $(GUEST_LINKLIBS)

# ---- native builds ------------------------------------------------------------
# guest-tools/native/NAME-native: the same payload source as NAME.elf, built
# as an ordinary Linux process over the host runtime in
# guest-tools/native/runtime_native.c (see its header for usage): the
# virtualization-overhead reference for the benchmarks. Built by `make`,
# never installed.
#
# Fair comparison: guest and native use the same -O2 and no -march (the
# compiler's default target), and the native build also turns off what the
# guest build turns off (stack protector, CET instrumentation, red zone, PIE).
# Like the guest build, never AM_CFLAGS or CFLAGS. The payload, the workload
# library (guest-tools/lib/) and the guest runtime files reused here
# (printf.c, alloc.c, workers.c, the argument parsers of string.c) keep
# -ffreestanding, so their code is generated the same way as in the guest;
# only runtime_native.c is hosted C.
#
# Adding one: NAME must build as a guest payload (GUEST_PAYLOADS); add it to
# NATIVE_PAYLOADS. Payloads that rely on what only the VMM gives (crash:
# exceptions; hcbench, tierbench, samepage, phases: hypercall cost and
# tiering) have no native counterpart worth measuring.
NATIVE_PAYLOADS = hello smp memcheck kvcache weights graph writestorm

NATIVE_CCOPTS = -O2 -g -std=gnu11 -pthread -DAROM_NATIVE \
	-fno-pie -fno-stack-protector -fcf-protection=none -mno-red-zone \
	-ffunction-sections -fdata-sections \
	-Wall -Wextra -Wshadow \
	-I$(top_srcdir)/include -I$(top_srcdir)/guest-tools/runtime \
	-I$(top_srcdir)/guest-tools/lib
NATIVE_LDOPTS = -no-pie -Wl,--gc-sections
NATIVE_LINKLIBS = -lpthread
# The payload's main becomes arom_payload_main; runtime_native.c has main().
NATIVE_PAYLOAD_FLAGS = -ffreestanding -Dmain=arom_payload_main
# string.c minus its libc subset: those names go to unused (and
# garbage-collected) symbols, so libc's memcpy and friends stay in use.
NATIVE_STRING_FLAGS = -ffreestanding \
	-Dmemcpy=arom__guest_memcpy -Dmemmove=arom__guest_memmove \
	-Dmemset=arom__guest_memset -Dmemcmp=arom__guest_memcmp \
	-Dstrlen=arom__guest_strlen -Dstrcmp=arom__guest_strcmp \
	-Dstrncmp=arom__guest_strncmp

NATIVE_RUNTIME_SRC = guest-tools/native/runtime_native.c
NATIVE_REUSED = printf alloc workers
NATIVE_RUNTIME_OBJS = $(NATIVE_RUNTIME_SRC:.c=.n.o) \
	$(patsubst %,guest-tools/native/rt-%.n.o,$(NATIVE_REUSED)) \
	guest-tools/native/rt-string.n.o
# The workload library, as guest-tools/native/lib-NAME.n.o.
NATIVE_LIB_OBJS = $(patsubst guest-tools/lib/%.c,guest-tools/native/lib-%.n.o,$(GUEST_LIB_C))
NATIVE_PAYLOAD_SRCS = $(patsubst %,guest-tools/payloads/%.c,$(NATIVE_PAYLOADS))
NATIVE_PAYLOAD_OBJS = $(patsubst %,guest-tools/native/%.n.o,$(NATIVE_PAYLOADS))
NATIVE_BINS = $(patsubst %,guest-tools/native/%-native,$(NATIVE_PAYLOADS))
NATIVE_LIB_BINS = $(patsubst %,guest-tools/native/%-native, \
	$(filter $(GUEST_LIB_PAYLOADS),$(NATIVE_PAYLOADS)))

# noinst_SCRIPTS: part of `all`, not installed, and no automake compile rules.
noinst_SCRIPTS = $(NATIVE_BINS)
EXTRA_DIST += $(NATIVE_RUNTIME_SRC) $(NATIVE_PAYLOAD_SRCS)
CLEANFILES += $(NATIVE_BINS) $(NATIVE_RUNTIME_OBJS) $(NATIVE_PAYLOAD_OBJS) $(NATIVE_LIB_OBJS)

NATIVE_V_CC = $(native__v_CC_@AM_V@)
native__v_CC_ = $(native__v_CC_@AM_DEFAULT_V@)
native__v_CC_0 = @echo "  NATIVECC" $@;
native__v_CC_1 =
NATIVE_V_LD = $(native__v_LD_@AM_V@)
native__v_LD_ = $(native__v_LD_@AM_DEFAULT_V@)
native__v_LD_0 = @echo "  NATIVELD" $@;
native__v_LD_1 =

# Static pattern rules, as for the guest: sources come through VPATH.
$(NATIVE_RUNTIME_SRC:.c=.n.o): %.n.o: %.c $(GUEST_DEPS)
	@$(MKDIR_P) $(@D)
	$(NATIVE_V_CC)$(CC) $(NATIVE_CCOPTS) -c -o $@ $<

$(patsubst %,guest-tools/native/rt-%.n.o,$(NATIVE_REUSED)): guest-tools/native/rt-%.n.o: \
		guest-tools/runtime/%.c $(GUEST_DEPS)
	@$(MKDIR_P) $(@D)
	$(NATIVE_V_CC)$(CC) $(NATIVE_CCOPTS) -ffreestanding -c -o $@ $<

$(NATIVE_LIB_OBJS): guest-tools/native/lib-%.n.o: guest-tools/lib/%.c $(GUEST_DEPS)
	@$(MKDIR_P) $(@D)
	$(NATIVE_V_CC)$(CC) $(NATIVE_CCOPTS) -ffreestanding -c -o $@ $<

guest-tools/native/rt-string.n.o: guest-tools/runtime/string.c $(GUEST_DEPS)
	@$(MKDIR_P) $(@D)
	$(NATIVE_V_CC)$(CC) $(NATIVE_CCOPTS) $(NATIVE_STRING_FLAGS) -c -o $@ $<

$(NATIVE_PAYLOAD_OBJS): guest-tools/native/%.n.o: guest-tools/payloads/%.c $(GUEST_DEPS)
	@$(MKDIR_P) $(@D)
	$(NATIVE_V_CC)$(CC) $(NATIVE_CCOPTS) $(NATIVE_PAYLOAD_FLAGS) -c -o $@ $<

# As for the guest: the library only where it is used.
$(NATIVE_LIB_BINS): $(NATIVE_LIB_OBJS)

$(NATIVE_BINS): guest-tools/native/%-native: guest-tools/native/%.n.o $(NATIVE_RUNTIME_OBJS)
	@$(MKDIR_P) $(@D)
	$(NATIVE_V_LD)$(CC) $(NATIVE_CCOPTS) $(NATIVE_LDOPTS) -o $@ $(filter %.n.o,$^) $(NATIVE_LINKLIBS)

# ---- the vDSO of Linux guests -------------------------------------------------
# guest-tools/vdso/vdso.so: the clock without a VM exit for --linux
# programs (vmm/linux_image.c maps it and fills include/arom/vvar.h's
# page; docs/LINUX.md). Embedded into libarom.a as a C array.
GUEST_VDSO_OPTS = -O2 -std=gnu11 -ffreestanding -fPIC -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -Wall -Wextra -I$(top_srcdir)/include \
	-nostdlib -shared -Wl,-soname=linux-vdso.so.1 -Wl,--hash-style=both -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,-T,$(top_srcdir)/guest-tools/vdso/vdso.ld \
	-Wl,--version-script=$(top_srcdir)/guest-tools/vdso/vdso.lds
guest-tools/vdso/vdso.so: guest-tools/vdso/vdso.c guest-tools/vdso/vdso.lds guest-tools/vdso/vdso.ld $(top_srcdir)/include/arom/vvar.h
	@$(MKDIR_P) $(@D)
	$(GUEST_V_LD)$(CC) $(GUEST_VDSO_OPTS) -o $@ $<
guest-tools/vdso/vdso_image.c: guest-tools/vdso/vdso.so
	$(AM_V_GEN)(echo '/* Generated from vdso.so by guest-tools/local.mk. */'; echo '#include <stddef.h>'; \
	  echo 'const unsigned char linux_vdso_image[] = {'; od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; echo 'const size_t linux_vdso_size = sizeof linux_vdso_image;') >$@
BUILT_SOURCES = guest-tools/vdso/vdso_image.c
EXTRA_DIST += guest-tools/vdso/vdso.c guest-tools/vdso/vdso.lds guest-tools/vdso/vdso.ld
CLEANFILES += guest-tools/vdso/vdso.so guest-tools/vdso/vdso_image.c
