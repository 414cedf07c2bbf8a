# What every program linking libarom.a needs.
AROM_LIBS = $(JSONC_LIBS) $(MHD_LIBS) $(XML_LIBS) $(LIBVIRT_LIBS) -lpthread -lm

# vmm/: the KVM virtual machine monitor. Everything but main.c goes into
# libarom.a (with lib/ and tiering/) so unit tests link the same code the
# binary runs.
noinst_LIBRARIES += libarom.a
libarom_a_SOURCES = \
	vmm/layout.h \
	vmm/options.c vmm/options.h \
	vmm/elf_loader.c vmm/elf_loader.h \
	vmm/pagetable.c vmm/pagetable.h \
	vmm/guest_mem.c vmm/guest_mem.h \
	vmm/cpu_setup.c vmm/cpu_setup.h \
	vmm/vm.c vmm/vm.h \
	vmm/vcpu.c vmm/vcpu.h \
	vmm/hypercall.c vmm/hypercall.h \
	vmm/hc_tiering.c vmm/hc_tiering.h \
	vmm/stats.c vmm/stats.h \
	vmm/api.c vmm/api.h \
	vmm/api_metrics.c vmm/api_metrics.h \
	vmm/api_server.c vmm/api_server.h \
	vmm/api_vm.c vmm/api_vm.h \
	vmm/domain_xml.c vmm/domain_xml.h \
	vmm/libvirt_source.c vmm/libvirt_source.h \
	vmm/hooks.c vmm/hooks.h \
	vmm/linux.h vmm/linux_image.c vmm/linux_mm.c vmm/linux_files.c vmm/linux_thread.c vmm/linux_net.c vmm/linux_ring.c vmm/linux_signal.c vmm/linux_syscall.c
nodist_libarom_a_SOURCES = guest-tools/vdso/vdso_image.c
libarom_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(MHD_CFLAGS) $(XML_CFLAGS) $(LIBVIRT_CFLAGS)

bin_PROGRAMS += arom-vmm
arom_vmm_SOURCES = vmm/main.c
arom_vmm_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
arom_vmm_LDADD = libarom.a $(AROM_LIBS)
