// Building a PV domain: parse, lay out, allocate, load, write the boot frames, set vCPU 0.
#include "domain/builder.hpp"

#include "arch/x86_64/paging.hpp"
#include "core/console.hpp"
#include "domain/boot_layout.hpp"
#include "domain/boot_page_tables.hpp"
#include "domain/domain.hpp"
#include "domain/xen_elf.hpp"
#include "event/event_channel.hpp"
#include "lib/string.hpp"
#include "mm/domain_memory.hpp"
#include "mm/kernel_space.hpp"
#include "mm/page_ref.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_console.hpp"
#include "pv/time.hpp"
#include "sched/scheduler.hpp"
#include "xen/arch_x86_64.hpp"
#include "xen/console.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t DEFAULT_PERIODIC_NS = 10'000'000;  // §2.7: 100 Hz until the guest stops it

class BuildDiagnostics final : public Diagnostics {
public:
    explicit BuildDiagnostics(const DomainSpec& spec) : m_spec(spec) {}
    void report(std::string_view message) override {
        log_error("domain {} ({}): {}", m_spec.id, m_spec.name, message);
    }

private:
    const DomainSpec& m_spec;
};

std::byte* frame_bytes(const Domain& domain, std::uint64_t pfn) {
    return static_cast<std::byte*>(arch::phys_to_virt(domain_pfn_to_mfn(domain, pfn) * 4096));
}

// Writes bytes at pseudo-physical offsets from a first PFN, frame by frame.
class FrameWriter final : public KernelLoadSink {
public:
    FrameWriter(const Domain& domain, std::uint64_t first_pfn) : m_domain(domain), m_first(first_pfn) {}
    Result<void> write(std::uint64_t offset, std::span<const std::byte> bytes) override {
        while (!bytes.empty()) {
            const std::uint64_t in_page = offset % 4096;
            const std::size_t n = bytes.size() < 4096 - in_page ? bytes.size() : 4096 - in_page;
            memcpy(TRY(target(offset)) + in_page, bytes.data(), n);
            bytes = bytes.subspan(n);
            offset += n;
        }
        return ok();
    }
    Result<void> zero(std::uint64_t offset, std::uint64_t length) override {
        while (length) {
            const std::uint64_t in_page = offset % 4096;
            const std::uint64_t n = length < 4096 - in_page ? length : 4096 - in_page;
            memset(TRY(target(offset)) + in_page, 0, n);
            length -= n;
            offset += n;
        }
        return ok();
    }

private:
    Result<std::byte*> target(std::uint64_t offset) {
        const std::uint64_t pfn = m_first + offset / 4096;
        if (pfn >= m_domain.frames_count)
            return Error{Errno::ENOMEM};
        return frame_bytes(m_domain, pfn);
    }
    const Domain& m_domain;
    std::uint64_t m_first;
};

class DomainFrames final : public PfnToMfn {
public:
    explicit DomainFrames(const Domain& domain) : m_domain(domain) {}
    std::uint64_t mfn_of(std::uint64_t pfn) const override { return domain_pfn_to_mfn(m_domain, pfn); }

private:
    const Domain& m_domain;
};

class TableWriter final : public PageTableEntrySink {
public:
    explicit TableWriter(const Domain& domain) : m_domain(domain) {}
    Result<void> set_entry(std::uint64_t table_pfn, std::uint32_t index, std::uint64_t value) override {
        if (table_pfn >= m_domain.frames_count || index >= 512)
            return Error{Errno::EINVAL};
        reinterpret_cast<std::uint64_t*>(frame_bytes(m_domain, table_pfn))[index] = value;
        return ok();
    }

private:
    const Domain& m_domain;
};

