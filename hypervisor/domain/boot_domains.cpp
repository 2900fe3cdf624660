// Parsing module strings into DomainSpecs and building them.
#include "domain/boot_domains.hpp"

#include "arch/x86_64/paging.hpp"
#include "boot/cmdline.hpp"
#include "core/console.hpp"
#include "core/options.hpp"
#include "domain/builder.hpp"
#include "domain/domain.hpp"
#include "mm/kernel_space.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t DEFAULT_DOMU_MEMORY = 32ull << 20;

struct ModuleDiagnostics final : public Diagnostics {
    explicit ModuleDiagnostics(std::size_t index) : module(index) {}
    void report(std::string_view message) override { log_error("module {}: {}", module, message); }
    std::size_t module;
};

struct ExtraDomain {
    bool marker = false;
    std::string_view name;
    std::uint64_t memory = DEFAULT_DOMU_MEMORY;
    std::uint32_t vcpus = 1;
    std::uint32_t weight = 256;
    std::uint32_t cap = 0;
};

bool starts_with_word(std::string_view text, std::string_view word) {
    return text.starts_with(word) && (text.size() == word.size() || text[word.size()] == ' ');
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

std::span<const std::byte> module_bytes(const BootModule& m) {
    if (m.end <= m.start || !is_direct_mapped(m.start, m.end - m.start))
        return {};
    return {static_cast<const std::byte*>(arch::phys_to_virt(m.start)), m.end - m.start};
}

// Split "domain OPTIONS -- CMDLINE" and parse OPTIONS; false after reporting a problem.
bool parse_extra(std::string_view module_string, ExtraDomain& out, std::string_view& cmdline, Diagnostics& diag) {
    std::string_view options = module_string;
    cmdline = {};
    // Split at the first " -- " by hand (string_view::find/substr need libc and exceptions).
    for (std::size_t i = 0; i + 3 <= module_string.size(); ++i) {
        if (module_string[i] == ' ' && module_string[i + 1] == '-' && module_string[i + 2] == '-' &&
            (i + 3 == module_string.size() || module_string[i + 3] == ' ')) {
            options = std::string_view(module_string.data(), i);
            cmdline = module_string;
            cmdline.remove_prefix(i + 3);
            cmdline = trim(cmdline);
            break;
        }
    }
    const OptionSpec table[] = {
        flag("domain", out.marker, "this module is an extra domain's kernel"),
        text("name", out.name, "domain name"),
        number("memory", out.memory, "memory (K/M/G suffix)"),
        number("vcpus", out.vcpus, "virtual CPUs"),
        number("weight", out.weight, "credit-scheduler weight (default 256)"),
        number("cap", out.cap, "CPU cap in percent of one CPU (0 = none)"),
    };
    const std::size_t problems = parse_command_line(options, table, diag);
    if (out.memory < (4ull << 20) || out.vcpus == 0 || out.vcpus > MAX_VCPUS_PER_DOMAIN || out.weight == 0) {
        diag.error("domain needs memory >= 4M, 1-{} vcpus and a non-zero weight", MAX_VCPUS_PER_DOMAIN);
        return false;
    }
    return problems == 0;
}

}  // namespace

unsigned build_boot_domains(const BootInfo& info) {
    unsigned built = 0;
    std::uint16_t next_id = 0;
    static char names[MAX_DOMAINS][32];
    for (std::size_t i = 0; i < info.module_count; ++i) {
        const BootModule& module = info.modules[i];
        // Loaders put the module's path first (QEMU always, GRUB with some configurations).
        const std::string_view text = trim(strip_image_path(module.cmdline.view()));
        ModuleDiagnostics diag(i);
        if (text == "initrd")
            continue;  // taken by the kernel module before it
        DomainSpec spec;
        spec.kernel = module_bytes(module);
        if (i + 1 < info.module_count && trim(strip_image_path(info.modules[i + 1].cmdline.view())) == "initrd")
            spec.initrd = module_bytes(info.modules[i + 1]);
        if (i == 0 && !starts_with_word(text, "domain")) {
            spec.id = next_id++;
            spec.name = "Domain-0";
            spec.privileged = true;
            spec.memory_bytes = options().dom0_mem;
            spec.vcpus = options().dom0_vcpus;
            spec.cmdline = text;
        } else {
            ExtraDomain extra;
            std::string_view cmdline;
            if (!starts_with_word(text, "domain")) {
                diag.error("'{}' is neither 'initrd' nor 'domain ...': module ignored", text);
                continue;
            }
            if (next_id == 0)
                next_id = 1;  // without a domain 0, extra domains still start at id 1
            if (!parse_extra(text, extra, cmdline, diag)) {
                diag.error("malformed domain description: domain not built");
                continue;
            }
            spec.id = next_id++;
            FixedBuffer<32> name;
            if (extra.name.empty())
                format_to(name, "domain{}", spec.id);
            else
                format_to(name, "{}", extra.name);
            for (std::size_t c = 0; c < name.size(); ++c)
                names[spec.id][c] = name.view()[c];
            spec.name = names[spec.id];
            spec.memory_bytes = extra.memory;
            spec.vcpus = extra.vcpus;
            spec.weight = extra.weight;
            spec.cap = extra.cap;
            spec.cmdline = cmdline;
        }
        if (spec.kernel.empty()) {
            diag.error("module is empty or outside RAM: domain {} not built", spec.id);
            continue;
        }
        if (build_domain(spec))
            ++built;
    }
    return built;
}

}  // namespace xenolith
