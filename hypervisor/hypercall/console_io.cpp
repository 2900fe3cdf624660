// console_io (18): guest output on the hypervisor console (pv-abi-core.md §5.14). Every domain
// may write (as the spec asks of this project); lines are prefixed with the domain id and name,
// and non-printable bytes are dropped.
#include "core/console.hpp"
#include "core/irq_lock.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/guest_memory.hpp"
#include "xen/console.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t MAX_WRITE = 64 * 1024;  // per call: bounds the time one call takes

void flush_line(Domain& domain) {
    log_info("(d{} {}) {}", domain.id, domain.name, std::string_view(domain.console_line, domain.console_length));
    domain.console_length = 0;
}

void put(Domain& domain, char c) {
    if (c == '\n') {
        flush_line(domain);
        return;
    }
    if (c == '\t')
        c = ' ';
    if (c < 0x20 || c > 0x7e)
        return;
    domain.console_line[domain.console_length++] = c;
    if (domain.console_length == sizeof(domain.console_line))
        flush_line(domain);
}

}  // namespace

std::int64_t do_console_io(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & 0xffffffff;
    const std::uint64_t count = c.arg(1) & 0xffffffff;
    const std::uint64_t buffer = c.arg(2);
    Domain& domain = *c.vcpu.domain;
    switch (command) {
    case xen::CONSOLEIO_write: {
        if (count > MAX_WRITE)
            return xen::negated(Errno::EINVAL);
        char chunk[128];
        for (std::uint64_t done = 0; done < count;) {
            const std::uint64_t n = count - done < sizeof(chunk) ? count - done : sizeof(chunk);
            if (auto copied = copy_from_guest(chunk, buffer + done, n); !copied)
                return xen::negated(copied.error());
            IrqLockGuard guard(domain.lock);
            for (std::uint64_t i = 0; i < n; ++i)
                put(domain, chunk[i]);
            done += n;
        }
        return 0;
    }
    case xen::CONSOLEIO_read:
        // Only the control domain reads the hypervisor console; there is no input buffer yet.
        return domain.privileged ? 0 : xen::negated(Errno::EPERM);
    default:
        return xen::negated(Errno::ENOSYS);
    }
}

}  // namespace xenolith
