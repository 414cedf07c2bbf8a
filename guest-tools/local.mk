# guest-tools/: the freestanding runtime and the payloads that run inside
# arom-vmm. They are built with the host $(CC) but never with AM_CFLAGS or
# CFLAGS: those may carry sanitizer flags that need a libc. Plain GNU make
# rules below; objects use the .g.o suffix to stay clear of automake's
# .c.o rules.
#
# Adding a payload: write guest-tools/payloads/NAME.c (it includes
# "arom.h" and defines main) and add NAME to GUEST_PAYLOADS.

GUEST_PAYLOADS = hello smp crash hcbench memcheck tierbench samepage phases

GUEST_CCOPTS = -O2 -g -std=gnu11 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fcf-protection=none -mno-red-zone -mcmodel=small \
	-ffunction-sections -fdata-sections \
	-Wall -Wextra -Wshadow \
	-I$(top_srcdir)/include -I$(top_srcdir)/guest-tools/runtime
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
GUEST_DEPS = \
	$(top_srcdir)/include/arom/abi.h \
	$(top_srcdir)/guest-tools/runtime/arom.h

GUEST_PAYLOAD_SRCS = $(patsubst %,guest-tools/payloads/%.c,$(GUEST_PAYLOADS))
GUEST_PAYLOAD_OBJS = $(patsubst %,guest-tools/payloads/%.g.o,$(GUEST_PAYLOADS))
GUEST_PAYLOAD_ELFS = $(patsubst %,guest-tools/payloads/%.elf,$(GUEST_PAYLOADS))
GUEST_RUNTIME_OBJS = $(GUEST_RUNTIME_ASM:.S=.g.o) $(GUEST_RUNTIME_C:.c=.g.o)
GUEST_C_OBJS = $(GUEST_RUNTIME_C:.c=.g.o) $(GUEST_PAYLOAD_OBJS)

# Installed next to the VMM for research runs; tests use the build tree.
guestpayloadsdir = $(pkglibdir)/payloads
guestpayloads_DATA = $(GUEST_PAYLOAD_ELFS)

EXTRA_DIST += $(GUEST_RUNTIME_ASM) $(GUEST_RUNTIME_C) $(GUEST_PAYLOAD_SRCS) \
	guest-tools/runtime/arom.h guest-tools/runtime/link.ld
CLEANFILES += $(GUEST_PAYLOAD_ELFS) $(GUEST_RUNTIME_OBJS) $(GUEST_PAYLOAD_OBJS)

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

$(GUEST_PAYLOAD_ELFS): %.elf: %.g.o $(GUEST_RUNTIME_OBJS) $(GUEST_LDSCRIPT)
	@$(MKDIR_P) $(@D)
	$(GUEST_V_LD)$(CC) $(GUEST_CCOPTS) $(GUEST_LDOPTS) -o $@ $< $(GUEST_RUNTIME_OBJS) $(GUEST_LINKLIBS)