Result<void> populate(Domain& domain, const DomainSpec& spec, const XenKernelImage& image, const DomainLayout& layout,
                      Diagnostics& diag) {
    FrameWriter kernel(domain, layout.kernel.first);
    TRY(load_kernel_segments(image, kernel));
    if (!spec.initrd.empty()) {
        FrameWriter initrd(domain, layout.initrd.first);
        TRY(initrd.write(0, spec.initrd));
    }
    // The P2M array: entry pfn = the MFN behind it (§2.8).
    for (std::uint64_t pfn = 0; pfn < layout.nr_pages; ++pfn) {
        const std::uint64_t page = layout.p2m.first + pfn / 512;
        reinterpret_cast<std::uint64_t*>(frame_bytes(domain, page))[pfn % 512] = domain_pfn_to_mfn(domain, pfn);
    }

    TableWriter tables(domain);
    TRY(emit_boot_page_tables(layout, DomainFrames(domain), tables, diag));
    // Pinning the L4 validates the whole tree like any guest-built one (§2.2, §7.4): the
    // builder gets no trust the guest would not get.
    const std::uint64_t l4_mfn = domain_pfn_to_mfn(domain, layout.tables.level[3].first_pfn);
    Vcpu& vcpu = *domain.vcpus[0];
    if (auto installed = install_boot_page_tables(vcpu, l4_mfn); !installed) {
        diag.error("the bootstrap page tables do not validate (error {})", installed.error());
        return installed;
    }

    StartInfoInputs inputs;
    inputs.shared_info_maddr = domain.shared_info_phys;
    inputs.cmdline = spec.cmdline;
    if (layout.console_pfn) {
        // The hypervisor serves boot-time consoles itself (pv/guest_console.cpp).
        inputs.console_mfn = domain_pfn_to_mfn(domain, *layout.console_pfn);
        inputs.console_evtchn = TRY(evtchn_alloc_unbound(domain, xen::DOMID_SELF, xen::DOMID_XEN));
        {
            // The hypervisor writes the ring's indices: it holds a writable type reference so the
            // page can never become a page table under it (dropped at teardown).
            MmLockGuard guard;
            TRY(page_refs().get_page_and_type(inputs.console_mfn, domain.id, PageType::Writable));
            domain.console_mfn = inputs.console_mfn;
        }
        auto* ring = reinterpret_cast<xen::xencons_interface*>(frame_bytes(domain, *layout.console_pfn));
        ring->connection = xen::XENCONSOLE_CONNECTED;
        attach_guest_console(domain, *ring, inputs.console_evtchn);
    }
    if (layout.xenstore_pfn) {
        // No xenstored yet: store_evtchn 0 keeps Linux from waiting on it (pv-abi-core.md §12).
        inputs.store_mfn = domain_pfn_to_mfn(domain, *layout.xenstore_pfn);
        inputs.store_evtchn = 0;
    }
    TRY(fill_start_info(layout, inputs, std::span<std::byte, 4096>(frame_bytes(domain, layout.start_info_pfn), 4096),
                        diag));
    if (layout.hypercall_page_pfn)
        fill_hypercall_page(std::span<std::byte, 4096>(frame_bytes(domain, *layout.hypercall_page_pfn), 4096));

    // vCPU 0 at the entry point (§2.7); the others wait for VCPUOP_initialise/up.
    vcpu.regs = arch::TrapFrame{};
    vcpu.regs.rip = layout.entry_rip;
    vcpu.regs.rsp = layout.entry_rsp;
    vcpu.regs.rsi = layout.entry_rsi;
    vcpu.regs.rflags = 0x202;
    vcpu.regs.cs = xen::FLAT_KERNEL_CS;
    vcpu.regs.ss = xen::FLAT_KERNEL_SS;
    vcpu.kernel_sp = layout.entry_rsp;
    vcpu.kernel_ss = xen::FLAT_KERNEL_SS;
    vcpu.kernel_mode = true;
    vcpu.initialised = true;
    return ok();
}

}  // namespace

Result<Domain*> build_domain(const DomainSpec& spec) {
    BuildDiagnostics diag(spec);
    auto image = parse_xen_kernel(spec.kernel, diag);
    if (!image) {
        diag.error("not a usable Xen PV kernel image (error {}); domain not built", image.error());
        return Error{image.error()};
    }
    BootLayoutParams params;
    params.nr_pages = spec.memory_bytes / 4096;
    params.initrd_bytes = spec.initrd.size();
    params.dom0 = spec.privileged;
    auto layout = compute_boot_layout(*image, params, diag);
    if (!layout) {
        diag.error("the start-of-day layout does not fit (error {}); domain not built", layout.error());
        return Error{layout.error()};
    }

    Domain* domain = TRY(create_domain(spec.id, spec.name, spec.privileged, spec.vcpus));
    domain->weight = spec.weight;
    domain->cap = spec.cap;
    Result<void> built = init_event_channels(*domain);
    if (built)
        built = assign_domain_memory(*domain, params.nr_pages);
    if (built)
        built = populate(*domain, spec, *image, *layout, diag);
    if (!built) {
        diag.error("cannot build the domain (error {})", built.error());
        destroy_domain(*domain);
        return Error{built.error()};
    }

    update_wallclock(*domain);
    for (unsigned i = 0; i < domain->vcpu_count; ++i)
        update_vcpu_time(*domain->vcpus[i]);
    set_periodic_timer(*domain->vcpus[0], DEFAULT_PERIODIC_NS);
    log_info("domain {} ({}): {} MiB, {} vCPU{}, entry {:#x}, {} '{}'", domain->id, domain->name,
             spec.memory_bytes >> 20, spec.vcpus, spec.vcpus == 1 ? "" : "s", layout->entry_rip,
             image->guest_os, spec.cmdline);
    domain->state.store(DomainState::Running);
    domain->vcpus[0]->state.store(VcpuState::Runnable);
    wake_vcpu(*domain->vcpus[0]);
    return domain;
}

}  // namespace xenolith
